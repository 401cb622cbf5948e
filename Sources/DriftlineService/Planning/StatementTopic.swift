import DriftlineKafka
import DriftlinePlanning
import DriftlineProfiling
import Foundation

/// A table's statements from a topic an application (or a proxy, or a log shipper) publishes them
/// to: at each planning run, the latest `last` messages, shared evenly among the partitions, go
/// into a `Workload` (bounded by its classes, not by the messages read). A message is a JSON object
/// (`schemas/query-statement.v1.json`): `statement`, and optionally `calls`, `totalMilliseconds` and
/// `time` (RFC 3339; else the message's timestamp), so the workload's period is known.
enum StatementTopic {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Reads blocking (a planning run's own queue); `timeout` bounds a topic that cannot be read.
    static func read(_ topic: String, last: Int, client: KafkaClientConfiguration, timeout: Duration = .seconds(60)) throws -> (workload: Workload, note: String) {
        let admin: KafkaAdmin
        var starts: [TopicPartitionOffset] = []
        var ends: [TopicPartition: Int64] = [:]
        do {
            admin = try KafkaAdmin(configuration: client)
            guard let described = try admin.describeCluster().topic(topic), described.error == nil, !described.partitions.isEmpty else {
                throw Failure(description: "the statements topic \(topic) does not exist")
            }
            let share = Int64((last + described.partitions.count - 1) / described.partitions.count)
            for partition in described.partitions {
                let marks = try admin.watermarks(TopicPartition(topic, partition.id))
                guard marks.high > marks.low else { continue }
                starts.append(TopicPartitionOffset(topic: topic, partition: partition.id, offset: max(marks.low, marks.high - share)))
                ends[TopicPartition(topic, partition.id)] = marks.high
            }
        } catch let error as Failure {
            throw error
        } catch {
            throw Failure(description: "cannot read the statements topic \(topic): \(error)")
        }
        var workload = Workload()
        var read = 0, skipped = 0
        if !starts.isEmpty {
            let consumer: KafkaConsumer
            do {
                consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(
                    client: client, groupID: "driftline-statements-\(UUID().uuidString)", isolationLevel: .readCommitted, commitOnRevoke: false))
                try consumer.assign(starts)
            } catch {
                throw Failure(description: "cannot read the statements topic \(topic): \(error)")
            }
            defer { try? consumer.close() }  // an assigned consumer without a group has nothing to commit
            let deadline = ContinuousClock.now + timeout
            while !ends.isEmpty {
                guard ContinuousClock.now < deadline else {
                    throw Failure(description: "timed out reading \(ends.keys.map(\.description).sorted()) of the statements topic after \(timeout)")
                }
                for event in consumer.poll(maxMessages: 1_000, timeout: .milliseconds(200)) {
                    guard case let .message(message) = event else { continue }
                    if let statement = statement(message) { workload.add(statement); read += 1 } else { skipped += 1 }
                    if let end = ends[message.topicPartition], message.offset + 1 >= end { ends.removeValue(forKey: message.topicPartition) }
                }
            }
        }
        var note = "statements: the latest \(read) messages of topic \(topic)"
        if skipped > 0 { note += " (\(skipped) more were not statement objects and were skipped)" }
        return (workload, note)
    }

    /// The statement a message carries, nil when it is not a statement object.
    static func statement(_ message: KafkaMessage) -> LoggedStatement? {
        guard let value = message.value,
              let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any],  // not JSON: not a statement, counted
              let sql = object["statement"] as? String, !sql.isEmpty else { return nil }
        let calls = (object["calls"] as? NSNumber)?.doubleValue ?? 1
        guard calls > 0 else { return nil }
        var time = message.timestamp.milliseconds.map { Double($0) / 1000 }
        if let text = object["time"] as? String {
            guard let milliseconds = RFC3339.epochMilliseconds(text) else { return nil }
            time = Double(milliseconds) / 1000
        }
        return LoggedStatement(sql: sql, calls: calls, totalMilliseconds: (object["totalMilliseconds"] as? NSNumber)?.doubleValue, time: time)
    }
}
