import DriftlineKafka
import Foundation

/// Reads what output topics already hold, for the outbox check after a restart and for watermarks
/// taken before an outbox is produced.
struct OutputTopicReader {
    let client: KafkaClientConfiguration
    let admin: KafkaAdmin

    init(client: KafkaClientConfiguration) throws {
        self.client = client
        admin = try KafkaAdmin(configuration: client)
    }

    /// Partition → high watermark of each topic.
    func ends(of topics: [String]) throws -> [String: [Int32: Int64]] {
        let metadata = try admin.describeCluster()
        var result: [String: [Int32: Int64]] = [:]
        for topic in topics {
            guard let described = metadata.topic(topic), described.error == nil else {
                throw DetectorServiceError.topicMissing(topic, role: "output")
            }
            for partition in described.partitions {
                result[topic, default: [:]][partition.id] = try admin.watermarks(TopicPartition(topic, partition.id)).high
            }
        }
        return result
    }

    /// The `id` of every JSON message from `marks` to each partition's current end.
    func ids(from marks: [String: [Int32: Int64]], timeout: Duration = .seconds(30)) throws -> Set<String> {
        Set(try objects(from: marks, timeout: timeout).compactMap { $0["id"] as? String })
    }

    /// Every JSON object message from `marks` to each partition's current end (others are skipped).
    func objects(from marks: [String: [Int32: Int64]], timeout: Duration = .seconds(30)) throws -> [[String: Any]] {
        var ends: [TopicPartition: Int64] = [:]
        var starts: [TopicPartitionOffset] = []
        for (topic, partitions) in marks {
            for (partition, mark) in partitions {
                let end = try admin.watermarks(TopicPartition(topic, partition)).high
                if end > mark {
                    ends[TopicPartition(topic, partition)] = end
                    starts.append(TopicPartitionOffset(topic: topic, partition: partition, offset: mark))
                }
            }
        }
        guard !starts.isEmpty else { return [] }
        let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(
            client: client, groupID: "driftline-outbox-check-\(UUID().uuidString)", isolationLevel: .readCommitted, commitOnRevoke: false))
        defer { try? consumer.close() }
        try consumer.assign(starts)
        var objects: [[String: Any]] = []
        var remaining = ends
        let deadline = ContinuousClock.now + timeout
        while !remaining.isEmpty {
            guard ContinuousClock.now < deadline else {
                throw DetectorServiceError.kafka("timed out reading \(remaining.keys.map(\.description).sorted()) from the marks taken before producing")
            }
            for event in consumer.poll(maxMessages: 1_000, timeout: .milliseconds(200)) {
                guard case let .message(message) = event else { continue }
                // Not a JSON object (someone else's message on the topic): not ours, skipped.
                if let value = message.value, let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any] {
                    objects.append(object)
                }
                if let end = remaining[message.topicPartition], message.offset + 1 >= end {
                    remaining.removeValue(forKey: message.topicPartition)
                }
            }
        }
        return objects
    }
}
