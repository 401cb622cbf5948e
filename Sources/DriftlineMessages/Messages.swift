/// `driftline.alerts`: a source or field crossed its alert threshold (or resolved). Keyed by
/// source + field. Schema: schemas/alert.v1.json.
public struct AlertMessage: Codable, Equatable, Sendable {
    public var type = "alert"
    public var version = 1
    public var id: String
    public var source: SourceReference
    /// The field, or nil for the whole record (source-level score).
    public var field: String?
    /// firing or resolved
    public var state: String
    public var severity: String
    public var score: Double
    /// The fire level the score was held against.
    public var threshold: Double
    public var window: WindowReference
    /// Score components (each in [0, 1]) behind `score`.
    public var components: [String: Double]
    public var schemaVersion: Int?
    /// One human sentence.
    public var message: String
    public var emittedAt: String

    public init(source: SourceReference, field: String?, state: String, severity: String, score: Double, threshold: Double,
                windowStart: Int64, windowEnd: Int64, components: [String: Double], schemaVersion: Int?, message: String, emittedAt: Int64) {
        id = StableID.make(["alert", source.topic, field ?? "*", String(windowStart), state])
        self.source = source
        self.field = field
        self.state = state
        self.severity = severity
        self.score = score
        self.threshold = threshold
        window = WindowReference(startMilliseconds: windowStart, endMilliseconds: windowEnd)
        self.components = components
        self.schemaVersion = schemaVersion
        self.message = message
        self.emittedAt = WireTime.format(milliseconds: emittedAt)
    }

    public var key: String { "\(source.topic)|\(field ?? "*")" }
}

/// `driftline.drift-events`: one scored drift of one field in one window. Keyed by source + field.
/// Schema: schemas/drift-event.v1.json.
public struct DriftEventMessage: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, CaseIterable, Sendable {
        case typeChange = "type_change", distributionShift = "distribution_shift", missingRate = "missing_rate"
        case fieldAdded = "field_added", fieldRemoved = "field_removed", changePoint = "change_point"
    }

    public var type = "drift_event"
    public var version = 1
    public var id: String
    public var source: SourceReference
    public var field: String
    public var kind: Kind
    public var score: Double
    /// The metric values that show the drift (names as in the drift module: psi, ks, …).
    public var metrics: [String: Double]
    public var currentWindow: WindowReference
    public var referenceWindow: WindowReference
    public var emittedAt: String

    public init(source: SourceReference, field: String, kind: Kind, score: Double, metrics: [String: Double],
                current: (start: Int64, end: Int64), reference: (start: Int64, end: Int64), emittedAt: Int64) {
        id = StableID.make(["drift_event", source.topic, field, kind.rawValue, String(current.start)])
        self.source = source
        self.field = field
        self.kind = kind
        self.score = score
        self.metrics = metrics
        currentWindow = WindowReference(startMilliseconds: current.start, endMilliseconds: current.end)
        referenceWindow = WindowReference(startMilliseconds: reference.start, endMilliseconds: reference.end)
        self.emittedAt = WireTime.format(milliseconds: emittedAt)
    }

    public var key: String { "\(source.topic)|\(field)" }
}

/// `driftline.dead-letter`: a sampled malformed input record, with why and where.
/// Schema: schemas/dead-letter.v1.json.
public struct DeadLetterMessage: Codable, Equatable, Sendable {
    public var type = "dead_letter"
    public var version = 1
    public var id: String
    /// Topic, partition and offset of the original record.
    public var source: SourceReference
    public var reason: String
    /// Byte at which the record stopped being valid.
    public var byteOffset: Int
    /// The record's first bytes (UTF-8, invalid sequences replaced), for a human to look at.
    public var sample: String
    public var sampleTruncated: Bool
    public var emittedAt: String

    public static let sampleLimit = 1024

    public init(topic: String, partition: Int32, offset: Int64, reason: String, byteOffset: Int, record: [UInt8], emittedAt: Int64) {
        source = SourceReference(topic: topic, partition: partition, offset: offset)
        id = StableID.make(["dead_letter", topic, String(partition), String(offset)])
        self.reason = reason
        self.byteOffset = byteOffset
        sample = String(decoding: record.prefix(Self.sampleLimit), as: UTF8.self)
        sampleTruncated = record.count > Self.sampleLimit
        self.emittedAt = WireTime.format(milliseconds: emittedAt)
    }

    public var key: String { source.topic }
}
