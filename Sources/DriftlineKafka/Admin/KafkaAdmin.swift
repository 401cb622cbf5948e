/// A topic to create.
public struct NewTopic: Sendable, Hashable {
    public var name: String
    public var partitions: Int32
    public var replicationFactor: Int32
    /// Topic-level configuration such as `cleanup.policy` or `retention.ms`.
    public var config: [String: String]

    public init(_ name: String, partitions: Int32, replicationFactor: Int32 = 1, config: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.config = config
    }
}

/// Cluster administration: describe brokers and topics, create topics.
public final class KafkaAdmin: Sendable {
    private let admin: RdKafkaAdmin

    public init(configuration: KafkaClientConfiguration) throws {
        try configuration.validate()
        admin = try RdKafkaAdmin(configuration: configuration)
    }

    /// Brokers, topics and partitions. Throws (rather than waits forever) when no broker answers in `timeout`.
    public func describeCluster(timeout: Duration = .seconds(10)) throws(KafkaError) -> ClusterMetadata {
        try admin.metadata(timeout: timeout)
    }

    /// Creates topics; with `ignoreExisting`, a topic that already exists is not an error.
    /// librdkafka's embedded mock cluster does not implement CreateTopics: use
    /// `EmbeddedKafkaCluster.createTopic` there.
    public func createTopics(_ topics: [NewTopic], ignoreExisting: Bool = true, timeout: Duration = .seconds(30)) throws(KafkaError) {
        try admin.createTopics(topics, ignoreExisting: ignoreExisting, timeout: timeout)
    }

    public func watermarks(_ partition: TopicPartition, timeout: Duration = .seconds(10)) throws(KafkaError) -> Watermarks {
        try admin.watermarks(partition, timeout: timeout)
    }
}
