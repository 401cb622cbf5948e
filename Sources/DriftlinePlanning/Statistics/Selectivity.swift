/// Row fractions estimated the way PostgreSQL's planner does (`selfuncs.c`): most-common values
/// first, the rest spread evenly over the other distinct values for equality and over the
/// histogram's equal-frequency bins for ranges, with linear interpolation inside a bin. Estimates are
/// checked against EXPLAIN's row counts in the tests.
public struct Selectivity: Sendable {
    public let column: ColumnStatistics
    public let rows: Double
    private let commonValues: [(Scalar, Double)]
    private let histogram: [Scalar]

    /// PostgreSQL's defaults when nothing is known (`DEFAULT_EQ_SEL`, `DEFAULT_INEQ_SEL`, `DEFAULT_RANGE_INEQ_SEL`).
    public static let defaultEquality = 0.005
    public static let defaultInequality = 1.0 / 3.0
    public static let defaultRange = 0.005

    public init(column: ColumnStatistics, rows: Double) {
        self.column = column
        self.rows = rows
        commonValues = zip(column.mostCommonValues, column.mostCommonFrequencies).compactMap { text, frequency in
            Scalar(text, type: column.type).map { ($0, frequency) }
        }
        histogram = column.histogramBounds.compactMap { Scalar($0, type: column.type) }
    }

    private var commonTotal: Double { commonValues.reduce(0) { $0 + $1.1 } }
    /// The fraction of rows that is neither NULL nor a most-common value.
    private var otherFraction: Double { max(0, 1 - column.nullFraction - commonTotal) }

    public func equal(_ value: Scalar) -> Double {
        if let match = commonValues.first(where: { $0.0 == value }) { return match.1 }
        let distinct = column.distinctCount(rows: rows)
        let others = distinct - Double(commonValues.count)
        guard others >= 1 else { return commonValues.isEmpty ? Self.defaultEquality : min(otherFraction, 1 / distinct) }
        var selectivity = otherFraction / others
        // As var_eq_const: never more than the least common of the most-common values.
        if let least = commonValues.map(\.1).min(), selectivity > least { selectivity = least }
        return min(1, max(0, selectivity))
    }

    /// `IN (…)` / `= ANY(…)`: distinct values match disjoint rows, so their fractions add.
    public func inList(_ values: [Scalar]) -> Double {
        min(1, Set(values).reduce(0) { $0 + equal($1) })
    }

    /// Fraction of rows with `value < bound` (or `<=`), NULLs excluded (`scalarineqsel`).
    public func below(_ bound: Scalar, inclusive: Bool) -> Double {
        var selectivity = 0.0
        for (value, frequency) in commonValues where value < bound || (inclusive && value == bound) { selectivity += frequency }
        selectivity += otherFraction * histogramFraction(below: bound)
        return min(1, max(0, selectivity))
    }

    public func above(_ bound: Scalar, inclusive: Bool) -> Double {
        max(0, 1 - column.nullFraction - below(bound, inclusive: !inclusive))
    }

    /// `lower < x < upper`: PostgreSQL pairs the two inequalities as `hisel + losel - 1` (clausesel.c).
    public func between(lower: (Scalar, Bool)?, upper: (Scalar, Bool)?) -> Double {
        switch (lower, upper) {
        case (nil, nil): return 1 - column.nullFraction
        case let (lower?, nil): return above(lower.0, inclusive: lower.1)
        case let (nil, upper?): return below(upper.0, inclusive: upper.1)
        case let (lower?, upper?):
            let low = above(lower.0, inclusive: lower.1), high = below(upper.0, inclusive: upper.1)
            var selectivity = low + high - 1 + column.nullFraction
            if selectivity <= 0 { selectivity = selectivity < -0.01 ? 1e-10 : 1 / max(1, rows) }
            return min(1, selectivity)
        }
    }

    /// The fraction of the histogram's population below `bound`, interpolating inside the bin
    /// (`ineq_histogram_selectivity`, linear for numbers and times; text uses the bin's middle).
    func histogramFraction(below bound: Scalar) -> Double {
        guard histogram.count >= 2 else { return column.histogramBounds.isEmpty && commonValues.isEmpty ? Self.defaultInequality : 0.5 }
        if bound <= histogram[0] { return 0 }
        if bound > histogram[histogram.count - 1] { return 1 }
        var low = 0, high = histogram.count - 1
        while high - low > 1 {
            let middle = (low + high) / 2
            if histogram[middle] < bound { low = middle } else { high = middle }
        }
        var within = 0.5
        if let a = histogram[low].number, let b = histogram[high].number, let x = bound.number, b > a {
            within = min(1, max(0, (x - a) / (b - a)))
        }
        return (Double(low) + within) / Double(histogram.count - 1)
    }

    /// The smallest and largest values the statistics know of.
    public var range: (Scalar, Scalar)? {
        let values = histogram + commonValues.map(\.0)
        guard let low = values.min(), let high = values.max() else { return nil }
        return (low, high)
    }

    public var mostCommon: [(value: Scalar, frequency: Double)] { commonValues.map { ($0.0, $0.1) } }
}
