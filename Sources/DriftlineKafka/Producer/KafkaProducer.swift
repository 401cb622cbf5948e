import Foundation
import Synchronization

/// An idempotent (by default) producer, safe to share across threads. A background thread serves
/// delivery reports; `close()` flushes what is queued before it stops.
public final class KafkaProducer: Sendable {
    public let configuration: KafkaProducerConfiguration
    private let producer: RdKafkaProducer
    private let poller = PollerState()

    public init(configuration: KafkaProducerConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        let producer = try RdKafkaProducer(configuration: configuration)
        self.producer = producer
        let poller = self.poller
        let thread = Thread {
            while !poller.stopped.load(ordering: .acquiring) { producer.poll(timeout: .milliseconds(50)) }
            poller.done.signal()
        }
        thread.name = "driftline-producer-poll"
        thread.start()
    }

    /// A producer dropped without `close()` still tries to deliver what it queued, briefly.
    deinit {
        if !poller.stopped.load(ordering: .acquiring) { try? producer.flush(timeout: .seconds(5)) }
        stopPoller()
    }

    /// Enqueues `record`. Its delivery outcome is counted in `deliveryCounts`; a failure there means
    /// the message is lost unless you resend it. Blocks while librdkafka's queue is full.
    public func send(_ record: ProducerRecord) throws(KafkaError) {
        try producer.produce(record, handler: nil)
    }

    /// Enqueues `record` and calls `onDelivery` (on librdkafka's thread) with where it landed or why it failed.
    public func send(_ record: ProducerRecord, onDelivery: @escaping @Sendable (Result<DeliveryReport, KafkaError>) -> Void) throws(KafkaError) {
        try producer.produce(record, handler: DeliveryHandlerBox(onDelivery))
    }

    /// Sends `record` and waits for its delivery report.
    public func sendAndWait(_ record: ProducerRecord) async throws -> DeliveryReport {
        try await withCheckedThrowingContinuation { continuation in
            do {
                try send(record) { continuation.resume(with: $0) }
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// Delivered and failed messages so far, and the last failure, for messages sent without a handler.
    public var deliveryCounts: (delivered: Int, failed: Int, lastFailure: KafkaError?) {
        (producer.state.delivered.load(ordering: .relaxed), producer.state.failed.load(ordering: .relaxed),
         producer.state.lastFailure.withLock { $0 })
    }

    /// Client-level errors librdkafka reported since the last call (e.g. all brokers down).
    public func takeClientErrors() -> [KafkaError] {
        producer.state.clientErrors.withLock { errors in defer { errors.removeAll() }; return errors }
    }

    /// Messages and requests not yet acknowledged.
    public var queuedMessages: Int { producer.queuedMessages }

    /// Waits until every queued message is delivered or failed; throws `_TIMED_OUT` if some remain.
    public func flush(timeout: Duration = .seconds(30)) throws(KafkaError) {
        try producer.flush(timeout: timeout)
    }

    // MARK: Transactions (require `transactionalID`)

    /// Registers the transactional id with the cluster, fencing older producers using it. Call once.
    public func initTransactions(timeout: Duration = .seconds(30)) throws(KafkaError) {
        try producer.initTransactions(timeout: timeout)
    }

    public func beginTransaction() throws(KafkaError) { try producer.beginTransaction() }

    /// Commits a consumer group's offsets as part of the transaction: they become visible exactly when
    /// the transaction's messages do. Each offset is the next one to consume.
    public func sendOffsetsToTransaction(
        _ offsets: [TopicPartitionOffset], group: ConsumerGroupMetadata, timeout: Duration = .seconds(30)
    ) throws(KafkaError) {
        try producer.sendOffsetsToTransaction(offsets, group: group, timeout: timeout)
    }

    /// Flushes and commits. On an error with `transactionRequiresAbort`, call `abortTransaction`.
    public func commitTransaction(timeout: Duration = .seconds(30)) throws(KafkaError) {
        try producer.commitTransaction(timeout: timeout)
    }

    public func abortTransaction(timeout: Duration = .seconds(30)) throws(KafkaError) {
        try producer.abortTransaction(timeout: timeout)
    }

    public func metadata(timeout: Duration = .seconds(10)) throws(KafkaError) -> ClusterMetadata {
        try producer.metadata(timeout: timeout)
    }

    /// Flushes, then stops the delivery-report thread. The producer must not be used afterwards.
    public func close(timeout: Duration = .seconds(30)) throws(KafkaError) {
        defer { stopPoller() }
        try flush(timeout: timeout)
    }

    private func stopPoller() {
        if !poller.stopped.exchange(true, ordering: .acquiringAndReleasing) { poller.done.wait() }
    }
}

/// Lets `close()` stop the delivery-report thread and wait until it has.
private final class PollerState: Sendable {
    let stopped = Atomic<Bool>(false)
    let done = DispatchSemaphore(value: 0)
}
