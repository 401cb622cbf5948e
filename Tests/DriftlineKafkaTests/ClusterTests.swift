import DriftlineKafka
import Foundation
import DriftlineTestSupport
import Testing

@Suite(.timeLimit(.minutes(10)))
struct ClusterTests {
    @Test func describeClusterListsBrokersTopicsAndReplicas() throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 3)
        try cluster.createTopic("replicated", partitions: 6, replicationFactor: 3)
        let admin = try KafkaAdmin(configuration: cluster.clientConfiguration())
        let metadata = try admin.describeCluster()
        #expect(metadata.brokers.map(\.id) == [1, 2, 3])
        #expect(metadata.brokers.allSatisfy { $0.host == "127.0.0.1" && $0.port > 0 })
        let topic = try #require(metadata.topic("replicated"))
        #expect(topic.partitions.map(\.id) == Array(0..<6))
        #expect(topic.partitions.allSatisfy { $0.replicas.count == 3 && (1...3).contains($0.leader) })
        #expect(try admin.watermarks(TopicPartition("replicated", 0)) == Watermarks(low: 0, high: 0))
    }

    @Test func createTopicsReportsWhatTheClusterCannotDo() throws {
        // The mock cluster does not implement CreateTopics; the admin API must say so, not hang or crash.
        let cluster = try EmbeddedKafkaCluster()
        let admin = try KafkaAdmin(configuration: cluster.clientConfiguration())
        let error = #expect(throws: KafkaError.self) {
            try admin.createTopics([NewTopic("made-by-admin", partitions: 2, config: ["retention.ms": "60000"])], timeout: .seconds(5))
        }
        #expect(error?.description.contains("create topic") == true)
    }

    @Test func invalidEmbeddedTopicsAreRejected() throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1)
        #expect(throws: KafkaError.self) { try cluster.createTopic("t", partitions: 0) }
        #expect(throws: KafkaError.self) { try cluster.createTopic("t", partitions: 1, replicationFactor: 2) }
        #expect(throws: KafkaConfigurationError.self) { try EmbeddedKafkaCluster(brokers: 0) }
    }

    @Test func fixedBootstrapPortServesClientsAndRefusesASecondCluster() throws {
        // Below Linux's ephemeral range (32768-60999): a client's outgoing socket cannot hold it.
        let port = UInt16.random(in: 20_000...32_000)
        let cluster = try EmbeddedKafkaCluster(bootstrapPort: port)
        #expect(cluster.bootstrapServers == "127.0.0.1:\(port)")
        try cluster.createTopic("via-port", partitions: 2)
        let admin = try KafkaAdmin(configuration: cluster.clientConfiguration())
        #expect(try admin.describeCluster().topic("via-port")?.partitions.count == 2)

        let error = #expect(throws: (any Error).self) { try EmbeddedKafkaCluster(bootstrapPort: port) }
        #expect(String(describing: error!).contains("cannot listen on 127.0.0.1:\(port)"))
    }

    /// The point of the embedded cluster: a separate, unrelated Kafka client can use it.
    static let kcat = ["/usr/bin/kcat", "/usr/local/bin/kcat"].first(where: FileManager.default.isExecutableFile)

    @Test(.enabled(if: kcat != nil || ProcessInfo.processInfo.environment["CI"] == "true", "kcat is not installed (ops/install-deps.sh installs it)"))
    func kcatCanListProduceAndConsume() async throws {
        let kcat = try #require(Self.kcat, "kcat is not installed (ops/install-deps.sh installs it)")
        // Above Linux's ephemeral range (32768-60999): a client's outgoing socket cannot hold it.
        let port = UInt16.random(in: 61_000...65_000)
        let cluster = try EmbeddedKafkaCluster(bootstrapPort: port)
        try cluster.createTopic("from-kcat", partitions: 1)
        let listing = try await run(kcat, ["-b", cluster.bootstrapServers, "-L"])
        #expect(listing.contains("topic \"from-kcat\" with 1 partitions"))

        _ = try await run(kcat, ["-P", "-b", cluster.bootstrapServers, "-t", "from-kcat", "-K", ":"], input: "k1:hello\nk2:world\n")
        let consumer = try makeConsumer(cluster, group: "kcat-interop")
        try consumer.subscribe(topics: ["from-kcat"])
        var received: [KafkaMessage] = []
        try pollUntil(consumer, "kcat's two messages") { event in
            if case let .message(message) = event { received.append(message) }
            return received.count == 2
        }
        #expect(received.map(\.key) == [bytes("k1"), bytes("k2")])
        #expect(received.map(\.value) == [bytes("hello"), bytes("world")])
        try consumer.close()
    }

    private func run(_ path: String, _ arguments: [String], input: String? = nil) async throws -> String {
        let result = try await DriftlineTestSupport.run(URL(fileURLWithPath: path), arguments, stdin: input)
        guard result.status == 0 else { throw TestFailure("\(path) exited with \(result.status): \(result.err)") }
        return result.out
    }
}

@Suite(.timeLimit(.minutes(10)))
struct FaultTests {
    /// A broker outage while producing: the idempotent producer retries, and after recovery every
    /// message is in the log exactly once, in order.
    @Test func brokerOutageLosesAndDuplicatesNothing() throws {
        let cluster = try makeCluster(topics: [("outage", 1)])
        let producer = try makeProducer(cluster)
        _ = try produceAll(producer, (0..<50).map { ProducerRecord(topic: "outage", value: bytes("before-\($0)")) })

        try cluster.setBrokerDown(1)
        for index in 0..<100 { try producer.send(ProducerRecord(topic: "outage", value: bytes("during-\(index)"))) }
        Thread.sleep(forTimeInterval: 1.5)
        #expect(producer.queuedMessages > 0, "nothing can be delivered while the only broker is down")
        try cluster.setBrokerUp(1)
        try producer.flush(timeout: .seconds(30))
        #expect(producer.deliveryCounts.failed == 0)
        try producer.close()

        let consumer = try makeConsumer(cluster, group: "after-outage", reportEOF: true)
        try consumer.subscribe(topics: ["outage"])
        var values: [String] = []
        try pollUntil(consumer, "the whole log") { event in
            if case let .message(message) = event { values.append(String(decoding: message.value!, as: UTF8.self)) }
            if case .partitionEOF = event { return values.count >= 150 }
            return false
        }
        try consumer.close()
        #expect(values == (0..<50).map { "before-\($0)" } + (0..<100).map { "during-\($0)" })
    }

    /// A consumer that is dropped without close (a crash) gives up nothing it had not committed:
    /// its successor starts at the last commit and sees the uncommitted rest again.
    @Test func crashedConsumerIsResumedFromItsLastCommit() throws {
        let cluster = try makeCluster(topics: [("crash", 1)])
        let producer = try makeProducer(cluster)
        _ = try produceAll(producer, (0..<40).map { ProducerRecord(topic: "crash", value: bytes("m\($0)")) })
        try producer.close()

        do {
            var configuration = KafkaConsumerConfiguration(client: cluster.clientConfiguration(clientID: "doomed"), groupID: "crash")
            configuration.commitOnRevoke = false  // a crash commits nothing on the way out
            let doomed = try KafkaConsumer(configuration: configuration)
            try doomed.subscribe(topics: ["crash"])
            var seen = 0
            try pollUntil(doomed, "20 messages") { event in
                guard case let .message(message) = event else { return false }
                seen += 1
                try doomed.storeOffset(message)
                if seen == 15 { try doomed.commit() }  // 15 committed, 5 more processed but not committed
                return seen == 20
            }
        }  // dropped here without close()

        let successor = try makeConsumer(cluster, group: "crash")
        try successor.subscribe(topics: ["crash"])
        var first: Int64?
        try pollUntil(successor, "the successor's first message") { event in
            if case let .message(message) = event { first = message.offset; return true }
            return false
        }
        #expect(first == 15)
        try successor.close()
    }
}
