import DriftlineConfiguration
import DriftlineExecutor

/// `executor.yaml`: where commands come from, where status goes, the target databases, the
/// metadata store, HTTP, and the copy's knobs.
///
/// ```yaml
/// kafka: {brokers: [127.0.0.1:9092], groupId: driftline-executor}
/// topics: {commands: driftline.repartition-commands, status: driftline.repartition-status}
/// targets: {postgres: "postgres://app@db:5432/app", sqlite: /var/lib/app/app.sqlite}
/// metadata: {store: driftline-metadata.sqlite}
/// http: {listen: 127.0.0.1:9465}
/// copy: {batchRows: 50000, throttleRowsPerSecond: 0, lockTimeout: 50ms, swapAttempts: 40, lease: 30s, capture: trigger}
/// ```
public struct ExecutorConfiguration: Equatable, Sendable {
    public var kafka = KafkaSettings(clientID: "driftline-executor", groupID: "driftline-executor")
    public var commandsTopic = "driftline.repartition-commands"
    public var statusTopic = "driftline.repartition-status"
    /// Store name (`postgres`, `sqlite`) → connection URL.
    public var targets: [String: String] = [:]
    public var metadataStore = "driftline-metadata.sqlite"
    public var httpListen = HostPort(host: "127.0.0.1", port: 9465)
    public var workflow = RepartitionWorkflow.Settings()
    public var leaseSeconds = 30
    /// How PostgreSQL targets capture writes during a copy (`trigger` or `logical`).
    public var capture = ChangeCapture.trigger

    public init() {}

    public static func load(path: String) throws(ConfigurationError) -> ExecutorConfiguration {
        try parse(try ConfigReader.read(path: path))
    }

    public static func parse(_ yaml: String) throws(ConfigurationError) -> ExecutorConfiguration {
        let reader = try ConfigReader.document(yaml)
        try reader.check(allowed: ["kafka", "topics", "targets", "metadata", "http", "copy"])
        var configuration = ExecutorConfiguration()
        if let kafka = try reader.mapping("kafka") { try configuration.kafka.read(kafka) }
        if let topics = try reader.mapping("topics") {
            try topics.check(allowed: ["commands", "status"])
            if let value = try topics.string("commands") { configuration.commandsTopic = value }
            if let value = try topics.string("status") { configuration.statusTopic = value }
            guard configuration.commandsTopic != configuration.statusTopic else {
                throw ConfigurationError(key: topics.path("status"), reason: "the status topic must differ from the commands topic")
            }
        }
        guard let targets = try reader.mapping("targets") else {
            throw ConfigurationError(key: "targets", reason: "missing: give at least one target database, e.g. targets: {postgres: postgres://user@host:5432/db}")
        }
        try targets.check(allowed: ["postgres", "sqlite"])
        if let value = try targets.string("postgres") {
            do { _ = try PostgresURL(value) } catch { throw ConfigurationError(key: targets.path("postgres"), reason: error.reason) }
            configuration.targets["postgres"] = value
        }
        if let value = try targets.string("sqlite") {
            guard !value.hasPrefix("postgres://"), !value.hasPrefix("postgresql://") else {
                throw ConfigurationError(key: targets.path("sqlite"), reason: "a SQLite target is a file path, not a PostgreSQL URL")
            }
            configuration.targets["sqlite"] = value
        }
        guard !configuration.targets.isEmpty else { throw ConfigurationError(key: "targets", reason: "no target database given") }
        if let metadata = try reader.mapping("metadata") {
            try metadata.check(allowed: ["store"])
            if let value = try metadata.string("store") { configuration.metadataStore = value }
        }
        if let http = try reader.mapping("http") {
            try http.check(allowed: ["listen"])
            if let value = try http.hostPort("listen") { configuration.httpListen = value }
        }
        if let copy = try reader.mapping("copy") {
            try copy.check(allowed: ["batchRows", "throttleRowsPerSecond", "lockTimeout", "swapAttempts", "lease", "capture"])
            if let value = try copy.integer("batchRows") {
                guard (1...1_000_000).contains(value) else { throw ConfigurationError(key: copy.path("batchRows"), reason: "must be in 1...1000000") }
                configuration.workflow.batchRows = value
            }
            if let value = try copy.number("throttleRowsPerSecond") {
                guard value >= 0 else { throw ConfigurationError(key: copy.path("throttleRowsPerSecond"), reason: "must not be negative (0: no limit)") }
                configuration.workflow.throttleRowsPerSecond = value > 0 ? value : nil
            }
            if let value = try copy.duration("lockTimeout") {
                guard (1...10_000).contains(value) else { throw ConfigurationError(key: copy.path("lockTimeout"), reason: "must be between 1ms and 10s") }
                configuration.workflow.lockTimeoutMilliseconds = Int(value)
            }
            if let value = try copy.integer("swapAttempts") {
                guard (1...10_000).contains(value) else { throw ConfigurationError(key: copy.path("swapAttempts"), reason: "must be in 1...10000") }
                configuration.workflow.swapAttempts = value
            }
            if let value = try copy.string("capture") {
                guard let capture = ChangeCapture(rawValue: value) else {
                    throw ConfigurationError(key: copy.path("capture"), reason: "must be trigger or logical (logical needs wal_level = logical; see README, \"Capture\")")
                }
                configuration.capture = capture
            }
            if let value = try copy.duration("lease") {
                guard value >= 3000 else { throw ConfigurationError(key: copy.path("lease"), reason: "must be at least 3s") }
                configuration.leaseSeconds = Int(value / 1000)
            }
        }
        return configuration
    }
}
