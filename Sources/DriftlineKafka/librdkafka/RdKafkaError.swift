import DriftlineConfiguration
import CRdKafka

extension KafkaError {
    init(code: rd_kafka_resp_err_t, operation: String) {
        self.init(
            code: code.rawValue,
            name: String(cString: rd_kafka_err2name(code)),
            message: String(cString: rd_kafka_err2str(code)),
            operation: operation
        )
    }

    /// Takes ownership of an `rd_kafka_error_t` and destroys it.
    init(consuming error: OpaquePointer, operation: String) {
        defer { rd_kafka_error_destroy(error) }
        self.init(
            code: rd_kafka_error_code(error).rawValue,
            name: String(cString: rd_kafka_error_name(error)),
            message: String(cString: rd_kafka_error_string(error)),
            operation: operation,
            isFatal: rd_kafka_error_is_fatal(error) != 0,
            isRetriable: rd_kafka_error_is_retriable(error) != 0,
            transactionRequiresAbort: rd_kafka_error_txn_requires_abort(error) != 0
        )
    }

    /// Throws when `error` is non-NULL.
    static func check(_ error: OpaquePointer?, _ operation: @autoclosure () -> String) throws(KafkaError) {
        if let error { throw KafkaError(consuming: error, operation: operation()) }
    }

    static func check(_ code: rd_kafka_resp_err_t, _ operation: @autoclosure () -> String) throws(KafkaError) {
        if code != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(code: code, operation: operation()) }
    }
}

extension Duration {
    /// librdkafka timeouts are whole milliseconds in an `int`.
    var milliseconds: Int32 { Int32(clamping: max(0, wholeMilliseconds)) }
}

extension String {
    /// Text librdkafka wrote into an error buffer we passed it.
    init(errorBuffer buffer: [CChar]) {
        self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
