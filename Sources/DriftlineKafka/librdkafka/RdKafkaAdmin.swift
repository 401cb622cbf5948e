import CRdKafka

/// The pointer-level half of `KafkaAdmin`: admin requests on a producer-type handle.
final class RdKafkaAdmin: @unchecked Sendable {
    private let client: RdKafkaClient

    init(configuration: KafkaClientConfiguration) throws(KafkaConfigurationError) {
        client = try RdKafkaClient(
            role: .producer,
            properties: configuration.librdkafkaProperties(),
            callbacks: RdKafkaCallbacks(onError: { error in librdkafkaLogger.debug("admin client: \(error)") })
        )
    }

    func metadata(timeout: Duration) throws(KafkaError) -> ClusterMetadata { try client.metadata(timeout: timeout) }

    func watermarks(_ partition: TopicPartition, timeout: Duration) throws(KafkaError) -> Watermarks {
        try client.watermarks(partition, timeout: timeout)
    }

    func createTopics(_ topics: [NewTopic], ignoreExisting: Bool, timeout: Duration) throws(KafkaError) {
        var errorText = [CChar](repeating: 0, count: 512)
        var specs: [OpaquePointer?] = []
        defer { specs.withUnsafeMutableBufferPointer { rd_kafka_NewTopic_destroy_array($0.baseAddress, $0.count) } }
        for topic in topics {
            guard let spec = rd_kafka_NewTopic_new(topic.name, topic.partitions, topic.replicationFactor, &errorText, errorText.count) else {
                var error = KafkaError(code: RD_KAFKA_RESP_ERR__INVALID_ARG, operation: "create topic \(topic.name)")
                error.message = String(errorBuffer: errorText)
                throw error
            }
            specs.append(spec)
            for (key, value) in topic.config.sorted(by: { $0.key < $1.key }) {
                try KafkaError.check(rd_kafka_NewTopic_set_config(spec, key, value), "set config \(key) on topic \(topic.name)")
            }
        }
        let options = rd_kafka_AdminOptions_new(client.handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeout.milliseconds, &errorText, errorText.count)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, timeout.milliseconds, &errorText, errorText.count)
        let queue = rd_kafka_queue_new(client.handle)
        defer { rd_kafka_queue_destroy(queue) }
        specs.withUnsafeMutableBufferPointer { rd_kafka_CreateTopics(client.handle, $0.baseAddress, $0.count, options, queue) }

        // The request timeout bounds the answer; the extra second lets librdkafka report its own timeout.
        guard let event = rd_kafka_queue_poll(queue, timeout.milliseconds + 1000) else {
            throw KafkaError(code: RD_KAFKA_RESP_ERR__TIMED_OUT, operation: "create topics")
        }
        defer { rd_kafka_event_destroy(event) }
        let code = rd_kafka_event_error(event)
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            var error = KafkaError(code: code, operation: "create topics")
            if let text = rd_kafka_event_error_string(event) { error.message = String(cString: text) }
            throw error
        }
        var count = 0
        guard let result = rd_kafka_event_CreateTopics_result(event),
              let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return }
        for index in 0..<count {
            let topicResult = results[index]
            let code = rd_kafka_topic_result_error(topicResult)
            if code == RD_KAFKA_RESP_ERR_NO_ERROR || (ignoreExisting && code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) { continue }
            var error = KafkaError(code: code, operation: "create topic \(String(cString: rd_kafka_topic_result_name(topicResult)))")
            if let text = rd_kafka_topic_result_error_string(topicResult) { error.message = String(cString: text) }
            throw error
        }
    }
}
