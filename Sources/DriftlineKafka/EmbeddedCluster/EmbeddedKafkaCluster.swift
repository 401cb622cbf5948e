import DriftlineConfiguration
/// A Kafka cluster inside this process: librdkafka's mock cluster, which speaks the real protocol on
/// loopback sockets, so any client (kcat included) can connect. For tests, the demo and `driftline dev`.
///
/// Limits worth knowing: it keeps only about 5 MiB per partition (older segments are dropped, so check
/// the low watermark in big tests), it does not implement the CreateTopics admin request, and a group's
/// first join waits about 3 s.
public final class EmbeddedKafkaCluster: Sendable {
    private let cluster: RdKafkaMockCluster
    private let forwarder: TCPForwarder?
    public let brokerCount: Int

    /// The address clients should bootstrap from: the fixed `bootstrapPort` when one was asked for,
    /// otherwise the brokers' own ephemeral addresses.
    public let bootstrapServers: String

    /// - Parameters:
    ///   - brokers: number of brokers (ids 1...brokers).
    ///   - bootstrapPort: listen on this loopback port and forward it to broker 1, so the address is
    ///     predictable (the mock's own brokers always take ephemeral ports).
    public init(brokers: Int = 1, bootstrapPort: UInt16? = nil) throws {
        guard (1...32).contains(brokers) else {
            throw KafkaConfigurationError.invalid(key: "brokers", reason: "an embedded cluster has 1 to 32 brokers, not \(brokers)")
        }
        cluster = try RdKafkaMockCluster(brokers: Int32(brokers))
        brokerCount = brokers
        if let bootstrapPort {
            let first = String(cluster.bootstrapServers.split(separator: ",")[0])
            guard let address = HostPort(first), address.isConnectable else {
                throw KafkaConfigurationError.invalid(key: "bootstrap", reason: "unexpected mock bootstrap address \(first)")
            }
            forwarder = try TCPForwarder(listenPort: bootstrapPort, targetPort: UInt16(address.port))
            bootstrapServers = "127.0.0.1:\(bootstrapPort)"
        } else {
            forwarder = nil
            bootstrapServers = cluster.bootstrapServers
        }
    }

    /// A client configuration pointing at this cluster.
    public func clientConfiguration(clientID: String = "driftline") -> KafkaClientConfiguration {
        KafkaClientConfiguration(brokers: bootstrapServers.split(separator: ",").map(String.init), clientID: clientID)
    }

    public func createTopic(_ name: String, partitions: Int = 1, replicationFactor: Int = 1) throws(KafkaError) {
        guard partitions > 0, replicationFactor > 0, replicationFactor <= brokerCount else {
            throw KafkaError(
                code: -186, name: "_INVALID_ARG",
                message: "need partitions > 0 and 1 <= replication factor <= \(brokerCount) brokers (got \(partitions), \(replicationFactor))",
                operation: "create topic \(name)"
            )
        }
        try cluster.createTopic(name, partitions: Int32(partitions), replicationFactor: Int32(replicationFactor))
    }

    /// Simulates a broker failure: it closes connections and refuses new ones until `setBrokerUp`.
    public func setBrokerDown(_ id: Int32) throws(KafkaError) { try cluster.setBrokerDown(id) }
    public func setBrokerUp(_ id: Int32) throws(KafkaError) { try cluster.setBrokerUp(id) }

    deinit { forwarder?.stop() }
}
