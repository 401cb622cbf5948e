/// A configuration the client refuses before talking to any broker.
public enum KafkaConfigurationError: Error, Equatable, CustomStringConvertible {
    /// A typed field or librdkafka property has a value that cannot work.
    case invalid(key: String, reason: String)
    /// librdkafka does not know the property at all (often a typo).
    case unknownProperty(key: String, reason: String)

    public var description: String {
        switch self {
        case let .invalid(key, reason): "invalid Kafka configuration '\(key)': \(reason)"
        case let .unknownProperty(key, reason): "unknown Kafka configuration property '\(key)': \(reason)"
        }
    }
}

/// An error reported by librdkafka or by a broker, with librdkafka's code and flags kept so callers
/// can decide whether to retry, abort a transaction, or give up.
public struct KafkaError: Error, Hashable, CustomStringConvertible, Sendable {
    /// librdkafka's `rd_kafka_resp_err_t` value (negative: local, positive: broker).
    public var code: Int32
    /// librdkafka's symbolic name, e.g. `_MSG_TIMED_OUT` or `UNKNOWN_TOPIC_OR_PART`.
    public var name: String
    public var message: String
    /// The operation that failed, in words.
    public var operation: String
    public var isFatal: Bool
    public var isRetriable: Bool
    /// A transactional operation failed in a way that needs `abortTransaction()` before continuing.
    public var transactionRequiresAbort: Bool

    public init(
        code: Int32, name: String, message: String, operation: String,
        isFatal: Bool = false, isRetriable: Bool = false, transactionRequiresAbort: Bool = false
    ) {
        self.code = code
        self.name = name
        self.message = message
        self.operation = operation
        self.isFatal = isFatal
        self.isRetriable = isRetriable
        self.transactionRequiresAbort = transactionRequiresAbort
    }

    public var description: String {
        var flags: [String] = []
        if isFatal { flags.append("fatal") }
        if isRetriable { flags.append("retriable") }
        if transactionRequiresAbort { flags.append("transaction must be aborted") }
        let suffix = flags.isEmpty ? "" : " [\(flags.joined(separator: ", "))]"
        return "\(operation) failed: \(message) (\(name))\(suffix)"
    }
}

extension KafkaError {
    /// Codes callers commonly branch on (values of librdkafka's `rd_kafka_resp_err_t`).
    public enum Code {
        public static let messageTimedOut: Int32 = -192
        public static let timedOut: Int32 = -185
        public static let transport: Int32 = -195
        public static let allBrokersDown: Int32 = -187
        public static let noOffset: Int32 = -168
        public static let unknownTopicOrPartition: Int32 = 3
        public static let unsupportedVersion: Int32 = 35
        public static let invalidRequest: Int32 = 42
    }
}
