import DriftlineKafka

/// What may be committed where. Source partitions go to the first offset an open window still
/// needs (so a restart re-reads exactly the open windows); profiles partitions go to the oldest
/// partial still pending. A position moves only after everything produced before it is flushed,
/// so a commit never covers an output that is not durable. Pure: the loop performs the actions.
struct CommitTracker: Equatable {
    enum Action: Equatable {
        case none
        /// Flush the producer, then commit each group with its own consumer.
        case flushThenCommit(sources: [TopicPartitionOffset], profiles: [TopicPartitionOffset])
    }

    let profilesTopic: String
    private(set) var committed: [TopicPartition: Int64] = [:]

    init(profilesTopic: String) { self.profilesTopic = profilesTopic }

    /// The profiles topic's positions: per partition, the offset after the last message read,
    /// held back to the oldest partial not yet scored (pending in an aggregator or in the batch).
    static func profilesPositions(next: [Int32: Int64], pending: [Int32: [Int64]]) -> [Int32: Int64] {
        var result = next
        for (partition, offsets) in pending {
            guard let oldest = offsets.min(), let position = result[partition] else { continue }
            result[partition] = min(position, oldest)
        }
        return result
    }

    /// Where things stand now; commits what moved.
    func progress(_ positions: [TopicPartition: Int64]) -> Action {
        let moved = positions.filter { committed[$0.key] != $0.value }
            .sorted { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }
            .map { TopicPartitionOffset($0.key, offset: $0.value) }
        guard !moved.isEmpty else { return .none }
        return .flushThenCommit(sources: moved.filter { $0.topicPartition.topic != profilesTopic },
                                profiles: moved.filter { $0.topicPartition.topic == profilesTopic })
    }

    /// Committed: not sent again.
    mutating func committed(_ offsets: [TopicPartitionOffset]) {
        for offset in offsets { committed[offset.topicPartition] = offset.offset }
    }

    /// Revoked: what the group holds for these partitions is no longer known here. The commit on
    /// revocation can fail (a rebalance in progress) or be skipped (assignment lost), so a
    /// partition that comes back commits its position again instead of trusting a stale record
    /// (CI saw a profiles partition never committed after it returned to the same instance).
    mutating func forget(_ partitions: Set<TopicPartition>) {
        for partition in partitions { committed.removeValue(forKey: partition) }
    }
}
