import DriftlineKafka
import Testing

@Suite(.timeLimit(.minutes(10)))
struct ConfigurationTests {
    private let reachable = KafkaClientConfiguration(brokers: ["127.0.0.1:9"])

    @Test func unknownPropertyIsNamed() throws {
        var client = reachable
        client.properties["bootstrap.servrs"] = "127.0.0.1:9092"
        let error = #expect(throws: KafkaConfigurationError.self) {
            try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        }
        guard case let .unknownProperty(key, reason) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(key == "bootstrap.servrs")
        #expect(reason.contains("No such configuration property"))
        #expect(error!.description.contains("bootstrap.servrs"))
    }

    @Test func invalidValueIsNamed() throws {
        var client = reachable
        client.properties["acks"] = "banana"
        let error = #expect(throws: KafkaConfigurationError.self) {
            try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        }
        guard case let .invalid(key, reason) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(key == "acks")
        #expect(reason.contains("banana"))
    }

    @Test(arguments: [
        ([String](), "brokers"),
        (["localhost"], "brokers"),
        (["localhost:0"], "brokers"),
        ([":9092"], "brokers"),
        (["localhost:99999"], "brokers"),
    ])
    func malformedBrokersAreRejectedBeforeConnecting(brokers: [String], key: String) throws {
        let error = #expect(throws: KafkaConfigurationError.self) {
            try KafkaAdmin(configuration: KafkaClientConfiguration(brokers: brokers))
        }
        guard case let .invalid(actualKey, _) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(actualKey == key)
    }

    @Test func roleSpecificMistakes() throws {
        #expect(throws: KafkaConfigurationError.invalid(key: "group.id", reason: "a consumer group id is required")) {
            try KafkaConsumer(configuration: KafkaConsumerConfiguration(client: reachable, groupID: ""))
        }
        #expect(throws: KafkaConfigurationError.invalid(key: "transactional.id", reason: "transactions need an idempotent producer")) {
            try KafkaProducer(configuration: KafkaProducerConfiguration(client: reachable, idempotent: false, transactionalID: "t"))
        }
        var client = reachable
        client.security["group.id"] = "sneaky"
        #expect(throws: KafkaConfigurationError.self) { try KafkaAdmin(configuration: client) }
    }

    @Test func escapeHatchIsAppliedAfterTypedSettings() throws {
        // The typed configuration is valid; only the override, applied last, makes librdkafka refuse it.
        var client = reachable
        client.properties["enable.idempotence"] = "false"
        let error = #expect(throws: KafkaConfigurationError.self) {
            try KafkaProducer(configuration: KafkaProducerConfiguration(client: client, transactionalID: "t"))
        }
        #expect(String(describing: error!).contains("idempotence"))
    }

    // Port 1 on loopback refuses connections at once: an unreachable cluster without waiting on DNS.
    private let unreachable = KafkaClientConfiguration(brokers: ["127.0.0.1:1"])

    @Test func unreachableBrokersFailDeliveryWithinTheMessageTimeout() async throws {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: unreachable, messageTimeoutMilliseconds: 1500))
        let error = await #expect(throws: KafkaError.self) {
            try await producer.sendAndWait(ProducerRecord(topic: "nowhere", value: bytes("x")))
        }
        #expect(error?.code == KafkaError.Code.messageTimedOut)
        #expect(producer.takeClientErrors().contains { $0.code == KafkaError.Code.allBrokersDown || $0.code == KafkaError.Code.transport })
        try producer.close(timeout: .seconds(2))
    }

    @Test func unreachableBrokersFailMetadataWithinTheTimeout() throws {
        let admin = try KafkaAdmin(configuration: unreachable)
        let error = #expect(throws: KafkaError.self) { try admin.describeCluster(timeout: .seconds(1)) }
        #expect(error?.code == KafkaError.Code.timedOut || error?.code == KafkaError.Code.transport)
        #expect(error?.description.contains("metadata request") == true)
    }

    @Test func unreachableBrokersSurfaceAsConsumerErrorEvents() throws {
        let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(client: unreachable, groupID: "nobody"))
        try consumer.subscribe(topics: ["nowhere"])
        var errors: [KafkaError] = []
        try pollUntil(consumer, deadline: .seconds(20), "an error event") { event in
            if case let .error(error) = event { errors.append(error) }
            return !errors.isEmpty
        }
        #expect(errors.contains { $0.code == KafkaError.Code.allBrokersDown || $0.code == KafkaError.Code.transport })
        try? consumer.close()
    }
}
