import CRdKafka
import Synchronization

/// State shared between a consumer and the rebalance/error callbacks librdkafka runs inside `poll`
/// (on the owner's thread) or, for some errors, on its own threads; hence the lock.
final class ConsumerCallbackState: @unchecked Sendable {
    let pendingEvents = Mutex<[ConsumerEvent]>([])
    /// Runs on the polling thread before revoked partitions are committed and released.
    var revocationHandler: (([TopicPartition]) -> Void)?
    let commitOnRevoke: Bool

    init(commitOnRevoke: Bool) { self.commitOnRevoke = commitOnRevoke }

    func append(_ event: ConsumerEvent) { pendingEvents.withLock { $0.append(event) } }
    func drain() -> [ConsumerEvent] { pendingEvents.withLock { events in defer { events.removeAll() }; return events } }
}

private let commitTrampoline: @convention(c) (OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?) -> Void = { _, code, _, opaque in
    // An empty commit is not a failure: nothing was stored since the last one.
    guard code != RD_KAFKA_RESP_ERR_NO_ERROR, code != RD_KAFKA_RESP_ERR__NO_OFFSET,
          let callbacks = RdKafkaCallbacks.from(opaque) else { return }
    callbacks.onError(KafkaError(code: code, operation: "asynchronous offset commit"))
}

/// The pointer-level half of `KafkaConsumer`: a high-level (group) consumer handle and its queue.
final class RdKafkaConsumer {
    private let client: RdKafkaClient
    private let queue: OpaquePointer
    let state: ConsumerCallbackState
    let fetchWaker: RdKafkaFetchWaker
    private var batch: [UnsafeMutablePointer<rd_kafka_message_t>?] = []
    private(set) var isClosed = false
    private var isSubscribed = false

    init(configuration: KafkaConsumerConfiguration) throws(KafkaConfigurationError) {
        let state = ConsumerCallbackState(commitOnRevoke: configuration.commitOnRevoke)
        let callbacks = RdKafkaCallbacks(
            onRebalance: { rk, code, list in Self.rebalance(rk, code, list, state) },
            onError: { state.append(.error($0)) }
        )
        var properties = configuration.librdkafkaProperties
        // librdkafka 2.2 and later back a full queue's fetchers off for this long (1 s by default)
        // instead of waiting for a wake-up; earlier versions do not know the property.
        if rd_kafka_version() >= 0x0202_00FF, !properties.contains(where: { $0.0 == "fetch.queue.backoff.ms" }) {
            properties.append(("fetch.queue.backoff.ms", "50"))
        }
        client = try RdKafkaClient(role: .consumer, properties: properties, callbacks: callbacks) { conf in
            rd_kafka_conf_set_offset_commit_cb(conf, commitTrampoline)
        }
        fetchWaker = RdKafkaFetchWaker(client: client)
        // Route the main queue (errors, rebalances) to the consumer queue so one poll serves everything.
        rd_kafka_poll_set_consumer(client.handle)
        queue = rd_kafka_queue_get_consumer(client.handle)
        self.state = state
    }

    deinit {
        if !isClosed { _ = try? close() }
        rd_kafka_queue_destroy(queue)
    }

    private static func rebalance(
        _ rk: OpaquePointer, _ code: rd_kafka_resp_err_t,
        _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>, _ state: ConsumerCallbackState
    ) {
        let partitions = RdKafkaTopicPartitionList.offsets(of: list).map(\.topicPartition)
        // NULL while the consumer is closing (seen with 2.0.2): then no protocol is active, treat as eager.
        let cooperative = rd_kafka_rebalance_protocol(rk).map { String(cString: $0) } == "COOPERATIVE"
        switch code {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            if cooperative {
                if let error = rd_kafka_incremental_assign(rk, list) { state.append(.error(KafkaError(consuming: error, operation: "incremental assign"))) }
            } else {
                let code = rd_kafka_assign(rk, list)
                if code != RD_KAFKA_RESP_ERR_NO_ERROR { state.append(.error(KafkaError(code: code, operation: "assign"))) }
            }
            state.append(.rebalance(.assigned(partitions)))
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            state.revocationHandler?(partitions)
            // A lost assignment already belongs to someone else; committing would be rejected or, worse, rewind them.
            if state.commitOnRevoke, rd_kafka_assignment_lost(rk) == 0 {
                // NULL commits the stored offsets; the revoked list itself carries no positions.
                let code = rd_kafka_commit(rk, nil, 0)
                if code != RD_KAFKA_RESP_ERR_NO_ERROR, code != RD_KAFKA_RESP_ERR__NO_OFFSET {
                    state.append(.error(KafkaError(code: code, operation: "commit on revoke")))
                }
            }
            if cooperative {
                if let error = rd_kafka_incremental_unassign(rk, list) { state.append(.error(KafkaError(consuming: error, operation: "incremental unassign"))) }
            } else {
                rd_kafka_assign(rk, nil)
            }
            state.append(.rebalance(.revoked(partitions)))
        default:
            rd_kafka_assign(rk, nil)
            state.append(.error(KafkaError(code: code, operation: "rebalance")))
        }
    }

    func assign(_ offsets: [TopicPartitionOffset]) throws(KafkaError) {
        let list = RdKafkaTopicPartitionList(offsets)
        try KafkaError.check(rd_kafka_assign(client.handle, list.pointer), "assign \(offsets)")
    }

    func subscribe(_ topics: [String]) throws(KafkaError) {
        let list = RdKafkaTopicPartitionList(subscription: topics)
        try KafkaError.check(rd_kafka_subscribe(client.handle, list.pointer), "subscribe to \(topics)")
        isSubscribed = true
    }

    /// Waits up to `timeout` for the first message, then takes up to `maxMessages` already queued.
    /// Messages go to `onMessage` without copying; every other event (rebalances, partition ends,
    /// errors) goes to `onEvent`, all in the order they happened.
    func consumeBatch(
        maxMessages: Int, timeout: Duration,
        onMessage: (KafkaMessageView) throws -> Void, onEvent: (ConsumerEvent) -> Void
    ) rethrows {
        precondition(maxMessages > 0, "maxMessages must be positive")
        if batch.count < maxMessages { batch = Array(repeating: nil, count: maxMessages) }
        // librdkafka's batch call waits for a *full* batch until the timeout. Wait for the first message
        // only, then take whatever else is already queued, so a poll returns as soon as there is work.
        let received = batch.withUnsafeMutableBufferPointer { buffer in
            let first = rd_kafka_consume_batch_queue(queue, timeout.milliseconds, buffer.baseAddress, 1)
            guard first == 1, maxMessages > 1 else { return first }
            let rest = rd_kafka_consume_batch_queue(queue, 0, buffer.baseAddress! + 1, maxMessages - 1)
            return 1 + max(0, rest)
        }
        // A full batch means more is queued: the application is behind, and the fetchers may have
        // stopped at the queue's limit (a batch of one says nothing).
        if maxMessages > 1 { fetchWaker.batchConsumed(full: Int(received) >= maxMessages) }
        // Rebalances and errors served during the call happened before the messages it returned.
        state.drain().forEach(onEvent)
        defer { state.drain().forEach(onEvent) }
        guard received > 0 else { return }
        let count = received
        defer {
            for index in 0..<count { rd_kafka_message_destroy(batch[index]) }
        }
        for index in 0..<count {
            let message = UnsafePointer(batch[index]!)
            switch message.pointee.err {
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                try onMessage(KafkaMessageView(message))
            case RD_KAFKA_RESP_ERR__PARTITION_EOF:
                let view = KafkaMessageView(message)
                onEvent(.partitionEOF(TopicPartitionOffset(topic: view.topic, partition: view.partition, offset: view.offset)))
            default:
                var error = KafkaError(code: message.pointee.err, operation: "consume")
                if let text = rd_kafka_message_errstr(message) { error.message = String(cString: text) }
                onEvent(.error(error))
            }
        }
    }

    func storeOffsets(_ offsets: [TopicPartitionOffset]) throws(KafkaError) {
        let list = RdKafkaTopicPartitionList(offsets)
        try KafkaError.check(rd_kafka_offsets_store(client.handle, list.pointer), "store offsets")
        if let error = list.firstError(operation: "store offset") { throw error }
    }

    /// Commits `offsets`, or everything stored when `nil`. An empty commit (`_NO_OFFSET`) is success.
    func commit(_ offsets: [TopicPartitionOffset]?, asynchronously: Bool) throws(KafkaError) {
        let async: Int32 = asynchronously ? 1 : 0
        guard let offsets else {
            let code = rd_kafka_commit(client.handle, nil, async)
            if code != RD_KAFKA_RESP_ERR__NO_OFFSET { try KafkaError.check(code, "offset commit") }
            return
        }
        let list = RdKafkaTopicPartitionList(offsets)
        try KafkaError.check(rd_kafka_commit(client.handle, list.pointer, async), "offset commit")
        if !asynchronously, let error = list.firstError(operation: "offset commit") { throw error }
    }

    func committed(_ partitions: [TopicPartition], timeout: Duration) throws(KafkaError) -> [TopicPartitionOffset] {
        let list = RdKafkaTopicPartitionList(partitions)
        try KafkaError.check(rd_kafka_committed(client.handle, list.pointer, timeout.milliseconds), "fetch committed offsets")
        if let error = list.firstError(operation: "fetch committed offset") { throw error }
        return list.offsets
    }

    func position(_ partitions: [TopicPartition]) throws(KafkaError) -> [TopicPartitionOffset] {
        let list = RdKafkaTopicPartitionList(partitions)
        try KafkaError.check(rd_kafka_position(client.handle, list.pointer), "read positions")
        return list.offsets
    }

    func assignment() throws(KafkaError) -> [TopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        try KafkaError.check(rd_kafka_assignment(client.handle, &list), "read assignment")
        guard let list else { return [] }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return RdKafkaTopicPartitionList.offsets(of: list).map(\.topicPartition)
    }

    func pause(_ partitions: [TopicPartition]) throws(KafkaError) {
        let list = RdKafkaTopicPartitionList(partitions)
        try KafkaError.check(rd_kafka_pause_partitions(client.handle, list.pointer), "pause")
        if let error = list.firstError(operation: "pause") { throw error }
    }

    func resume(_ partitions: [TopicPartition]) throws(KafkaError) {
        let list = RdKafkaTopicPartitionList(partitions)
        try KafkaError.check(rd_kafka_resume_partitions(client.handle, list.pointer), "resume")
        if let error = list.firstError(operation: "resume") { throw error }
    }

    func seek(_ offsets: [TopicPartitionOffset], timeout: Duration) throws(KafkaError) {
        let list = RdKafkaTopicPartitionList(offsets)
        try KafkaError.check(rd_kafka_seek_partitions(client.handle, list.pointer, timeout.milliseconds), "seek")
        if let error = list.firstError(operation: "seek") { throw error }
    }

    func groupMetadata() -> ConsumerGroupMetadata? {
        rd_kafka_consumer_group_metadata(client.handle).map(ConsumerGroupMetadata.init)
    }

    func watermarks(_ partition: TopicPartition, timeout: Duration) throws(KafkaError) -> Watermarks {
        try client.watermarks(partition, timeout: timeout)
    }

    /// Leaves the group: the final revocation (and its commit) runs here, on the caller's thread.
    func close() throws(KafkaError) {
        guard !isClosed else { return }
        isClosed = true
        fetchWaker.stop()
        if isSubscribed { leaveGroupBeforeClose() }
        try KafkaError.check(rd_kafka_consumer_close(client.handle), "consumer close")
    }

    /// librdkafka 2.0.2 aborts in `rd_kafka_cgrp_terminated` (`!rd_kafka_assignment_in_progress`)
    /// when the consumer closes while a rebalance is being served (seen in CI; upstream #4792). So
    /// the group is left first: unsubscribe, then serve the queue until the final revocation (with
    /// its commit) has run and nothing is assigned, bounded at 10 s; close only then. Messages
    /// fetched meanwhile are dropped unprocessed (their offsets were never stored).
    private func leaveGroupBeforeClose() {
        guard rd_kafka_unsubscribe(client.handle) == RD_KAFKA_RESP_ERR_NO_ERROR else { return }  // close still leaves the group
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let message = rd_kafka_consume_queue(queue, 50) { rd_kafka_message_destroy(message) }
            var assignment: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            guard rd_kafka_assignment(client.handle, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR, let assignment else { return }
            let assigned = assignment.pointee.cnt
            rd_kafka_topic_partition_list_destroy(assignment)
            if assigned == 0 {
                // The partitions' fetchers stop asynchronously after the unassign: one more serve.
                if let message = rd_kafka_consume_queue(queue, 100) { rd_kafka_message_destroy(message) }
                break
            }
        }
        // The revocation was served above; what it reported has no reader any more.
        _ = state.drain()
    }
}

/// The consumer group's identity and generation, handed to a transactional producer so the offsets it
/// commits inside a transaction are fenced against stale group members.
public final class ConsumerGroupMetadata: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
    deinit { rd_kafka_consumer_group_metadata_destroy(pointer) }
}

/// A consumed message borrowed from librdkafka. Valid only inside the closure it was passed to;
/// call `copy()` to keep it.
public struct KafkaMessageView {
    private let message: UnsafePointer<rd_kafka_message_t>

    init(_ message: UnsafePointer<rd_kafka_message_t>) { self.message = message }

    public var topic: String { String(cString: rd_kafka_topic_name(message.pointee.rkt)) }
    /// Identifies the message's topic without building its name (stable while the consumer
    /// lives): per-record dispatch on the hot path can key on this and resolve `topic` once.
    public var topicIdentity: UInt { UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(message.pointee.rkt))) }
    public var partition: Int32 { message.pointee.partition }
    public var offset: Int64 { message.pointee.offset }

    public var key: UnsafeRawBufferPointer? {
        message.pointee.key.map { UnsafeRawBufferPointer(start: $0, count: message.pointee.key_len) }
    }

    public var value: UnsafeRawBufferPointer? {
        message.pointee.payload.map { UnsafeRawBufferPointer(start: $0, count: message.pointee.len) }
    }

    public var timestamp: KafkaTimestamp {
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let ms = rd_kafka_message_timestamp(message, &type)
        switch type {
        case RD_KAFKA_TIMESTAMP_CREATE_TIME: return .createTime(ms)
        case RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME: return .logAppendTime(ms)
        default: return .notAvailable
        }
    }

    public var headers: [KafkaHeader] {
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else { return [] }
        var result: [KafkaHeader] = []
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(headers, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
            result.append(KafkaHeader(name.map { String(cString: $0) } ?? "", bytes))
            index += 1
        }
        return result
    }

    public func copy() -> KafkaMessage {
        KafkaMessage(
            topic: topic, partition: partition, offset: offset,
            key: key.map(Array.init), value: value.map(Array.init),
            headers: headers, timestamp: timestamp
        )
    }
}
