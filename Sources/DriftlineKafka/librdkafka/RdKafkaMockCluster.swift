import CRdKafka

/// Hosts librdkafka's mock cluster: real Kafka protocol on loopback sockets, in this process.
final class RdKafkaMockCluster: @unchecked Sendable {
    private let host: RdKafkaClient
    private let cluster: OpaquePointer
    let bootstrapServers: String

    init(brokers: Int32) throws(KafkaError) {
        do {
            host = try RdKafkaClient(
                role: .producer, properties: [("log_level", "3")],
                callbacks: RdKafkaCallbacks(onError: { _ in })
            )
        } catch {
            throw KafkaError(code: RD_KAFKA_RESP_ERR__INVALID_ARG, operation: "start embedded cluster")
        }
        guard let cluster = rd_kafka_mock_cluster_new(host.handle, brokers) else {
            throw KafkaError(code: RD_KAFKA_RESP_ERR__FAIL, operation: "start embedded cluster with \(brokers) brokers")
        }
        self.cluster = cluster
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit { rd_kafka_mock_cluster_destroy(cluster) }

    func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32) throws(KafkaError) {
        try KafkaError.check(rd_kafka_mock_topic_create(cluster, name, partitions, replicationFactor), "create topic \(name)")
    }

    func setBrokerDown(_ id: Int32) throws(KafkaError) {
        try KafkaError.check(rd_kafka_mock_broker_set_down(cluster, id), "take broker \(id) down")
    }

    func setBrokerUp(_ id: Int32) throws(KafkaError) {
        try KafkaError.check(rd_kafka_mock_broker_set_up(cluster, id), "bring broker \(id) up")
    }
}
