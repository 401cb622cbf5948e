import DriftlineConfiguration
/// Settings every Driftline Kafka client shares: where the brokers are, who we are, and how we
/// authenticate. Anything librdkafka understands can still be passed through `properties`.
public struct KafkaClientConfiguration: Sendable, Equatable {
    /// `host:port` pairs of bootstrap brokers.
    public var brokers: [String]
    public var clientID: String
    /// Security settings (`security.protocol`, `sasl.*`, `ssl.*`), passed to librdkafka unchanged.
    public var security: [String: String]
    /// Escape hatch: any librdkafka property. Applied last, so it overrides what the typed fields set.
    public var properties: [String: String]
    /// Severity at and above which librdkafka's own log lines are forwarded to swift-log.
    public var logLevel: KafkaLogLevel

    public init(
        brokers: [String],
        clientID: String = "driftline",
        security: [String: String] = [:],
        properties: [String: String] = [:],
        logLevel: KafkaLogLevel = .warning
    ) {
        self.brokers = brokers
        self.clientID = clientID
        self.security = security
        self.properties = properties
        self.logLevel = logLevel
    }

    /// Checks what librdkafka would only report later, or not at all, as a hang.
    public func validate() throws(KafkaConfigurationError) {
        if brokers.isEmpty {
            throw .invalid(key: "brokers", reason: "at least one broker (host:port) is required")
        }
        for broker in brokers {
            guard HostPort(broker)?.isConnectable == true else {
                throw .invalid(key: "brokers", reason: "'\(broker)' is not host:port with a port in 1...65535")
            }
        }
        if clientID.isEmpty {
            throw .invalid(key: "client.id", reason: "must not be empty")
        }
        for key in security.keys where !Self.isSecurityKey(key) {
            throw .invalid(key: key, reason: "not a security setting (expected security.protocol, sasl.* or ssl.*); use properties for other librdkafka settings")
        }
    }

    static func isSecurityKey(_ key: String) -> Bool {
        key == "security.protocol" || key.hasPrefix("sasl.") || key.hasPrefix("ssl.")
    }

    /// The librdkafka properties for a client: shared ones, then the role's, then `properties`, so the
    /// escape hatch always wins.
    func librdkafkaProperties(_ roleSpecific: [(String, String)] = []) -> [(String, String)] {
        var result: [(String, String)] = [
            ("bootstrap.servers", brokers.joined(separator: ",")),
            ("client.id", clientID),
            ("log_level", String(logLevel.syslogLevel)),
        ]
        result += security.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        result += roleSpecific
        result += properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return result
    }
}

/// librdkafka speaks syslog levels; this names the ones worth choosing between.
public enum KafkaLogLevel: String, Sendable, CaseIterable {
    case debug, info, notice, warning, error, critical

    var syslogLevel: Int32 {
        switch self {
        case .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}

/// Where a consumer starts when its group has no committed offset for a partition.
public enum OffsetReset: String, Sendable {
    case earliest, latest, error
}

/// Which messages of transactional producers a consumer sees.
public enum IsolationLevel: String, Sendable {
    case readCommitted = "read_committed"
    case readUncommitted = "read_uncommitted"
}

public struct KafkaConsumerConfiguration: Sendable, Equatable {
    public var client: KafkaClientConfiguration
    public var groupID: String
    public var offsetReset: OffsetReset
    public var isolationLevel: IsolationLevel
    /// On revocation, commit the offsets stored with `storeOffset` before the partitions go away,
    /// so the next owner starts exactly after what this consumer processed.
    public var commitOnRevoke: Bool
    /// Report reaching the end of a partition as an event (useful for draining a topic).
    public var reportPartitionEOF: Bool
    public var sessionTimeoutMilliseconds: Int
    /// Messages librdkafka prefetches per partition; the default favours throughput.
    public var queuedMinMessages: Int
    /// How long a fetch waits on the broker for more data; short keeps latency low on quiet topics.
    public var fetchWaitMaxMilliseconds: Int

    public init(
        client: KafkaClientConfiguration,
        groupID: String,
        offsetReset: OffsetReset = .earliest,
        isolationLevel: IsolationLevel = .readCommitted,
        commitOnRevoke: Bool = true,
        reportPartitionEOF: Bool = false,
        sessionTimeoutMilliseconds: Int = 10_000,
        queuedMinMessages: Int = 100_000,
        fetchWaitMaxMilliseconds: Int = 10
    ) {
        self.client = client
        self.groupID = groupID
        self.offsetReset = offsetReset
        self.isolationLevel = isolationLevel
        self.commitOnRevoke = commitOnRevoke
        self.reportPartitionEOF = reportPartitionEOF
        self.sessionTimeoutMilliseconds = sessionTimeoutMilliseconds
        self.queuedMinMessages = queuedMinMessages
        self.fetchWaitMaxMilliseconds = fetchWaitMaxMilliseconds
    }

    public func validate() throws(KafkaConfigurationError) {
        try client.validate()
        if groupID.isEmpty {
            throw .invalid(key: "group.id", reason: "a consumer group id is required")
        }
        if sessionTimeoutMilliseconds < 1 {
            throw .invalid(key: "session.timeout.ms", reason: "must be positive")
        }
        if queuedMinMessages < 1 {
            throw .invalid(key: "queued.min.messages", reason: "must be positive")
        }
        if fetchWaitMaxMilliseconds < 0 {
            throw .invalid(key: "fetch.wait.max.ms", reason: "must not be negative")
        }
    }

    var librdkafkaProperties: [(String, String)] {
        client.librdkafkaProperties([
            ("group.id", groupID),
            ("auto.offset.reset", offsetReset.rawValue),
            ("isolation.level", isolationLevel.rawValue),
            // Offsets are committed by the application after its outputs are durable, never behind its back.
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("enable.partition.eof", reportPartitionEOF ? "true" : "false"),
            ("session.timeout.ms", String(sessionTimeoutMilliseconds)),
            ("queued.min.messages", String(queuedMinMessages)),
            ("fetch.wait.max.ms", String(fetchWaitMaxMilliseconds)),
        ])
    }
}

public enum CompressionCodec: String, Sendable {
    case none, gzip, snappy, lz4, zstd
}

public struct KafkaProducerConfiguration: Sendable, Equatable {
    public var client: KafkaClientConfiguration
    /// Exactly-once per partition from this producer (no duplicates on retry). On by default.
    public var idempotent: Bool
    /// Set to use transactions; requires `idempotent`.
    public var transactionalID: String?
    /// How long a message may wait for delivery before it is reported as failed.
    public var messageTimeoutMilliseconds: Int
    public var lingerMilliseconds: Int
    public var compression: CompressionCodec

    public init(
        client: KafkaClientConfiguration,
        idempotent: Bool = true,
        transactionalID: String? = nil,
        messageTimeoutMilliseconds: Int = 30_000,
        lingerMilliseconds: Int = 5,
        compression: CompressionCodec = .none
    ) {
        self.client = client
        self.idempotent = idempotent
        self.transactionalID = transactionalID
        self.messageTimeoutMilliseconds = messageTimeoutMilliseconds
        self.lingerMilliseconds = lingerMilliseconds
        self.compression = compression
    }

    public func validate() throws(KafkaConfigurationError) {
        try client.validate()
        if let id = transactionalID {
            if id.isEmpty { throw .invalid(key: "transactional.id", reason: "must not be empty when set") }
            if !idempotent { throw .invalid(key: "transactional.id", reason: "transactions need an idempotent producer") }
        }
        if messageTimeoutMilliseconds < 1 {
            throw .invalid(key: "message.timeout.ms", reason: "must be positive")
        }
        if lingerMilliseconds < 0 {
            throw .invalid(key: "linger.ms", reason: "must not be negative")
        }
    }

    var librdkafkaProperties: [(String, String)] {
        var roleSpecific: [(String, String)] = [
            ("enable.idempotence", idempotent ? "true" : "false"),
            ("message.timeout.ms", String(messageTimeoutMilliseconds)),
            ("linger.ms", String(lingerMilliseconds)),
            ("compression.codec", compression.rawValue),
        ]
        if let transactionalID { roleSpecific.append(("transactional.id", transactionalID)) }
        return client.librdkafkaProperties(roleSpecific)
    }
}
