import CRdKafka
import Synchronization

/// A per-message delivery callback, kept alive by a retained pointer librdkafka carries with the
/// message until its delivery report.
final class DeliveryHandlerBox {
    let handler: @Sendable (Result<DeliveryReport, KafkaError>) -> Void
    init(_ handler: @escaping @Sendable (Result<DeliveryReport, KafkaError>) -> Void) { self.handler = handler }
}

/// Delivery outcomes for messages sent without their own handler, and client-level errors.
final class ProducerCallbackState: Sendable {
    let delivered = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let lastFailure = Mutex<KafkaError?>(nil)
    let clientErrors = Mutex<[KafkaError]>([])
}

/// The pointer-level half of `KafkaProducer`. librdkafka's producer calls are thread-safe, so this
/// type is shared across threads; topic handles are cached under a lock.
final class RdKafkaProducer: @unchecked Sendable {
    private let client: RdKafkaClient
    let state: ProducerCallbackState
    private let topics = Mutex<[String: OpaquePointer]>([:])

    init(configuration: KafkaProducerConfiguration) throws(KafkaConfigurationError) {
        let state = ProducerCallbackState()
        let callbacks = RdKafkaCallbacks(
            onDelivery: { message in Self.delivered(message, state) },
            onError: { error in state.clientErrors.withLock { $0.append(error) } }
        )
        client = try RdKafkaClient(role: .producer, properties: configuration.librdkafkaProperties, callbacks: callbacks)
        self.state = state
    }

    deinit {
        topics.withLock { handles in handles.values.forEach { rd_kafka_topic_destroy($0) } }
    }

    private static func delivered(_ message: UnsafePointer<rd_kafka_message_t>, _ state: ProducerCallbackState) {
        let m = message.pointee
        let result: Result<DeliveryReport, KafkaError>
        if m.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            state.delivered.add(1, ordering: .relaxed)
            result = .success(DeliveryReport(topic: String(cString: rd_kafka_topic_name(m.rkt)), partition: m.partition, offset: m.offset))
        } else {
            var error = KafkaError(code: m.err, operation: "delivery to \(String(cString: rd_kafka_topic_name(m.rkt)))")
            if let text = rd_kafka_message_errstr(message) { error.message = String(cString: text) }
            state.failed.add(1, ordering: .relaxed)
            state.lastFailure.withLock { $0 = error }
            result = .failure(error)
        }
        if let opaque = m._private {
            Unmanaged<DeliveryHandlerBox>.fromOpaque(opaque).takeRetainedValue().handler(result)
        }
    }

    private func topicHandle(_ name: String) -> OpaquePointer {
        topics.withLock { handles in
            if let handle = handles[name] { return handle }
            let handle = rd_kafka_topic_new(client.handle, name, nil)!
            handles[name] = handle
            return handle
        }
    }

    /// Enqueues one message; blocks while librdkafka's queue is full. librdkafka copies the bytes.
    func produce(_ record: ProducerRecord, handler: DeliveryHandlerBox?) throws(KafkaError) {
        let topic = topicHandle(record.topic)
        let headers = Self.makeHeaders(record.headers)
        let opaque = handler.map { Unmanaged.passRetained($0).toOpaque() }
        let error: OpaquePointer? = withBytes(record.key) { key, keyLength in
            withBytes(record.value) { value, valueLength in
                withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 8) { vus in
                    var count = 0
                    func add(_ type: rd_kafka_vtype_t, _ set: (inout rd_kafka_vu_t) -> Void) {
                        var vu = rd_kafka_vu_t()
                        vu.vtype = type
                        set(&vu)
                        vus[count] = vu
                        count += 1
                    }
                    add(RD_KAFKA_VTYPE_RKT) { $0.u.rkt = topic }
                    add(RD_KAFKA_VTYPE_MSGFLAGS) { $0.u.i = RD_KAFKA_MSG_F_COPY | RD_KAFKA_MSG_F_BLOCK }
                    if let partition = record.partition { add(RD_KAFKA_VTYPE_PARTITION) { $0.u.i32 = partition } }
                    if let key { add(RD_KAFKA_VTYPE_KEY) { $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: key); $0.u.mem.size = keyLength } }
                    if let value { add(RD_KAFKA_VTYPE_VALUE) { $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: value); $0.u.mem.size = valueLength } }
                    if let headers { add(RD_KAFKA_VTYPE_HEADERS) { $0.u.headers = headers } }
                    if let timestamp = record.timestampMilliseconds { add(RD_KAFKA_VTYPE_TIMESTAMP) { $0.u.i64 = timestamp } }
                    if let opaque { add(RD_KAFKA_VTYPE_OPAQUE) { $0.u.ptr = opaque } }
                    return rd_kafka_produceva(client.handle, vus.baseAddress, count)
                }
            }
        }
        if let error {
            // On failure nothing was handed over: the headers and the handler are still ours.
            if let headers { rd_kafka_headers_destroy(headers) }
            if let opaque { Unmanaged<DeliveryHandlerBox>.fromOpaque(opaque).release() }
            throw KafkaError(consuming: error, operation: "produce to \(record.topic)")
        }
    }

    private static func makeHeaders(_ headers: [KafkaHeader]) -> OpaquePointer? {
        guard !headers.isEmpty else { return nil }
        let list = rd_kafka_headers_new(headers.count)!
        for header in headers {
            withBytes(header.value) { bytes, length in
                _ = rd_kafka_header_add(list, header.name, -1, bytes, length)
            }
        }
        return list
    }

    func poll(timeout: Duration) { client.poll(timeout: timeout) }

    var queuedMessages: Int { Int(rd_kafka_outq_len(client.handle)) }

    func flush(timeout: Duration) throws(KafkaError) {
        let code = rd_kafka_flush(client.handle, timeout.milliseconds)
        if code == RD_KAFKA_RESP_ERR__TIMED_OUT {
            var error = KafkaError(code: code, operation: "flush")
            error.message = "\(queuedMessages) messages or requests still undelivered after \(timeout)"
            throw error
        }
        try KafkaError.check(code, "flush")
    }

    func initTransactions(timeout: Duration) throws(KafkaError) {
        try KafkaError.check(rd_kafka_init_transactions(client.handle, timeout.milliseconds), "init transactions")
    }

    func beginTransaction() throws(KafkaError) {
        try KafkaError.check(rd_kafka_begin_transaction(client.handle), "begin transaction")
    }

    func sendOffsetsToTransaction(_ offsets: [TopicPartitionOffset], group: ConsumerGroupMetadata, timeout: Duration) throws(KafkaError) {
        let list = RdKafkaTopicPartitionList(offsets)
        try KafkaError.check(
            rd_kafka_send_offsets_to_transaction(client.handle, list.pointer, group.pointer, timeout.milliseconds),
            "send offsets to transaction"
        )
    }

    func commitTransaction(timeout: Duration) throws(KafkaError) {
        try KafkaError.check(rd_kafka_commit_transaction(client.handle, timeout.milliseconds), "commit transaction")
    }

    func abortTransaction(timeout: Duration) throws(KafkaError) {
        try KafkaError.check(rd_kafka_abort_transaction(client.handle, timeout.milliseconds), "abort transaction")
    }

    func metadata(timeout: Duration) throws(KafkaError) -> ClusterMetadata { try client.metadata(timeout: timeout) }
    func watermarks(_ partition: TopicPartition, timeout: Duration) throws(KafkaError) -> Watermarks {
        try client.watermarks(partition, timeout: timeout)
    }
}

/// Calls `body` with a pointer to the bytes (NULL for `nil`) and their count.
func withBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawPointer?, Int) throws -> R) rethrows -> R {
    guard let bytes else { return try body(nil, 0) }
    return try bytes.withUnsafeBytes { try body($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), $0.count) }
}
