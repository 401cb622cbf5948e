/// Partitions moving to or away from this consumer.
public enum RebalanceEvent: Hashable, Sendable {
    case assigned([TopicPartition])
    /// Stored offsets of these partitions were committed (with `commitOnRevoke`) before they went away.
    case revoked([TopicPartition])
}

/// Everything a poll can return besides messages being handed over.
public enum ConsumerEvent: Hashable, Sendable {
    case message(KafkaMessage)
    case rebalance(RebalanceEvent)
    /// The consumer reached the end of a partition (only with `reportPartitionEOF`); `offset` is the next one.
    case partitionEOF(TopicPartitionOffset)
    /// Usually transient (a broker went away); fatal ones carry `isFatal`.
    case error(KafkaError)
}
