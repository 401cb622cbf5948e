import DriftlineKafka
import Foundation
import Testing

/// Every test gets its own in-process cluster; nothing is shared between tests.
func makeCluster(brokers: Int = 1, topics: [(String, Int)] = []) throws -> EmbeddedKafkaCluster {
    let cluster = try EmbeddedKafkaCluster(brokers: brokers)
    for (name, partitions) in topics { try cluster.createTopic(name, partitions: partitions) }
    return cluster
}

/// Something tests can point clients at: the embedded cluster, or a real broker (see `TestKafka`).
protocol KafkaEndpoint {
    func clientConfiguration(clientID: String) -> KafkaClientConfiguration
}

extension EmbeddedKafkaCluster: KafkaEndpoint {}

/// The embedded cluster, or a real Kafka when `DRIFTLINE_TEST_KAFKA_BROKERS` is set, for tests of
/// broker-side semantics the mock cluster does not implement (transaction markers, fencing).
struct TestKafka: KafkaEndpoint {
    let embedded: EmbeddedKafkaCluster?
    private let brokers: [String]
    private let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)

    init() throws {
        if let brokers = ProcessInfo.processInfo.environment["DRIFTLINE_TEST_KAFKA_BROKERS"], !brokers.isEmpty {
            self.brokers = brokers.split(separator: ",").map(String.init)
            embedded = nil
        } else {
            let cluster = try EmbeddedKafkaCluster()
            self.brokers = cluster.bootstrapServers.split(separator: ",").map(String.init)
            embedded = cluster
        }
    }

    var isEmbedded: Bool { embedded != nil }

    func clientConfiguration(clientID: String) -> KafkaClientConfiguration {
        KafkaClientConfiguration(brokers: brokers, clientID: clientID)
    }

    /// Creates a topic with a per-run name (a real cluster outlives the test) and returns the name.
    func createTopic(_ name: String, partitions: Int) throws -> String {
        if let embedded {
            try embedded.createTopic(name, partitions: partitions)
            return name
        }
        let unique = "\(name)-\(runID)"
        try KafkaAdmin(configuration: clientConfiguration(clientID: "test-admin"))
            .createTopics([NewTopic(unique, partitions: Int32(partitions))])
        return unique
    }
}

func makeConsumer(
    _ cluster: some KafkaEndpoint, group: String, isolation: IsolationLevel = .readCommitted,
    reportEOF: Bool = false, clientID: String = "test"
) throws -> KafkaConsumer {
    var configuration = KafkaConsumerConfiguration(client: cluster.clientConfiguration(clientID: clientID), groupID: group)
    configuration.isolationLevel = isolation
    configuration.reportPartitionEOF = reportEOF
    return try KafkaConsumer(configuration: configuration)
}

func makeProducer(_ cluster: some KafkaEndpoint, transactionalID: String? = nil) throws -> KafkaProducer {
    var configuration = KafkaProducerConfiguration(client: cluster.clientConfiguration(clientID: "test-producer"))
    configuration.transactionalID = transactionalID
    return try KafkaProducer(configuration: configuration)
}

/// Produces and waits for every delivery report; returns them in send order.
func produceAll(_ producer: KafkaProducer, _ records: [ProducerRecord]) throws -> [DeliveryReport] {
    let reports = Mutex<[Int: Result<DeliveryReport, KafkaError>]>([:])
    for (index, record) in records.enumerated() {
        try producer.send(record) { result in reports.withLock { $0[index] = result } }
    }
    try producer.flush(timeout: .seconds(30))
    return try reports.withLock { reports in
        try records.indices.map { index in
            guard let result = reports[index] else { throw TestFailure("no delivery report for record \(index)") }
            return try result.get()
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Polls `consumer` until `done` says so, failing (not hanging) after `deadline`.
@discardableResult
func pollUntil(
    _ consumer: KafkaConsumer, deadline: Duration = .seconds(60), _ what: String,
    _ handle: (ConsumerEvent) throws -> Bool
) throws -> Int {
    let clock = ContinuousClock()
    let end = clock.now.advanced(by: deadline)
    var polls = 0
    while clock.now < end {
        polls += 1
        for event in consumer.poll(maxMessages: 100, timeout: .milliseconds(100)) {
            if try handle(event) { return polls }
        }
    }
    throw TestFailure("timed out after \(deadline) waiting for \(what)")
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

import Synchronization
