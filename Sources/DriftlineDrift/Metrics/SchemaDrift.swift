import DriftlineProfiling

/// How a field's shape moved: its type mix, how often it is missing or null.
public struct SchemaDrift: Equatable, Sendable, Codable {
    /// Share of each observed type among non-null values, per window (types seen in either).
    public var referenceTypeShares: [String: Double]
    public var currentTypeShares: [String: Double]
    /// Total variation distance between the two type mixes, in [0, 1].
    public var typeChange: MetricResult
    /// Fraction of records without the field, per window, and the two-proportion z test.
    public var referenceMissingRate: Double
    public var currentMissingRate: Double
    public var missingRateChange: MetricResult
    /// Fraction of the field's values that are null, per window, and the two-proportion z test.
    public var referenceNullRate: Double
    public var currentNullRate: Double
    public var nullRateChange: MetricResult

    public init(reference: FieldProfile?, referenceRecords: Int64, current: FieldProfile?, currentRecords: Int64) {
        func shares(_ field: FieldProfile?) -> [String: Double] {
            guard let field else { return [:] }
            let nonNull = JSONValueType.allCases.filter { $0 != .null }
            let total = nonNull.reduce(Int64(0)) { $0 + field.count(of: $1) }
            guard total > 0 else { return [:] }
            var result: [String: Double] = [:]
            for type in nonNull where field.count(of: type) > 0 { result[type.description] = Double(field.count(of: type)) / Double(total) }
            return result
        }
        let referenceShares = shares(reference)
        let currentShares = shares(current)
        referenceTypeShares = referenceShares
        currentTypeShares = currentShares
        if referenceShares.isEmpty || currentShares.isEmpty {
            typeChange = .undefined(referenceShares.isEmpty ? "no non-null values in the reference" : "no non-null values in the current window")
        } else {
            let types = Set(referenceShares.keys).union(currentShares.keys).sorted()
            typeChange = .defined(BucketDistance.totalVariation(
                reference: types.map { referenceShares[$0] ?? 0 }, current: types.map { currentShares[$0] ?? 0 }))
        }

        let referenceMissing = referenceRecords - (reference?.present ?? 0)
        let currentMissing = currentRecords - (current?.present ?? 0)
        referenceMissingRate = referenceRecords > 0 ? Double(referenceMissing) / Double(referenceRecords) : 0
        currentMissingRate = currentRecords > 0 ? Double(currentMissing) / Double(currentRecords) : 0
        missingRateChange = Self.twoProportion(referenceMissing, referenceRecords, currentMissing, currentRecords, what: "missing")

        let referenceValues = reference?.count ?? 0
        let currentValues = current?.count ?? 0
        let referenceNulls = reference?.nulls ?? 0
        let currentNulls = current?.nulls ?? 0
        referenceNullRate = referenceValues > 0 ? Double(referenceNulls) / Double(referenceValues) : 0
        currentNullRate = currentValues > 0 ? Double(currentNulls) / Double(currentValues) : 0
        nullRateChange = Self.twoProportion(referenceNulls, referenceValues, currentNulls, currentValues, what: "null")
    }

    /// Pooled two-proportion z test; the value is the z statistic (positive: the rate rose).
    static func twoProportion(_ x1: Int64, _ n1: Int64, _ x2: Int64, _ n2: Int64, what: String) -> MetricResult {
        guard n1 > 0, n2 > 0 else { return .undefined("an empty window") }
        let p1 = Double(x1) / Double(n1)
        let p2 = Double(x2) / Double(n2)
        let pooled = Double(x1 + x2) / Double(n1 + n2)
        let variance = pooled * (1 - pooled) * (1 / Double(n1) + 1 / Double(n2))
        guard variance > 0 else {
            return .undefined(pooled == 0 ? "no \(what) values in either window" : "every value \(what) in both windows")
        }
        let z = (p2 - p1) / variance.squareRoot()
        return .defined(z, pValue: Distributions.twoSidedNormalPValue(z))
    }
}
