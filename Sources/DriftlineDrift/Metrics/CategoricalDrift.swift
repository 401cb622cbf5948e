import DriftlineProfiling

/// How the mix of a field's categorical values (strings, booleans) moved.
public struct CategoricalDrift: Equatable, Sendable, Codable {
    public var psi: MetricResult
    public var jensenShannon: MetricResult
    /// Pearson's chi-square test of homogeneity on the 2 × K table (no continuity correction).
    public var chiSquare: MetricResult
    /// Frequent values of the current window the reference never tracked, and the other way round.
    public var newCategories: [String]
    public var vanishedCategories: [String]
    /// Relative change of the distinct-count estimate, (current − reference) / reference.
    public var distinctChange: MetricResult

    public static let otherBucket = "(other)"

    public init(reference: FieldProfile, current: FieldProfile) {
        guard let referenceValues = reference.frequent, referenceValues.total > 0 else {
            self = .undefined("the reference window has no categorical values")
            return
        }
        guard let currentValues = current.frequent, currentValues.total > 0 else {
            self = .undefined("the current window has no categorical values")
            return
        }
        // Compare only values the summaries can vouch for: all of them while a summary is not full
        // (its counts are exact), otherwise the heavy hitters (guaranteed above 1/capacity). Comparing
        // whichever values a full summary happens to hold would flag every high-cardinality field.
        let referenceSide = Side(referenceValues)
        let currentSide = Side(currentValues)
        let tracked = Set(referenceSide.heavyHitters).union(currentSide.heavyHitters)
        let referenceCounts = referenceSide.counts(of: tracked)
        let currentCounts = currentSide.counts(of: tracked)
        let referenceOther = max(0, Double(referenceValues.total) - referenceCounts.values.reduce(0, +))
        let currentOther = max(0, Double(currentValues.total) - currentCounts.values.reduce(0, +))

        var categories = Array(Set(referenceCounts.keys).union(currentCounts.keys)).sorted()
        var referenceColumn = categories.map { referenceCounts[$0] ?? 0 }
        var currentColumn = categories.map { currentCounts[$0] ?? 0 }
        if referenceOther > 0 || currentOther > 0 {
            categories.append(Self.otherBucket)
            referenceColumn.append(referenceOther)
            currentColumn.append(currentOther)
        }
        // New: a value the current window vouches for that the reference never tracked (and vice versa).
        newCategories = currentSide.heavyHitters.filter { referenceSide.byValue[$0] == nil }.sorted()
        vanishedCategories = referenceSide.heavyHitters.filter { currentSide.byValue[$0] == nil }.sorted()

        let p = BucketDistance.proportions(referenceColumn)!
        let q = BucketDistance.proportions(currentColumn)!
        psi = .defined(BucketDistance.psi(reference: p, current: q))
        jensenShannon = .defined(BucketDistance.jensenShannon(reference: p, current: q))

        if let test = Distributions.chiSquareHomogeneity(referenceColumn, currentColumn) {
            chiSquare = .defined(test.statistic, pValue: test.pValue)
        } else {
            chiSquare = .undefined("a single category in both windows")
        }

        if let r = reference.distinct?.estimate, let c = current.distinct?.estimate, r > 0 {
            distinctChange = .defined((c - r) / r)
        } else {
            distinctChange = .undefined("no distinct-count estimate in the reference")
        }
    }

    /// One window's summary, with its entries built and sorted once.
    struct Side {
        let entries: [FrequentValues.Entry]
        let byValue: [String: FrequentValues.Entry]
        let isFull: Bool
        let heavyHitters: [String]

        init(_ summary: FrequentValues) {
            entries = summary.entries
            byValue = Dictionary(entries.map { ($0.text, $0) }, uniquingKeysWith: { first, _ in first })
            isFull = entries.count >= summary.capacity
            let support = Double(summary.total) / Double(summary.capacity)
            heavyHitters = isFull ? entries.filter { Double($0.count - $0.error) >= support }.map(\.text) : entries.map(\.text)
        }

        /// Estimated counts of `values`: exact below capacity; for a full summary the middle of each
        /// counter's bounds, and for an untracked value half the smallest counter (its upper bound).
        func counts(of values: Set<String>) -> [String: Double] {
            let floor = Double(entries.last?.count ?? 0)
            var result: [String: Double] = [:]
            for value in values {
                if let entry = byValue[value] {
                    result[value] = Double(entry.count) - Double(entry.error) / 2
                } else {
                    result[value] = isFull ? floor / 2 : 0
                }
            }
            return result
        }
    }

    init(psi: MetricResult, jensenShannon: MetricResult, chiSquare: MetricResult, newCategories: [String], vanishedCategories: [String], distinctChange: MetricResult) {
        self.psi = psi
        self.jensenShannon = jensenShannon
        self.chiSquare = chiSquare
        self.newCategories = newCategories
        self.vanishedCategories = vanishedCategories
        self.distinctChange = distinctChange
    }

    static func undefined(_ reason: String) -> CategoricalDrift {
        let result = MetricResult.undefined(reason)
        return CategoricalDrift(psi: result, jensenShannon: result, chiSquare: result, newCategories: [], vanishedCategories: [], distinctChange: result)
    }
}
