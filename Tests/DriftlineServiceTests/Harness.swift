import DriftlineConfiguration
import DriftlineDetector
import DriftlineKafka
import DriftlineMessages
import DriftlineProfiling
import DriftlineSampleData
import DriftlineService
import Foundation
import Logging
import DriftlineTestSupport
import Testing

/// An embedded cluster with the drift dataset on `orders` (4 partitions) and the output topics,
/// plus what the detector must publish for it, computed by the pure pipeline (the oracle).
final class Harness {
    struct Record { var partition: Int32; var bytes: [UInt8]; var malformed: Bool }

    static let source = "orders"
    static let partitions = 4
    let cluster: EmbeddedKafkaCluster
    let directory: URL
    let records: [Record]

    /// `malformedEvery`: after every N-th record, one malformed record (truncated JSON) is added.
    init(records count: Int = 24_000, malformedEvery: Int? = nil) throws {
        cluster = try EmbeddedKafkaCluster(brokers: 1)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("driftline-service-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var records: [Record] = []
        DriftDataset(records: count, driftFraction: 0.4).forEachRecord { index, record in
            let partition = Int32(index % Self.partitions)
            records.append(Record(partition: partition, bytes: Array(record), malformed: false))
            if let malformedEvery, index % malformedEvery == malformedEvery - 1 {
                records.append(Record(partition: partition, bytes: Array(record.prefix(30)), malformed: true))
            }
        }
        self.records = records
        try cluster.createTopic(Self.source, partitions: Self.partitions)
        for topic in DriftlineTopics.defaults.all { try cluster.createTopic(topic, partitions: 3) }
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func produce(_ range: Range<Int>? = nil, to topic: String = Harness.source) throws {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: cluster.clientConfiguration(clientID: "harness"), compression: .lz4))
        for record in records[range ?? records.indices] {
            try producer.send(ProducerRecord(topic: topic, partition: record.partition, value: record.bytes))
        }
        try producer.flush(timeout: .seconds(60))
        #expect(producer.deliveryCounts.failed == 0)
        try producer.close()
    }

    var storePath: String { directory.appendingPathComponent("metadata.sqlite").path }

    func configuration(group: String = "detector", deadLettersPerWindow: Int = 100) -> DetectorConfiguration {
        var configuration = DetectorConfiguration()
        configuration.kafka.brokers = cluster.bootstrapServers.split(separator: ",").map(String.init)
        configuration.kafka.groupID = group
        var source = DetectorConfiguration.Source(topic: Self.source)
        source.eventTime = .field(path: "ts", unit: .milliseconds)
        source.weights = ["ts": [.distribution: 0], "event_id": [.distribution: 0]]
        configuration.sources = [source]
        configuration.windows.sizeMilliseconds = 10_000
        configuration.windows.allowedLatenessMilliseconds = 1_000
        configuration.windows.partialTimeoutMilliseconds = 60_000
        configuration.reference = .first(windows: 5)
        configuration.metadataStore = storePath
        configuration.httpListen = HostPort(host: "127.0.0.1", port: 0)
        configuration.deadLettersPerWindow = deadLettersPerWindow
        return configuration
    }

    /// The same configuration as YAML, for `driftline detect --config`.
    func yaml(group: String = "detector") -> String {
        """
        kafka:
          brokers: [\(cluster.bootstrapServers)]
          groupId: \(group)
        sources:
          - topic: \(Self.source)
            eventTime: {field: ts, unit: milliseconds}
            weights:
              ts: {distribution: 0}
              event_id: {distribution: 0}
        windows: {size: 10s, allowedLateness: 1s, partialTimeout: 60s}
        reference: {mode: first, windows: 5}
        metadata: {store: \(storePath)}
        http: {listen: "127.0.0.1:0"}
        """
    }

    struct Expected {
        var released: Int
        var alerts: [AlertMessage]
        var events: [DriftEventMessage]
        var malformed: Int
    }

    /// What the detector must publish: the pure pipeline over the same records, one partial per
    /// partition per window, as the service sends them.
    func expected() throws -> Expected {
        let configuration = configuration()
        let source = configuration.sources[0]
        var windowing = SourceWindowing(topic: Self.source, eventTime: source.eventTime, windows: TumblingWindows(size: 10_000, allowedLateness: 1_000))
        windowing.assign((0..<Int32(Self.partitions)).map { $0 }, now: 0)
        var aggregator = PartialAggregator(partitionCount: Self.partitions, timeout: 60_000)
        var scorer = WindowScorer(source: source, reference: configuration.reference)
        var result = Expected(released: 0, alerts: [], events: [], malformed: 0)
        var offsets = [Int64](repeating: 0, count: Self.partitions)
        func drain() throws {
            for closed in windowing.closeReady(now: 0) {
                var parts = Dictionary(uniqueKeysWithValues: closed.partitions.map { ($0.partition, $0.profile) })
                for partition in 0..<Int32(Self.partitions) where parts[partition] == nil { parts[partition] = WindowProfile() }
                for (partition, profile) in parts.sorted(by: { $0.key < $1.key }) {
                    try aggregator.add(windowStart: closed.start, partial: WindowProfile(encoded: profile.encoded()), partitions: [partition], now: 0)
                }
            }
            for window in aggregator.ready(now: 0) {
                result.released += 1
                let scored = try scorer.score(windowStart: window.start, windowEnd: window.start + 10_000, profile: window.profile, now: 0)
                result.alerts += scored.alerts
                result.events += scored.events
            }
        }
        for (index, record) in records.enumerated() {
            let offset = offsets[Int(record.partition)]
            offsets[Int(record.partition)] += 1
            let outcome = record.bytes.withUnsafeBytes { windowing.ingest($0, partition: record.partition, offset: offset, kafkaTimestamp: nil, now: 0) }
            if case .malformed = outcome { result.malformed += 1 }
            if index % 500 == 0 { try drain() }
        }
        try drain()
        return result
    }

    /// Every message of `topic` (3 partitions), read to the end.
    func readAll(_ topic: String) throws -> [KafkaMessage] {
        var configuration = KafkaConsumerConfiguration(client: cluster.clientConfiguration(clientID: "reader"), groupID: "reader-\(UUID().uuidString)")
        configuration.reportPartitionEOF = true
        let consumer = try KafkaConsumer(configuration: configuration)
        try consumer.subscribe(topics: [topic])
        var messages: [KafkaMessage] = []
        var ended = Set<Int32>()
        let deadline = Date().addingTimeInterval(30)
        while ended.count < 3, Date() < deadline {
            for event in consumer.poll(maxMessages: 1_000, timeout: .milliseconds(200)) {
                switch event {
                case let .message(message): messages.append(message)
                case let .partitionEOF(position): ended.insert(position.topicPartition.partition)
                default: break
                }
            }
        }
        try consumer.close()
        #expect(ended.count == 3, "read \(topic) to its end")
        return messages
    }

    func ids(_ topic: String) throws -> [String] {
        try readAll(topic).compactMap { message in
            guard let value = message.value, let object = try JSONSerialization.jsonObject(with: Data(value)) as? [String: Any] else { return nil }
            return object["id"] as? String
        }
    }

    /// Every partial on the profiles topic has been aggregated: the `<group>.aggregation` group has
    /// committed each profiles partition up to its end. The detector commits there only after the
    /// outputs of what it read are flushed, so nothing it could still publish is in flight. 240 s
    /// like the other detector waits (see `wait`): CI needed more than 60 s after a rebalance.
    func waitUntilPartialsAggregated(group: String = "detector", seconds: Double = 240) async throws {
        let probe = try KafkaConsumer(configuration: KafkaConsumerConfiguration(client: cluster.clientConfiguration(clientID: "probe"), groupID: group + ".aggregation"))
        let admin = try KafkaAdmin(configuration: cluster.clientConfiguration(clientID: "probe-admin"))
        let partitions = (0..<3).map { TopicPartition(DriftlineTopics.defaults.profiles, Int32($0)) }
        var last = ""
        try await Harness.wait(seconds: seconds, "every partial aggregated by \(group) (committed / end per profiles partition: \(last))") {
            let committed = try probe.committed(partitions)
            let ends = try committed.map { try admin.watermarks($0.topicPartition).high }
            last = zip(committed, ends).map { "\($0.topicPartition.partition): \($0.offset)/\($1)" }.joined(separator: ", ")
            return zip(committed, ends).allSatisfy { $1 == 0 || $0.offset >= $1 }
        }
        try probe.close()
    }

    static let logger: Logger = {
        var logger = Logger(label: "test.detector")
        logger.logLevel = .warning
        return logger
    }()

    /// Waits until `condition` holds (checked every 100 ms) or the deadline passes. The detector
    /// suites give it 240 s: beside the rest of the suite on two cores a detector scored 18 of 23
    /// windows in 90 s in CI (it needs about 20 s alone); the deadline only bounds a hang.
    static func wait(seconds: Double, _ what: @autoclosure () -> String, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try await !condition() {
            guard Date() < deadline else {
                Issue.record("timed out after \(seconds) s waiting for \(what())")
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// Runs schemas/validate.py on JSON lines; fails the test when CI=true and jsonschema is missing.
func validateAgainstSchema(_ schema: String, _ lines: [[UInt8]]) async throws -> Finished? {
    guard let result = try await DriftlineTestSupport.validateAgainstSchema(schema, lines.map { Data($0) }) else {
        if runningInCI { Issue.record("python3 jsonschema is not installed") }
        return nil
    }
    return result
}
