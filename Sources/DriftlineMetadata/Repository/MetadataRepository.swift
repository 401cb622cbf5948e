import Foundation

/// The kinds of metadata Driftline keeps per source or table.
public enum MetadataKind {
    /// Record per source: the detector aggregator's progress (last scored window, scorer snapshot, outbox).
    public static let detectorState = "detector_state"
    /// Log: each inferred schema version. Record `schema_current`: the latest version number.
    public static let schemaVersion = "schema_version"
    public static let schemaCurrent = "schema_current"
    /// Record: the predicted next schema version.
    public static let schemaPrediction = "schema_prediction"
    /// Log: partitioning strategies as they took effect.
    public static let partitioning = "partitioning"
    /// Record per table: the strategy in effect; its version is what a repartition command expects.
    public static let partitioningCurrent = "partitioning_current"
    /// Log per table: each planning run of the closed loop: the decision (repartition, keep, and why)
    /// and the command it sent, if any.
    public static let planDecision = "plan_decision"
    /// Record per table: the executor's checkpoint of the job in progress (absent: none).
    public static let repartitionJob = "repartition_job"
    /// Record per table, named by command id: the command completed (what the executor dedupes by).
    public static let repartitionDone = "repartition_done"
    /// Log: per-field, per-partition distribution statistics (thinned by retention).
    public static let statistics = "statistics"
    /// Log: drift events.
    public static let driftEvent = "drift_event"
    /// Log: each scored window's source score and field scores (the series forecasts read).
    public static let windowScore = "window_score"
    /// Log: each scored window's shape: records, bytes, field presence and type shares.
    public static let windowShape = "window_shape"
    /// Record per field: the alert state.
    public static let alertState = "alert_state"
    /// Record per reference: a binary-encoded window profile.
    public static let referenceProfile = "reference_profile"
}

public struct InferredField: Codable, Equatable, Sendable {
    public var path: String
    public var types: [String]
    public var required: Bool
    public init(path: String, types: [String], required: Bool) { self.path = path; self.types = types; self.required = required }
}

public struct SchemaVersion: Codable, Equatable, Sendable {
    public var version: Int
    public var fields: [InferredField]
    public var createdAt: Date
    /// The drift event that produced this version, if any.
    public var driftEventID: String?
    public init(version: Int, fields: [InferredField], createdAt: Date, driftEventID: String? = nil) {
        self.version = version; self.fields = fields; self.createdAt = createdAt; self.driftEventID = driftEventID
    }
}

public struct SchemaPrediction: Codable, Equatable, Sendable {
    public struct Change: Codable, Equatable, Sendable {
        public var path: String
        /// appear, vanish, change_type
        public var change: String
        public var expectedAt: Date
        public var confidence: Double
        public init(path: String, change: String, expectedAt: Date, confidence: Double) {
            self.path = path; self.change = change; self.expectedAt = expectedAt; self.confidence = confidence
        }
    }
    /// Records and bytes the source adds over the prediction's horizon (for the planner).
    public struct Growth: Codable, Equatable, Sendable {
        public var windows: Int
        public var records: Double
        public var recordsLower95: Double
        public var recordsUpper95: Double
        public var bytes: Double
        public init(windows: Int, records: Double, recordsLower95: Double, recordsUpper95: Double, bytes: Double) {
            self.windows = windows; self.records = records; self.recordsLower95 = recordsLower95; self.recordsUpper95 = recordsUpper95; self.bytes = bytes
        }
    }
    public var predictedVersion: Int
    public var changes: [Change]
    // Optional: predictions stored before these existed still decode.
    public var growth: Growth?
    public var historyWindows: Int?
    public var createdAt: Date?
    public init(predictedVersion: Int, changes: [Change], growth: Growth? = nil, historyWindows: Int? = nil, createdAt: Date? = nil) {
        self.predictedVersion = predictedVersion; self.changes = changes
        self.growth = growth; self.historyWindows = historyWindows; self.createdAt = createdAt
    }
}

public struct PartitionStrategyRecord: Codable, Equatable, Sendable {
    /// hash, range, list, composite
    public var kind: String
    public var columns: [String]
    public var parameters: [String: String]
    public var effectiveAt: Date
    public var commandID: String?
    /// Measured effect, e.g. median query time before/after, when known.
    public var measuredEffect: [String: Double]?
    public init(kind: String, columns: [String], parameters: [String: String], effectiveAt: Date, commandID: String?, measuredEffect: [String: Double]? = nil) {
        self.kind = kind; self.columns = columns; self.parameters = parameters; self.effectiveAt = effectiveAt
        self.commandID = commandID; self.measuredEffect = measuredEffect
    }
}

/// One planning run of the closed loop for a table (log `plan_decision`).
public struct PlanDecisionRecord: Codable, Equatable, Sendable {
    /// `repartition` (a command was sent), `keep`, `in_flight` (a command is still running), `failed`.
    public var decision: String
    public var reason: String
    /// What started the run: `schedule`, `drift_forecast`, `schema_change`.
    public var trigger: String
    /// The proposed layout's summary, and the fraction of the cost it saves over the horizon.
    public var strategy: String?
    public var improvement: Double?
    public var commandID: String?
    public var plannedAt: Date
    public init(decision: String, reason: String, trigger: String, strategy: String?, improvement: Double?, commandID: String?, plannedAt: Date) {
        self.decision = decision; self.reason = reason; self.trigger = trigger; self.strategy = strategy
        self.improvement = improvement; self.commandID = commandID; self.plannedAt = plannedAt
    }
}

public struct FieldStatistics: Codable, Equatable, Sendable {
    public var field: String
    public var partition: String
    public var quantiles: [Double]
    public var histogram: [Double]
    public var distinctEstimate: Double
    public var frequentValues: [String: Int64]
    public var bytes: Int64
    public init(field: String, partition: String, quantiles: [Double], histogram: [Double], distinctEstimate: Double, frequentValues: [String: Int64], bytes: Int64) {
        self.field = field; self.partition = partition; self.quantiles = quantiles; self.histogram = histogram
        self.distinctEstimate = distinctEstimate; self.frequentValues = frequentValues; self.bytes = bytes
    }
}

public struct DriftEventRecord: Codable, Equatable, Sendable {
    public var id: String
    public var field: String
    public var kind: String
    public var score: Double
    public var components: [String: Double]
    public var time: Date
    public init(id: String, field: String, kind: String, score: Double, components: [String: Double], time: Date) {
        self.id = id; self.field = field; self.kind = kind; self.score = score; self.components = components; self.time = time
    }
}

public struct WindowScoreRecord: Codable, Equatable, Sendable {
    public var windowStart: Date
    public var windowEnd: Date
    public var score: Double
    public var fields: [String: Double]
    public var records: Int64
    /// Every input partition reported (false: scored after the partial timeout).
    public var complete: Bool
    public init(windowStart: Date, windowEnd: Date, score: Double, fields: [String: Double], records: Int64, complete: Bool) {
        self.windowStart = windowStart; self.windowEnd = windowEnd; self.score = score; self.fields = fields
        self.records = records; self.complete = complete
    }
}

public struct WindowShapeRecord: Codable, Equatable, Sendable {
    public var windowStart: Date
    public var records: Int64
    /// Estimated from the detector's average record size.
    public var bytes: Int64
    /// Field → fraction of records it was present in.
    public var presence: [String: Double]
    /// Field → JSON type → share of its values.
    public var types: [String: [String: Double]]
    public init(windowStart: Date, records: Int64, bytes: Int64, presence: [String: Double], types: [String: [String: Double]]) {
        self.windowStart = windowStart; self.records = records; self.bytes = bytes; self.presence = presence; self.types = types
    }
}

public struct AlertStateRecord: Codable, Equatable, Sendable {
    public var phase: String
    public var severity: String?
    public var since: Date
    public init(phase: String, severity: String?, since: Date) { self.phase = phase; self.severity = severity; self.since = since }
}

/// Typed access to a store: JSON for structured kinds, raw bytes for reference profiles.
public struct MetadataRepository: Sendable {
    public let store: any MetadataStore
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()
    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()

    public init(store: any MetadataStore) { self.store = store }

    static func encode<T: Encodable>(_ value: T) throws(MetadataError) -> Data {
        do { return try encoder.encode(value) } catch { throw .storage("cannot encode \(T.self): \(error)") }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws(MetadataError) -> T {
        do { return try decoder.decode(type, from: data) } catch { throw .storage("cannot decode \(T.self): \(error)") }
    }

    // MARK: Schema versions

    /// Records the next schema version of `source` (versions are sequential; concurrent writers
    /// conflict and retry). Returns the version number given.
    @discardableResult
    public func recordSchemaVersion(_ source: String, fields: [InferredField], at time: Date, driftEventID: String? = nil) async throws(MetadataError) -> Int {
        let pointer = RecordKey(kind: MetadataKind.schemaCurrent, source: source)
        while true {
            let current = try await store.read(pointer)
            let number = (current.map { Int(String(decoding: $0.value, as: UTF8.self)) ?? 0 } ?? 0) + 1
            do {
                _ = try await store.write(pointer, value: Data(String(number).utf8), expectedVersion: current?.version, fence: nil)
            } catch .conflict {
                continue
            }
            let version = SchemaVersion(version: number, fields: fields, createdAt: time, driftEventID: driftEventID)
            _ = try await store.append(try Self.encode(version), to: MetadataKind.schemaVersion, source: source, at: time)
            return number
        }
    }

    public func schemaHistory(_ source: String) async throws(MetadataError) -> [SchemaVersion] {
        var result: [SchemaVersion] = []
        for entry in try await store.entries(of: MetadataKind.schemaVersion, source: source, since: nil, limit: 100_000) {
            result.append(try Self.decode(SchemaVersion.self, entry.entry))
        }
        return result
    }

    public func currentSchema(_ source: String) async throws(MetadataError) -> SchemaVersion? {
        try await schemaHistory(source).max { $0.version < $1.version }
    }

    // MARK: Versioned records

    /// Reads a JSON record and its version (for a later compare-and-set).
    public func get<T: Decodable>(_ type: T.Type, kind: String, source: String, name: String = "") async throws(MetadataError) -> (value: T, version: Int64)? {
        guard let record = try await store.read(RecordKey(kind: kind, source: source, name: name)) else { return nil }
        return (try Self.decode(type, record.value), record.version)
    }

    /// Compare-and-set of a JSON record; `expectedVersion` nil creates it.
    @discardableResult
    public func put<T: Encodable>(_ value: T, kind: String, source: String, name: String = "", expectedVersion: Int64?, fence: FencingToken? = nil) async throws(MetadataError) -> Int64 {
        try await store.write(RecordKey(kind: kind, source: source, name: name), value: try Self.encode(value), expectedVersion: expectedVersion, fence: fence)
    }

    public func putReferenceProfile(_ bytes: [UInt8], source: String, name: String, expectedVersion: Int64?) async throws(MetadataError) -> Int64 {
        try await store.write(RecordKey(kind: MetadataKind.referenceProfile, source: source, name: name), value: Data(bytes), expectedVersion: expectedVersion, fence: nil)
    }

    public func referenceProfile(source: String, name: String) async throws(MetadataError) -> (bytes: [UInt8], version: Int64)? {
        try await store.read(RecordKey(kind: MetadataKind.referenceProfile, source: source, name: name)).map { (Array($0.value), $0.version) }
    }

    // MARK: Logs

    @discardableResult
    public func append<T: Encodable>(_ value: T, kind: String, source: String, at time: Date) async throws(MetadataError) -> Int64 {
        try await store.append(try Self.encode(value), to: kind, source: source, at: time)
    }

    public func log<T: Decodable>(_ type: T.Type, kind: String, source: String, since: Date? = nil, limit: Int = 100_000) async throws(MetadataError) -> [T] {
        var result: [T] = []
        for entry in try await store.entries(of: kind, source: source, since: since, limit: limit) { result.append(try Self.decode(type, entry.entry)) }
        return result
    }
}
