#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The parts a field's Schema Drift Score is made of, each in [0, 1].
public enum ScoreComponent: String, CaseIterable, Sendable, Codable, Comparable {
    /// The mix of JSON types changed (e.g. integers arriving as strings).
    case typeChange = "type_change"
    /// The share of records without the field changed.
    case missingRate = "missing_rate"
    /// The share of null values changed.
    case nullRate = "null_rate"
    /// The distribution of values moved (numeric or categorical).
    case distribution
    /// Values break the declared schema.
    case schemaViolations = "schema_violations"
    /// The field appeared or disappeared.
    case presence
    /// A change-point detector fired on the field's distance series recently.
    case changePointActivity = "change_point_activity"
    /// How often the field drifted in recent windows.
    case recentDrift = "recent_drift"

    public static func < (a: ScoreComponent, b: ScoreComponent) -> Bool { a.rawValue < b.rawValue }
}

/// How the score is put together. Effects are mapped to [0, 1] by dividing by a scale at which a
/// change is considered complete (and clamping), and count only when the matching test is
/// significant at `significance`, so sampling noise in large windows does not add up.
public struct ScoringConfiguration: Sendable, Equatable, Codable {
    /// Weight of each component, in [0, 1]. A component with weight 1 at full strength makes the
    /// field's score 1 on its own.
    public var weights: [ScoreComponent: Double] = [
        .typeChange: 1, .missingRate: 1, .nullRate: 1, .distribution: 1, .schemaViolations: 1, .presence: 1,
        .changePointActivity: 0.3, .recentDrift: 0.2,
    ]
    /// Per-field overrides of component weights.
    public var fieldWeights: [String: [ScoreComponent: Double]] = [:]
    /// Weight of each field in the source score (default 1).
    public var fieldImportance: [String: Double] = [:]
    public var significance = 1e-3
    /// Type-mix change (total variation) that counts as complete: 2% of values.
    public var typeChangeScale = 0.02
    /// Missing- or null-rate change that counts as complete: 2 percentage points.
    public var rateChangeScale = 0.02
    /// Distribution effects that count as complete: PSI 0.2, Wasserstein 0.5 σ, a mean shift of
    /// 0.5 σ, a doubled (or halved) variance, Jensen–Shannon distance 0.2.
    public var psiScale = 0.2
    public var wassersteinScale = 0.5
    public var meanShiftScale = 0.5
    public var jensenShannonScale = 0.2
    /// Share of values a few-valued numeric reference never had (a version field 3 arriving as 4)
    /// that counts as complete: 2%, like a type change.
    public var unseenValueScale = 0.02
    /// Share of records violating the declared schema that counts as complete: 1%.
    public var violationScale = 0.01
    /// Windows of history for change-point activity and recent drift.
    public var historyWindows = 10

    public init() {}

    func weight(_ component: ScoreComponent, field: String) -> Double {
        fieldWeights[field]?[component] ?? weights[component] ?? 0
    }
}

/// A field's score with every component, so a score can always be explained.
public struct FieldScore: Equatable, Sendable, Codable {
    public var path: String
    /// 1 − Π(1 − weight · component): one strong component is enough, several weak ones add up.
    public var score: Double
    public var components: [ScoreComponent: Double]
    public var weights: [ScoreComponent: Double]
}

public struct SourceScore: Equatable, Sendable, Codable {
    /// The largest importance-weighted field score.
    public var score: Double
    /// Fields, highest score first.
    public var fields: [FieldScore]

    public func field(_ path: String) -> FieldScore? { fields.first { $0.path == path } }
}

/// Scores comparisons window after window, keeping per-field history for the components that need
/// it (change-point activity, recent drift). Memory: fields × `historyWindows`. Codable, so a
/// restarted detector resumes with the same history.
public struct DriftScorer: Sendable, Codable, Equatable {
    public var configuration: ScoringConfiguration
    private var history: [String: FieldHistory] = [:]

    private struct FieldHistory: Sendable, Codable, Equatable {
        var detector = PageHinkley(minInstances: 5, delta: 0.01, threshold: 0.5, alpha: 0.99)
        var recentSignals: [Bool] = []
        var recentDrift: [Bool] = []
    }

    public init(configuration: ScoringConfiguration = ScoringConfiguration()) {
        self.configuration = configuration
    }

    public mutating func score(_ comparison: DriftComparison) -> SourceScore {
        var fields: [FieldScore] = []
        for field in comparison.fields where field.status != .absent {
            var components = Self.components(field, comparison, configuration)
            var state = history[field.path] ?? FieldHistory()
            let distance = components[.distribution] ?? 0
            state.recentSignals.append(state.detector.update(max(distance, components[.typeChange] ?? 0)))
            state.recentSignals = Array(state.recentSignals.suffix(3))
            components[.changePointActivity] = state.recentSignals.contains(true) ? 1 : 0
            components[.recentDrift] = state.recentDrift.isEmpty ? 0 : Double(state.recentDrift.filter { $0 }.count) / Double(configuration.historyWindows)
            let weights = Dictionary(uniqueKeysWithValues: ScoreComponent.allCases.map { ($0, configuration.weight($0, field: field.path)) })
            let survival = components.reduce(1.0) { $0 * (1 - min(1, max(0, weights[$1.key]! * $1.value))) }
            let score = 1 - survival
            state.recentDrift.append(score >= 0.5)
            state.recentDrift = Array(state.recentDrift.suffix(configuration.historyWindows))
            history[field.path] = state
            fields.append(FieldScore(path: field.path, score: score, components: components, weights: weights))
        }
        fields.sort { $0.score != $1.score ? $0.score > $1.score : $0.path < $1.path }
        let source = fields.map { $0.score * (configuration.fieldImportance[$0.path] ?? 1) }.max() ?? 0
        return SourceScore(score: min(1, source), fields: fields)
    }

    static func components(_ field: FieldDrift, _ comparison: DriftComparison, _ c: ScoringConfiguration) -> [ScoreComponent: Double] {
        func saturate(_ value: Double, _ scale: Double) -> Double { min(1, max(0, value / scale)) }
        func significant(_ metric: MetricResult) -> Bool { (metric.pValue ?? 1) < c.significance }
        var components: [ScoreComponent: Double] = [:]
        components[.presence] = field.status == .added || field.status == .removed ? 1 : 0

        let schema = field.schema
        if let distance = schema.typeChange.value {
            // Significance of a type-mix change: chi-square on the counts behind the shares.
            components[.typeChange] = typeMixIsSignificant(field, comparison, c) ? saturate(distance, c.typeChangeScale) : 0
        }
        components[.missingRate] = significant(schema.missingRateChange)
            ? saturate(abs(schema.currentMissingRate - schema.referenceMissingRate), c.rateChangeScale) : 0
        components[.nullRate] = significant(schema.nullRateChange)
            ? saturate(abs(schema.currentNullRate - schema.referenceNullRate), c.rateChangeScale) : 0

        var distribution = 0.0
        if let numeric = field.numeric {
            let tested = [numeric.kolmogorovSmirnov, numeric.meanShift, numeric.varianceShift, numeric.unseenValues].contains { significant($0) }
            if tested {
                var effect = saturate(numeric.psi.value ?? 0, c.psiScale)
                if significant(numeric.unseenValues) { effect = max(effect, saturate(numeric.unseenValues.value ?? 0, c.unseenValueScale)) }
                effect = max(effect, saturate(numeric.wasserstein.value ?? 0, c.wassersteinScale))
                if significant(numeric.varianceShift), let z = numeric.varianceShift.value {
                    // Recover the log variance ratio from z: a doubling is a complete change.
                    let ratio = abs(z) * (2 / Double(max(comparison.referenceRecords - 1, 1)) + 2 / Double(max(comparison.currentRecords - 1, 1))).squareRoot()
                    effect = max(effect, saturate(ratio, log(2)))
                }
                distribution = effect
            }
        }
        if let categorical = field.categorical, significant(categorical.chiSquare) {
            distribution = max(distribution, saturate(categorical.psi.value ?? 0, c.psiScale), saturate(categorical.jensenShannon.value ?? 0, c.jensenShannonScale))
        }
        components[.distribution] = distribution
        if let violations = field.violations, comparison.currentRecords > 0 {
            components[.schemaViolations] = saturate(Double(violations.total) / Double(comparison.currentRecords), c.violationScale)
        }
        return components
    }

    private static func typeMixIsSignificant(_ field: FieldDrift, _ comparison: DriftComparison, _ c: ScoringConfiguration) -> Bool {
        let types = Set(field.schema.referenceTypeShares.keys).union(field.schema.currentTypeShares.keys).sorted()
        guard types.count > 1 else { return false }
        // Shares times the non-null value count approximate the counts well enough for the test.
        let referenceValues = Double(comparison.referenceRecords) * (1 - field.schema.referenceMissingRate) * (1 - field.schema.referenceNullRate)
        let currentValues = Double(comparison.currentRecords) * (1 - field.schema.currentMissingRate) * (1 - field.schema.currentNullRate)
        let r = types.map { (field.schema.referenceTypeShares[$0] ?? 0) * referenceValues }
        let k = types.map { (field.schema.currentTypeShares[$0] ?? 0) * currentValues }
        guard let test = Distributions.chiSquareHomogeneity(r, k) else { return false }
        return test.pValue < c.significance
    }
}
