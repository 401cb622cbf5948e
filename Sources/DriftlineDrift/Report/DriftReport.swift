import DriftlineProfiling
import Foundation

/// Everything a drift analysis report shows, independent of how it is rendered.
public struct DriftReport: Codable, Sendable, Equatable {
    public var title: String
    /// RFC 3339, UTC.
    public var generatedAt: String
    public var referenceRecords: Int64
    public var currentRecords: Int64
    public var referenceMalformed: Int64
    public var currentMalformed: Int64
    /// Score of the whole current data against the reference.
    public var score: Double
    /// The current data in consecutive windows, each scored against the reference.
    public var windows: [WindowPoint]
    /// Windows where the score series changes level (PELT on the window scores).
    public var changePoints: [Int]
    /// Fields, highest score first.
    public var fields: [FieldSection]
    /// Per window, the fields that scored at least 0.5, with the component that dominated.
    public var events: [Event]
    public var undeclaredFields: [String]

    public struct WindowPoint: Codable, Sendable, Equatable {
        public var index: Int
        public var records: Int64
        public var score: Double
        public var topField: String?
    }

    public struct FieldSection: Codable, Sendable, Equatable {
        public var path: String
        public var status: FieldStatus
        public var score: Double
        public var components: [String: Double]
        public var referenceTypes: [String: Double]
        public var currentTypes: [String: Double]
        public var referenceMissingRate: Double
        public var currentMissingRate: Double
        public var referenceNullRate: Double
        public var currentNullRate: Double
        public var histogram: Histogram?
        public var categories: [CategoryBar]?
        /// Headline metrics by name (psi, ks, wasserstein, js, chi_square, ...), defined ones only.
        public var metrics: [String: Double]
        public var violations: Int64?
    }

    /// Shares of values per bin, on bins shared by both windows.
    public struct Histogram: Codable, Sendable, Equatable {
        public var edges: [Double]
        public var reference: [Double]
        public var current: [Double]
    }

    public struct CategoryBar: Codable, Sendable, Equatable {
        public var value: String
        public var reference: Double
        public var current: Double
    }

    public struct Event: Codable, Sendable, Equatable {
        public var window: Int
        public var field: String
        public var kind: String
        public var score: Double
    }

    /// Builds a report: `current` is the whole current data, `windows` the same data cut into
    /// consecutive windows for the score-over-time view.
    public init(
        title: String, reference: WindowProfile, current: WindowProfile, windows: [WindowProfile],
        schema: DeclaredSchema? = nil, scoring: ScoringConfiguration = ScoringConfiguration(), generatedAt: Date = Date()
    ) {
        self.title = title
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        self.generatedAt = formatter.string(from: generatedAt)
        referenceRecords = reference.recordCount
        currentRecords = current.recordCount
        referenceMalformed = reference.malformedCount
        currentMalformed = current.malformedCount

        var windowScorer = DriftScorer(configuration: scoring)
        var points: [WindowPoint] = []
        var events: [Event] = []
        for (index, window) in windows.enumerated() {
            let scored = windowScorer.score(DriftComparison(reference: reference, current: window, schema: schema))
            points.append(WindowPoint(index: index, records: window.recordCount, score: scored.score, topField: scored.fields.first?.path))
            for field in scored.fields where field.score >= 0.5 {
                let kind = field.components.max { $0.value * (field.weights[$0.key] ?? 0) < $1.value * (field.weights[$1.key] ?? 0) }?.key.rawValue ?? "drift"
                events.append(Event(window: index, field: field.path, kind: kind, score: field.score))
            }
        }
        self.windows = points
        self.events = events
        changePoints = points.count >= 4 ? OfflineChangePoints.pelt(points.map(\.score)) : []

        let comparison = DriftComparison(reference: reference, current: current, schema: schema)
        var scorer = DriftScorer(configuration: scoring)
        let scored = scorer.score(comparison)
        score = scored.score
        undeclaredFields = comparison.undeclaredFields
        fields = scored.fields.compactMap { fieldScore in
            guard let drift = comparison.field(fieldScore.path) else { return nil }
            return FieldSection(
                path: drift.path, status: drift.status, score: fieldScore.score,
                components: Dictionary(uniqueKeysWithValues: fieldScore.components.map { ($0.key.rawValue, $0.value) }),
                referenceTypes: drift.schema.referenceTypeShares, currentTypes: drift.schema.currentTypeShares,
                referenceMissingRate: drift.schema.referenceMissingRate, currentMissingRate: drift.schema.currentMissingRate,
                referenceNullRate: drift.schema.referenceNullRate, currentNullRate: drift.schema.currentNullRate,
                histogram: Self.histogram(reference.field(drift.path), current.field(drift.path)),
                categories: Self.categories(reference.field(drift.path), current.field(drift.path)),
                metrics: drift.headlineMetrics, violations: drift.violations?.total
            )
        }
    }

    static func histogram(_ reference: FieldProfile?, _ current: FieldProfile?, bins: Int = 20) -> Histogram? {
        let sketches = [reference?.quantiles, current?.quantiles].compactMap { $0 }.filter { $0.count > 0 }
        guard !sketches.isEmpty else { return nil }
        // Shared bins over the 1st to 99th percentile of both windows, so outliers do not flatten the view.
        let low = sketches.compactMap { $0.quantile(0.01) }.min()!
        let high = sketches.compactMap { $0.quantile(0.99) }.max()!
        guard high > low else { return nil }
        let edges = (0...bins).map { low + (high - low) * Double($0) / Double(bins) }
        func shares(_ sketch: QuantileSketch?) -> [Double] {
            guard let sketch, sketch.count > 0 else { return Array(repeating: 0, count: bins) }
            let cdf = edges.map { sketch.rank($0) }
            return (0..<bins).map { max(0, cdf[$0 + 1] - ($0 == 0 ? sketch.rank(edges[0], inclusive: false) : cdf[$0])) }
        }
        return Histogram(edges: edges, reference: shares(reference?.quantiles), current: shares(current?.quantiles))
    }

    static func categories(_ reference: FieldProfile?, _ current: FieldProfile?, limit: Int = 12) -> [CategoryBar]? {
        let summaries = [reference?.frequent, current?.frequent]
        guard summaries.contains(where: { ($0?.total ?? 0) > 0 }) else { return nil }
        func shares(_ summary: FrequentValues?) -> [String: Double] {
            guard let summary, summary.total > 0 else { return [:] }
            return Dictionary(summary.entries.map { ($0.text, Double($0.count) / Double(summary.total)) }, uniquingKeysWith: +)
        }
        let r = shares(reference?.frequent)
        let c = shares(current?.frequent)
        let values = Set(r.keys).union(c.keys).sorted { max(r[$0] ?? 0, c[$0] ?? 0) > max(r[$1] ?? 0, c[$1] ?? 0) }
        return values.prefix(limit).map { CategoryBar(value: $0, reference: r[$0] ?? 0, current: c[$0] ?? 0) }
    }
}
