import CRdKafka

/// Closures librdkafka reaches through the configuration's opaque pointer. They are fixed before the
/// handle exists and never change, and the owning `RdKafkaClient` keeps this object alive until after
/// `rd_kafka_destroy`, so the unretained pointer librdkafka holds is always valid.
final class RdKafkaCallbacks: @unchecked Sendable {
    typealias Delivery = (UnsafePointer<rd_kafka_message_t>) -> Void
    typealias Rebalance = (OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void

    let onDelivery: Delivery?
    let onRebalance: Rebalance?
    let onError: (KafkaError) -> Void

    init(onDelivery: Delivery? = nil, onRebalance: Rebalance? = nil, onError: @escaping (KafkaError) -> Void) {
        self.onDelivery = onDelivery
        self.onRebalance = onRebalance
        self.onError = onError
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> RdKafkaCallbacks? {
        opaque.map { Unmanaged<RdKafkaCallbacks>.fromOpaque($0).takeUnretainedValue() }
    }
}

private let errorTrampoline: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = { rk, code, reason, opaque in
    guard let callbacks = RdKafkaCallbacks.from(opaque) else { return }
    var error = KafkaError(code: rd_kafka_resp_err_t(rawValue: code), operation: "client")
    if let reason { error.message = String(cString: reason) }
    if error.code == RD_KAFKA_RESP_ERR__FATAL.rawValue, let rk {
        // The generic _FATAL hides the cause; librdkafka keeps the original error for us to fetch.
        var text = [CChar](repeating: 0, count: 512)
        let original = rd_kafka_fatal_error(rk, &text, text.count)
        error = KafkaError(code: original, operation: "client")
        error.message = String(errorBuffer: text)
        error.isFatal = true
    }
    callbacks.onError(error)
}

private let deliveryTrampoline: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = { _, message, opaque in
    guard let message, let callbacks = RdKafkaCallbacks.from(opaque) else { return }
    callbacks.onDelivery?(message)
}

private let rebalanceTrampoline: @convention(c) (OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?) -> Void = { rk, code, partitions, opaque in
    guard let rk, let partitions, let callbacks = RdKafkaCallbacks.from(opaque) else { return }
    callbacks.onRebalance?(rk, code, partitions)
}

/// Owns one `rd_kafka_t`. Every public client type holds one of these and never sees the pointer.
final class RdKafkaClient: @unchecked Sendable {
    enum Role { case producer, consumer }

    let handle: OpaquePointer
    private let callbacks: RdKafkaCallbacks

    /// `configure` registers role-specific callbacks on the configuration before the handle is created.
    init(
        role: Role, properties: [(String, String)], callbacks: RdKafkaCallbacks,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaConfigurationError) {
        let conf = try RdKafkaConfig.make(properties)
        configure(conf)
        rd_kafka_conf_set_log_cb(conf, rdKafkaLogCallback)
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(callbacks).toOpaque())
        rd_kafka_conf_set_error_cb(conf, errorTrampoline)
        if callbacks.onDelivery != nil { rd_kafka_conf_set_dr_msg_cb(conf, deliveryTrampoline) }
        if callbacks.onRebalance != nil { rd_kafka_conf_set_rebalance_cb(conf, rebalanceTrampoline) }
        var errorText = [CChar](repeating: 0, count: 512)
        let type = role == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        guard let handle = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)  // rd_kafka_new owns conf only when it succeeds
            throw .invalid(key: "configuration", reason: String(errorBuffer: errorText))
        }
        self.handle = handle
        self.callbacks = callbacks
    }

    deinit { rd_kafka_destroy(handle) }

    /// Serves queued callbacks (delivery reports, errors) for up to `timeout`.
    func poll(timeout: Duration) {
        rd_kafka_poll(handle, timeout.milliseconds)
    }

    func metadata(timeout: Duration) throws(KafkaError) -> ClusterMetadata {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        try KafkaError.check(rd_kafka_metadata(handle, 1, nil, &metadata, timeout.milliseconds), "metadata request")
        guard let metadata else { throw KafkaError(code: RD_KAFKA_RESP_ERR__FAIL, operation: "metadata request") }
        defer { rd_kafka_metadata_destroy(metadata) }
        let md = metadata.pointee
        let brokers = UnsafeBufferPointer(start: md.brokers, count: Int(md.broker_cnt)).map {
            ClusterMetadata.Broker(id: $0.id, host: String(cString: $0.host), port: Int($0.port))
        }
        let topics = UnsafeBufferPointer(start: md.topics, count: Int(md.topic_cnt)).map { topic in
            ClusterMetadata.Topic(
                name: String(cString: topic.topic),
                error: topic.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError(code: topic.err, operation: "topic metadata"),
                partitions: UnsafeBufferPointer(start: topic.partitions, count: Int(topic.partition_cnt)).map { p in
                    ClusterMetadata.Partition(
                        id: p.id,
                        leader: p.leader,
                        replicas: Array(UnsafeBufferPointer(start: p.replicas, count: Int(p.replica_cnt))),
                        inSyncReplicas: Array(UnsafeBufferPointer(start: p.isrs, count: Int(p.isr_cnt)))
                    )
                }.sorted { $0.id < $1.id }
            )
        }.sorted { $0.name < $1.name }
        return ClusterMetadata(
            brokers: brokers.sorted { $0.id < $1.id },
            topics: topics,
            originatingBrokerID: md.orig_broker_id
        )
    }

    func watermarks(_ partition: TopicPartition, timeout: Duration) throws(KafkaError) -> Watermarks {
        var low: Int64 = 0
        var high: Int64 = 0
        try KafkaError.check(
            rd_kafka_query_watermark_offsets(handle, partition.topic, partition.partition, &low, &high, timeout.milliseconds),
            "watermark query for \(partition)"
        )
        return Watermarks(low: low, high: high)
    }
}
