import DriftlineKafka
import Logging

/// One consumer group's commits, performing what `CommitTracker` decides: a position moves only
/// after a flush of the shared producer, so a commit never covers an output that is not durable.
/// The source side and the aggregation side each own one, for their own consumer.
struct GroupCommits {
    let consumer: KafkaConsumer
    let publisher: OutputPublisher
    let logger: Logger
    private var tracker: CommitTracker

    init(consumer: KafkaConsumer, profilesTopic: String, publisher: OutputPublisher, logger: Logger) {
        self.consumer = consumer
        self.publisher = publisher
        self.logger = logger
        tracker = CommitTracker(profilesTopic: profilesTopic)
    }

    /// Commits the positions (of this group's partitions) that moved.
    mutating func commit(_ positions: [TopicPartition: Int64]) throws {
        guard case let .flushThenCommit(sources, profiles) = tracker.progress(positions), !(sources + profiles).isEmpty else { return }
        let offsets = sources + profiles
        try publisher.flush()
        do {
            // Stored as well, so the commit on revocation or close never rewinds to older positions.
            try consumer.storeOffsets(offsets)
            try consumer.commit(offsets)
            tracker.committed(offsets)
        } catch {
            // Refused during a rebalance: retried next step (or by close); messages are re-read at worst.
            logger.warning("commit failed: \(error)")
        }
    }

    /// Inside the rebalance callback, which cannot throw: stores where the revoked partitions must
    /// resume; a failed flush or store is logged, and their next owner resumes from the last commit
    /// (re-reading, never skipping).
    mutating func storeRevoked(_ partitions: [TopicPartition], positions: [TopicPartition: Int64]) {
        let stored = positions.filter { partitions.contains($0.key) }.map { TopicPartitionOffset($0.key, offset: $0.value) }
        tracker.forget(Set(partitions))
        do {
            try publisher.flush()
            try consumer.storeOffsets(stored)
        } catch {
            logger.warning("storing offsets on revoke failed; the next owner resumes from the last commit: \(error)")
        }
    }
}

extension Array where Element == ConsumerEvent {
    /// Logs a consumer's rebalances and errors (`client` names it); a fatal error stops the
    /// detector. Returns the partitions it was assigned, nil if no assignment came (an assignment
    /// may be empty: an instance with nothing to own is still in the group, and ready).
    func handleClientEvents(client: String, logger: Logger) throws -> [TopicPartition]? {
        var assigned: [TopicPartition]?
        for event in self {
            switch event {
            case let .rebalance(.assigned(partitions)):
                assigned = (assigned ?? []) + partitions
                logger.info("\(client) partitions assigned", metadata: ["partitions": "\(partitions.map(\.description).sorted())"])
            case let .rebalance(.revoked(partitions)):
                logger.info("\(client) partitions revoked", metadata: ["partitions": "\(partitions.map(\.description).sorted())"])
            case let .error(error):
                // A fatal error leaves the client unusable: stop with its message, commit nothing more.
                if error.isFatal { throw DetectorServiceError.fatalKafka("\(client) consumer: \(error)") }
                logger.warning("kafka: \(error)")
            case .message, .partitionEOF:
                break
            }
        }
        return assigned
    }
}
