import Foundation

/// A layout applied to a table's statistics: how many rows and pages each leaf partition holds now
/// and at the middle of the horizon, and which leaves a scan touches after pruning.
public struct LayoutModel: Sendable {
    public let layout: PartitionLayout
    public let statistics: TableStatistics
    /// Rows per leaf now, and added over the whole horizon.
    public let rowsNow: [Double]
    public let rowsAdded: [Double]
    /// Whether the rows per leaf are PostgreSQL's own counts (the current layout) or estimates.
    public let measured: Bool
    private let estimates: [String: Selectivity]
    private let leafPaths: [[Int]]

    /// `growth`: rows the table gains over the horizon; `timeColumn`/`now`/`horizonSeconds` place
    /// them in time (new rows carry times in [now, now + horizon]); `categoryShares` says how new rows
    /// split over a column's values when a forecast knows (values absent get the rest evenly).
    public init(layout: PartitionLayout, statistics: TableStatistics, growth: Growth) {
        self.layout = layout
        self.statistics = statistics
        var estimates: [String: Selectivity] = [:]
        for column in statistics.columns { estimates[column.name] = Selectivity(column: column, rows: statistics.rows) }
        self.estimates = estimates
        leafPaths = layout.leaves
        var now: [Double] = []
        var added: [Double] = []
        let levelFractions = layout.levels.map { Self.fractions($0, estimate: estimates[$0.column], rows: statistics.rows) }
        let levelGrowth = layout.levels.enumerated().map { index, level in
            Self.growthFractions(level, estimate: estimates[level.column], rows: statistics.rows, growth: growth) ?? levelFractions[index]
        }
        if case let .partitioned(current, _, rows) = statistics.layout, current == layout, rows.count == leafPaths.count {
            now = rows
            measured = true
        } else {
            now = leafPaths.map { path in statistics.rows * path.enumerated().reduce(1) { $0 * levelFractions[$1.offset][$1.element] } }
            measured = false
        }
        added = leafPaths.map { path in growth.rows * path.enumerated().reduce(1) { $0 * levelGrowth[$1.offset][$1.element] } }
        rowsNow = now
        rowsAdded = added
    }

    /// New rows over the horizon and where they land.
    public struct Growth: Sendable, Equatable {
        public var rows: Double
        public var timeColumn: String?
        public var now: Double?
        public var horizonSeconds: Double
        public var categoryShares: [String: [String: Double]]
        public init(rows: Double, timeColumn: String? = nil, now: Double? = nil, horizonSeconds: Double, categoryShares: [String: [String: Double]] = [:]) {
            self.rows = rows; self.timeColumn = timeColumn; self.now = now; self.horizonSeconds = horizonSeconds; self.categoryShares = categoryShares
        }
        public static let none = Growth(rows: 0, horizonSeconds: 0)
    }

    // MARK: Sizes

    public var leafCount: Int { leafPaths.count }

    public func pages(rows: Double) -> Double {
        rows < 0.5 ? 0 : max(1, (rows / statistics.rowsPerPage).rounded(.up))
    }

    /// Pages of each leaf now (PostgreSQL's own for the current layout).
    public var pagesNow: [Double] {
        if measured, case let .partitioned(_, pages, _) = statistics.layout { return pages }
        return rowsNow.map(pages(rows:))
    }

    /// Pages of each leaf halfway through the horizon (the average size queries meet).
    public var pagesMidHorizon: [Double] {
        zip(pagesNow, rowsAdded).map { current, added in current + (added < 0.5 ? 0 : added / statistics.rowsPerPage / 2) }
    }

    /// Largest leaf over the mean (1: even), at mid-horizon.
    public var skew: Double {
        let pages = pagesMidHorizon
        let total = pages.reduce(0, +)
        guard total > 0, let largest = pages.max() else { return 1 }
        return largest / (total / Double(pages.count))
    }

    // MARK: Pruning

    public struct Touch: Equatable, Sendable {
        /// Leaves scanned (indexes into `layout.leaves`).
        public var leaves: [Int]
        /// Leaves left after plan-time pruning (what the planner must plan for).
        public var plannedLeaves: Int
        /// False when parameters make the count an estimate (pruned at executor start).
        public var exact: Bool
    }

    /// The leaves a scan with these restrictions reads.
    public func touch(_ restrictions: [String: Restriction]) -> Touch {
        var perLevel: [Set<Int>] = []
        var planned: [Int] = []
        var exact = true
        for level in layout.levels {
            let (selected, atPlanTime, isExact) = prune(level, restrictions[level.column])
            perLevel.append(selected)
            planned.append(atPlanTime)
            exact = exact && isExact
        }
        let leaves = leafPaths.indices.filter { index in
            leafPaths[index].enumerated().allSatisfy { perLevel[$0.offset].contains($0.element) }
        }
        return Touch(leaves: leaves, plannedLeaves: planned.reduce(1, *), exact: exact)
    }

    /// Partitions of one level kept by a restriction, how many survive plan-time pruning, and
    /// whether the set is exact.
    private func prune(_ level: PartitionLevel, _ restriction: Restriction?) -> (Set<Int>, Int, Bool) {
        let all = Set(0..<level.count)
        guard let restriction else { return (all, level.count, true) }
        switch restriction {
        case .empty: return ([], 0, true)
        case let .parameterValues(count):
            let kept = Set(representative(level, count: count))
            return (kept, level.count, false)
        case .parameterRange:
            let count = max(1, Int((Double(level.count) * Selectivity.defaultRange * 10).rounded(.up)))
            return (Set(representative(level, count: count)), level.count, false)
        default:
            let kept = literalPrune(level, restriction)
            return (kept, kept.count, exactLiteral(level, restriction))
        }
    }

    private func exactLiteral(_ level: PartitionLevel, _ restriction: Restriction) -> Bool {
        if case .hash(_, let type, _) = level, type != .integer {
            if case .values = restriction { return false }
        }
        return true
    }

    /// The largest partitions stand in for ones chosen by parameter values (a pessimistic estimate).
    private func representative(_ level: PartitionLevel, count: Int) -> [Int] {
        let position = layout.levels.firstIndex(of: level) ?? 0
        var sizes = Array(repeating: 0.0, count: level.count)
        for (index, path) in leafPaths.enumerated() { sizes[path[position]] += rowsNow[index] + rowsAdded[index] / 2 }
        // Values in queries follow the data, so a typical partition (the median), not the largest.
        let ordered = sizes.indices.sorted { sizes[$0] < sizes[$1] }
        let start = max(0, ordered.count / 2 - count / 2)
        return Array(ordered[start..<min(ordered.count, start + count)])
    }

    private func literalPrune(_ level: PartitionLevel, _ restriction: Restriction) -> Set<Int> {
        switch level {
        case let .range(_, _, partitions, _, hasDefault):
            let defaultIndex = partitions.count
            switch restriction {
            case let .values(values):
                var kept = Set<Int>()
                for value in values {
                    if let index = partitions.firstIndex(where: { $0.contains(value) }) { kept.insert(index) }
                    else if hasDefault { kept.insert(defaultIndex) }
                }
                return kept
            case let .interval(lower, lowerInclusive, upper, upperInclusive):
                var kept = Set<Int>()
                for (index, bound) in partitions.enumerated() where Self.overlaps(bound, lower: lower, lowerInclusive: lowerInclusive, upper: upper, upperInclusive: upperInclusive) {
                    kept.insert(index)
                }
                if hasDefault, !Self.covers(partitions, kept: kept, lower: lower, upper: upper) { kept.insert(defaultIndex) }
                return kept
            case .nullOnly: return hasDefault ? [defaultIndex] : []
            default: return Set(0..<level.count)
            }
        case let .hash(_, type, modulus):
            switch restriction {
            case let .values(values):
                if type == .integer {
                    return Set(values.compactMap { $0.number.map { PostgresHash.partition(ofInteger: Int64($0), modulus: modulus) } })
                }
                // Text keys: which partition is unknown here, so the expected number of distinct ones.
                let expected = Double(modulus) * (1 - pow(1 - 1 / Double(modulus), Double(values.count)))
                return Set(0..<max(1, min(modulus, Int(expected.rounded()))))
            case .nullOnly: return [0]
            default: return Set(0..<modulus)
            }
        case let .list(_, type, partitions, hasDefault):
            let defaultIndex = partitions.count
            let parsed = partitions.map { $0.map { $0.flatMap { Scalar($0, type: type) } } }
            switch restriction {
            case let .values(values):
                var kept = Set<Int>()
                for value in values {
                    if let index = parsed.firstIndex(where: { $0.contains(value) }) { kept.insert(index) }
                    else if hasDefault { kept.insert(defaultIndex) }
                }
                return kept
            case .nullOnly:
                if let index = parsed.firstIndex(where: { $0.contains(nil) }) { return [index] }
                return hasDefault ? [defaultIndex] : []
            case let .interval(lower, lowerInclusive, upper, upperInclusive):
                var kept = Set<Int>()
                for (index, values) in parsed.enumerated() where values.contains(where: { value in
                    guard let value else { return false }
                    return (lower.map { value > $0 || (lowerInclusive && value == $0) } ?? true)
                        && (upper.map { value < $0 || (upperInclusive && value == $0) } ?? true)
                }) { kept.insert(index) }
                // A range over a list key always keeps the default partition (values between the listed ones).
                if hasDefault { kept.insert(defaultIndex) }
                return kept
            default: return Set(0..<level.count)
            }
        }
    }

    static func overlaps(_ bound: RangeBound, lower: Scalar?, lowerInclusive: Bool, upper: Scalar?, upperInclusive: Bool) -> Bool {
        if let lower, let partitionUpper = bound.upper, partitionUpper <= lower { return false }
        if let upper, let partitionLower = bound.lower {
            if partitionLower > upper || (partitionLower == upper && !upperInclusive) { return false }
        }
        return true
    }

    /// Whether the kept range partitions cover [lower, upper] without a gap (else the DEFAULT
    /// partition may hold matching rows).
    static func covers(_ partitions: [RangeBound], kept: Set<Int>, lower: Scalar?, upper: Scalar?) -> Bool {
        let ordered = kept.map { partitions[$0] }.sorted { ($0.lower.map { [$0] } ?? []).lexicographicallyPrecedes($1.lower.map { [$0] } ?? []) }
        guard let first = ordered.first else { return false }
        if let low = first.lower, lower.map({ $0 < low }) ?? true { return false }
        var reach = first.upper
        for bound in ordered.dropFirst() {
            guard let current = reach else { return true }
            if let start = bound.lower, start > current { return false }
            reach = bound.upper
        }
        guard let end = reach else { return true }
        return upper.map { $0 < end } ?? false
    }

    // MARK: Row fractions

    /// The share of the table's rows in each partition of a level.
    static func fractions(_ level: PartitionLevel, estimate: Selectivity?, rows: Double) -> [Double] {
        let uniform = Array(repeating: 1 / Double(max(1, level.count)), count: level.count)
        guard let estimate else { return uniform }
        switch level {
        case let .range(_, _, partitions, _, hasDefault):
            var shares = partitions.map { bound in
                estimate.between(lower: bound.lower.map { ($0, true) }, upper: bound.upper.map { ($0, false) })
            }
            if hasDefault { shares.append(estimate.column.nullFraction) }
            return normalized(shares)
        case let .hash(_, type, modulus):
            var shares = Array(repeating: 0.0, count: modulus)
            shares[0] += estimate.column.nullFraction
            var placed = 0.0
            if type == .integer {
                for (value, frequency) in estimate.mostCommon {
                    guard let number = value.number else { continue }
                    shares[PostgresHash.partition(ofInteger: Int64(number), modulus: modulus)] += frequency
                    placed += frequency
                }
            }
            let rest = max(0, 1 - estimate.column.nullFraction - placed) / Double(modulus)
            return normalized(shares.map { $0 + rest })
        case let .list(_, type, partitions, hasDefault):
            var shares = partitions.map { values in
                values.reduce(0.0) { sum, text in
                    guard let text else { return sum + estimate.column.nullFraction }
                    return sum + (Scalar(text, type: type).map(estimate.equal) ?? 0)
                }
            }
            if hasDefault { shares.append(max(0, 1 - shares.reduce(0, +))) }
            return normalized(shares)
        }
    }

    /// Where new rows go, when the level's column places them differently from today's rows: the
    /// time column (new rows are newer) or a column with a category forecast.
    static func growthFractions(_ level: PartitionLevel, estimate: Selectivity?, rows: Double, growth: Growth) -> [Double]? {
        if level.column == growth.timeColumn, let now = growth.now, growth.horizonSeconds > 0, case let .range(_, _, partitions, _, hasDefault) = level {
            let end = now + growth.horizonSeconds
            var shares = partitions.map { bound -> Double in
                let low = max(now, bound.lower?.number ?? -.infinity), high = min(end, bound.upper?.number ?? .infinity)
                return max(0, high - low) / growth.horizonSeconds
            }
            if hasDefault { shares.append(0) }
            return normalized(shares)
        }
        if let forecast = growth.categoryShares[level.column], case let .list(_, _, partitions, hasDefault) = level {
            // Forecast values take their forecast share; the rest of the new rows split like today's.
            let known = forecast.values.reduce(0, +)
            let current = fractions(level, estimate: estimate, rows: rows)
            var shares = partitions.enumerated().map { index, values in
                values.reduce(0.0) { $0 + ($1.flatMap { forecast[$0] } ?? 0) } + current[index] * max(0, 1 - known)
            }
            if hasDefault {
                let listed = Set(partitions.joined().compactMap { $0 })
                let unlisted = forecast.filter { !listed.contains($0.key) }.values.reduce(0, +)
                shares.append(unlisted + current[partitions.count] * max(0, 1 - known))
            }
            return normalized(shares)
        }
        return nil
    }

    static func normalized(_ shares: [Double]) -> [Double] {
        let total = shares.reduce(0, +)
        guard total > 0 else { return shares.map { _ in 1 / Double(max(1, shares.count)) } }
        return shares.map { $0 / total }
    }

    public func estimate(_ column: String) -> Selectivity? { estimates[column] }
}
