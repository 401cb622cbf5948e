import DriftlineDrift
import DriftlineMessages
import DriftlineProfiling
import Foundation

/// Scores a source's merged windows in order against its reference and produces the messages to
/// publish. Keeps the reference (first N windows merged, or the N most recent), the scorer's history
/// and the alert states. Pure.
public struct WindowScorer {
    public let reference: DetectorConfiguration.Reference
    private var scorer: DriftScorer
    private var builder: OutputBuilder
    private var schema: DeclaredSchema?
    private var referenceWindows: [(start: Int64, end: Int64, profile: WindowProfile)] = []
    private var fixedReference: (start: Int64, end: Int64, profile: WindowProfile)?

    public struct Result {
        public var windowStart: Int64
        public var score: SourceScore?
        public var events: [DriftEventMessage]
        public var alerts: [AlertMessage]
        /// True while the window only builds the reference.
        public var warmingUp: Bool
    }

    /// Everything a restarted detector needs to continue exactly where this scorer is: the reference
    /// (profiles in the binary format), the scorer's history and the alert states. Store it with the
    /// window's outputs; restore it with `init(source:reference:schema:restoring:)`.
    public func snapshot() throws -> Data {
        let state = Snapshot(
            referenceWindows: referenceWindows.map { .init(start: $0.start, end: $0.end, profile: Data($0.profile.encoded())) },
            fixedReference: fixedReference.map { .init(start: $0.start, end: $0.end, profile: Data($0.profile.encoded())) },
            scorer: scorer, builder: builder)
        let encoder = JSONEncoder()
        // Detector states hold ±infinity before their first observation.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(state)
    }

    public init(source: DetectorConfiguration.Source, reference: DetectorConfiguration.Reference, schema: DeclaredSchema? = nil, restoring data: Data) throws {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let state = try decoder.decode(Snapshot.self, from: data)
        self.init(source: source, reference: reference, schema: schema)
        scorer = state.scorer
        builder = state.builder
        referenceWindows = try state.referenceWindows.map { ($0.start, $0.end, try WindowProfile(encoded: Array($0.profile))) }
        fixedReference = try state.fixedReference.map { ($0.start, $0.end, try WindowProfile(encoded: Array($0.profile))) }
    }

    private struct Snapshot: Codable {
        /// `Data`, so JSON carries the profile as base64 rather than an array of numbers.
        struct StoredWindow: Codable { var start: Int64; var end: Int64; var profile: Data }
        var referenceWindows: [StoredWindow]
        var fixedReference: StoredWindow?
        var scorer: DriftScorer
        var builder: OutputBuilder
    }

    public init(source: DetectorConfiguration.Source, reference: DetectorConfiguration.Reference, schema: DeclaredSchema? = nil, pinned: WindowProfile? = nil) {
        self.reference = reference
        var scoring = ScoringConfiguration()
        scoring.fieldWeights = source.weights
        scoring.fieldImportance = source.importance
        scorer = DriftScorer(configuration: scoring)
        builder = OutputBuilder(source: source.topic, policy: source.alerts)
        self.schema = schema
        if let pinned { fixedReference = (0, 0, pinned) }
    }

    /// Throws when `profile` cannot be merged with the reference windows (profiled with other sketch
    /// settings, e.g. instances running different configurations): the window is not scored.
    public mutating func score(windowStart: Int64, windowEnd: Int64, profile: WindowProfile, now: Int64) throws(ProfileConfigurationError) -> Result {
        // Checked before anything changes, so the merges below cannot fail and a refused window
        // leaves the scorer as it was.
        if let first = referenceWindows.first?.profile, !first.configuration.isMergeable(with: profile.configuration) {
            throw .notMergeable("window \(windowStart) was profiled with other sketch settings than the reference windows")
        }
        switch reference {
        case let .first(count):
            if fixedReference == nil {
                referenceWindows.append((windowStart, windowEnd, profile))
                if referenceWindows.count == count {
                    let merged = try WindowProfile.merging(referenceWindows.map(\.profile), configuration: profile.configuration)
                    fixedReference = (referenceWindows.first!.start, referenceWindows.last!.end, merged)
                    referenceWindows.removeAll()
                }
                return Result(windowStart: windowStart, score: nil, events: [], alerts: [], warmingUp: true)
            }
        case let .sliding(count):
            defer {
                referenceWindows.append((windowStart, windowEnd, profile))
                if referenceWindows.count > count { referenceWindows.removeFirst() }
            }
            guard referenceWindows.count == count else {
                return Result(windowStart: windowStart, score: nil, events: [], alerts: [], warmingUp: true)
            }
            let merged = try WindowProfile.merging(referenceWindows.map(\.profile), configuration: profile.configuration)
            fixedReference = (referenceWindows.first!.start, referenceWindows.last!.end, merged)
        case .pinned:
            break
        }
        guard let reference = fixedReference else {
            return Result(windowStart: windowStart, score: nil, events: [], alerts: [], warmingUp: true)
        }
        let comparison = DriftComparison(reference: reference.profile, current: profile, schema: schema)
        let score = scorer.score(comparison)
        let output = builder.messages(
            for: score, comparison: comparison,
            window: .init(start: windowStart, end: windowEnd, referenceStart: reference.start, referenceEnd: reference.end),
            now: now)
        return Result(windowStart: windowStart, score: score, events: output.events, alerts: output.alerts, warmingUp: false)
    }
}
