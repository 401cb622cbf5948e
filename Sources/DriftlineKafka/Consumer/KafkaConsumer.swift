/// A consumer in a consumer group. Not thread-safe by design: one owner polls it, and rebalance
/// handling (including commit-on-revoke) happens inside that owner's `poll` calls.
///
/// Offsets are never committed automatically. Mark what you processed with `storeOffset`, then
/// `commit()`; on revocation or `close()`, stored offsets are committed before partitions move.
public final class KafkaConsumer {
    public let configuration: KafkaConsumerConfiguration
    private let consumer: RdKafkaConsumer

    public init(configuration: KafkaConsumerConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        consumer = try RdKafkaConsumer(configuration: configuration)
    }

    /// Called on the polling thread when partitions are revoked, before their stored offsets are
    /// committed: the place to flush per-partition work and `storeOffset` what it covered.
    public var onRevoke: (([TopicPartition]) -> Void)? {
        get { consumer.state.revocationHandler }
        set { consumer.state.revocationHandler = newValue }
    }

    /// Reads exactly these partitions from these offsets, outside any group rebalancing (for
    /// checking what a topic already holds). Use instead of `subscribe`, not with it.
    public func assign(_ offsets: [TopicPartitionOffset]) throws(KafkaError) {
        try consumer.assign(offsets)
    }

    public func subscribe(topics: [String]) throws(KafkaError) {
        try consumer.subscribe(topics)
    }

    /// Waits at most `timeout` for work, then returns everything that happened, in order: up to
    /// `maxMessages` messages (copied out) and any rebalance, partition-end and error events.
    public func poll(maxMessages: Int = 1, timeout: Duration) -> [ConsumerEvent] {
        var events: [ConsumerEvent] = []
        consumer.consumeBatch(maxMessages: maxMessages, timeout: timeout,
                              onMessage: { events.append(.message($0.copy())) },
                              onEvent: { events.append($0) })
        return events
    }

    /// The throughput path: hands each message to `body` without copying its bytes and returns the
    /// other events in order. The view is only valid inside `body`.
    public func consumeBatch(
        maxMessages: Int, timeout: Duration, _ body: (KafkaMessageView) throws -> Void
    ) rethrows -> [ConsumerEvent] {
        var events: [ConsumerEvent] = []
        try consumer.consumeBatch(maxMessages: maxMessages, timeout: timeout, onMessage: body, onEvent: { events.append($0) })
        return events
    }

    /// Wakes sent to librdkafka's fetchers after full batches (see `RdKafkaFetchWaker`).
    var fetchWakesSent: Int { consumer.fetchWaker.wakesSent }

    /// Marks `message` processed: the next commit (or a revocation) covers it.
    public func storeOffset(_ message: KafkaMessage) throws(KafkaError) {
        try consumer.storeOffsets([message.nextOffset])
    }

    /// Marks positions processed; each offset is the next one to consume.
    public func storeOffsets(_ offsets: [TopicPartitionOffset]) throws(KafkaError) {
        try consumer.storeOffsets(offsets)
    }

    /// Commits the stored offsets and waits for the broker. Nothing stored is not an error.
    public func commit() throws(KafkaError) { try consumer.commit(nil, asynchronously: false) }

    /// Commits exactly these offsets (each the next offset to consume) and waits.
    public func commit(_ offsets: [TopicPartitionOffset]) throws(KafkaError) {
        try consumer.commit(offsets, asynchronously: false)
    }

    /// Starts committing the stored offsets; a failure arrives later as an `.error` event.
    public func commitAsync() throws(KafkaError) { try consumer.commit(nil, asynchronously: true) }

    /// The group's committed offsets; `KafkaOffset.invalid` where none exists.
    public func committed(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) throws(KafkaError) -> [TopicPartitionOffset] {
        try consumer.committed(partitions, timeout: timeout)
    }

    /// The next offset this consumer will read per partition (`KafkaOffset.invalid` before the first fetch).
    public func position(_ partitions: [TopicPartition]) throws(KafkaError) -> [TopicPartitionOffset] {
        try consumer.position(partitions)
    }

    public func assignment() throws(KafkaError) -> [TopicPartition] { try consumer.assignment() }

    /// Stops fetching these partitions (backpressure) without leaving the group.
    public func pause(_ partitions: [TopicPartition]) throws(KafkaError) { try consumer.pause(partitions) }
    public func resume(_ partitions: [TopicPartition]) throws(KafkaError) { try consumer.resume(partitions) }

    /// Moves the read position of assigned partitions.
    public func seek(_ offsets: [TopicPartitionOffset], timeout: Duration = .seconds(10)) throws(KafkaError) {
        try consumer.seek(offsets, timeout: timeout)
    }

    public func watermarks(_ partition: TopicPartition, timeout: Duration = .seconds(10)) throws(KafkaError) -> Watermarks {
        try consumer.watermarks(partition, timeout: timeout)
    }

    /// For `KafkaProducer.sendOffsetsToTransaction`.
    public func groupMetadata() throws(KafkaError) -> ConsumerGroupMetadata {
        guard let metadata = consumer.groupMetadata() else {
            throw KafkaError(code: -191, name: "_STATE", message: "consumer has no group metadata", operation: "group metadata")
        }
        return metadata
    }

    /// Leaves the group, committing stored offsets of the partitions it gives up. Idempotent.
    public func close() throws(KafkaError) { try consumer.close() }
}
