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
        var referenceCounts: [String: Double] = [:]
        var currentCounts: [String: Double] = [:]
        for entry in referenceValues.entries { referenceCounts[entry.text] = Double(entry.count) }
        for entry in currentValues.entries { currentCounts[entry.text] = Double(entry.count) }
        // What the summaries did not track goes to one "other" bucket on each side.
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
        newCategories = categories.filter { currentCounts[$0] != nil && referenceCounts[$0] == nil }
        vanishedCategories = categories.filter { referenceCounts[$0] != nil && currentCounts[$0] == nil }

        let p = BucketDistance.proportions(referenceColumn)!
        let q = BucketDistance.proportions(currentColumn)!
        psi = .defined(BucketDistance.psi(reference: p, current: q))
        jensenShannon = .defined(BucketDistance.jensenShannon(reference: p, current: q))

        if categories.count < 2 {
            chiSquare = .undefined("a single category in both windows")
        } else {
            let referenceTotal = referenceColumn.reduce(0, +)
            let currentTotal = currentColumn.reduce(0, +)
            let total = referenceTotal + currentTotal
            var statistic = 0.0
            for (observedReference, observedCurrent) in zip(referenceColumn, currentColumn) {
                let columnTotal = observedReference + observedCurrent
                let expectedReference = referenceTotal * columnTotal / total
                let expectedCurrent = currentTotal * columnTotal / total
                statistic += (observedReference - expectedReference) * (observedReference - expectedReference) / expectedReference
                statistic += (observedCurrent - expectedCurrent) * (observedCurrent - expectedCurrent) / expectedCurrent
            }
            let freedom = Double(categories.count - 1)
            chiSquare = .defined(statistic, pValue: Distributions.chiSquareSurvival(statistic, degreesOfFreedom: freedom))
        }

        if let r = reference.distinct?.estimate, let c = current.distinct?.estimate, r > 0 {
            distinctChange = .defined((c - r) / r)
        } else {
            distinctChange = .undefined("no distinct-count estimate in the reference")
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
