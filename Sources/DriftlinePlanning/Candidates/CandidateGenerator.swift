import Foundation

/// Candidate layouts for a table from how its columns are queried: range on time or ordered
/// columns (several interval sizes), hash on high-cardinality equality keys (several moduli), list
/// on low-cardinality categories (forecast categories get a partition ahead of time), and two-level
/// composites of the best single-level ones. Cost decides among them.
public struct CandidateGenerator: Sendable {
    public let statistics: TableStatistics
    public let configuration: PlannerConfiguration
    public let growth: LayoutModel.Growth
    /// Values a forecast expects to appear in a column (they get their own list partition).
    public let forecastValues: [String: [String]]

    public init(statistics: TableStatistics, configuration: PlannerConfiguration, growth: LayoutModel.Growth, forecastValues: [String: [String]] = [:]) {
        self.statistics = statistics; self.configuration = configuration; self.growth = growth; self.forecastValues = forecastValues
    }

    /// How often each column is restricted, by kind of restriction.
    public struct ColumnUsage: Equatable, Sendable {
        public var equality = 0.0
        public var range = 0.0
        public var nulls = 0.0
    }

    public func usage(_ classes: [StatementClass], model: CostModel) -> [String: ColumnUsage] {
        var usage: [String: ColumnUsage] = [:]
        for statementClass in classes {
            guard let shape = statementClass.samples.first else { continue }
            for scan in shape.scans where scan.table == statistics.table {
                for (column, restriction) in model.restrictions(scan) {
                    switch restriction {
                    case .values, .parameterValues: usage[column, default: .init()].equality += statementClass.calls
                    case .interval, .parameterRange: usage[column, default: .init()].range += statementClass.calls
                    case .nullOnly: usage[column, default: .init()].nulls += statementClass.calls
                    case .empty: break
                    }
                }
            }
        }
        return usage
    }

    /// Rows at the end of the horizon, and the bytes each row takes.
    var rowsAtHorizon: Double { statistics.rows + growth.rows }
    var bytesPerRow: Double { statistics.rows > 0 ? statistics.pages * 8192 / statistics.rows : 100 }

    private func acceptable(partitions: Int) -> Bool {
        partitions >= 2 && partitions <= configuration.maximumPartitions
            && rowsAtHorizon * bytesPerRow / Double(partitions) >= configuration.minimumPartitionBytes
    }

    public func singleLevel(_ usage: [String: ColumnUsage]) -> [PartitionLevel] {
        var levels: [PartitionLevel] = []
        for column in statistics.columns {
            let estimate = Selectivity(column: column, rows: statistics.rows)
            // The time column is always a candidate, queried or not: time ranges are what most
            // tables are partitioned by (retention, maintenance), so a plan should say how it compares.
            guard let use = usage[column.name] else {
                if column.name == growth.timeColumn { levels += rangeLevels(column, estimate: estimate) }
                continue
            }
            let distinct = column.distinctCount(rows: statistics.rows)
            if column.type.isNumericAxis, use.range > 0 || column.name == growth.timeColumn {
                levels += rangeLevels(column, estimate: estimate)
            }
            if use.equality > 0, column.type == .integer || column.type == .text {
                for modulus in [4, 8, 16, 32, 64, 128, 256] where distinct >= Double(modulus) * 4 && acceptable(partitions: modulus) {
                    levels.append(.hash(column: column.name, type: column.type, modulus: modulus))
                }
            }
            if use.equality + use.nulls > 0 {
                levels += listLevels(column, estimate: estimate, distinct: distinct)
            }
        }
        return levels
    }

    /// Composites of the given first levels with second levels on another column.
    public func composites(_ firsts: [PartitionLevel], _ seconds: [PartitionLevel]) -> [PartitionLayout] {
        var layouts: [PartitionLayout] = []
        for first in firsts {
            for second in seconds where second.column != first.column {
                // Hash last: a hash level prunes only on equality, so it should not hide a range or list level below it.
                if first.kind == "hash" { continue }
                if first.count * second.count > configuration.maximumPartitions { continue }
                if !acceptable(partitions: first.count * second.count) { continue }
                layouts.append(PartitionLayout(levels: [first, second]))
            }
        }
        return layouts
    }

    // MARK: Range

    private func rangeLevels(_ column: ColumnStatistics, estimate: Selectivity) -> [PartitionLevel] {
        guard let (low, high) = estimate.range, let lowValue = low.number, var highValue = high.number, highValue > lowValue else { return [] }
        let hasDefault = column.nullFraction > 0
        if column.name == growth.timeColumn, let now = growth.now { highValue = max(highValue, now + growth.horizonSeconds) }
        var levels: [PartitionLevel] = []
        if column.type == .timestamp || column.type == .date {
            let units: [(String, Double)] = column.type == .date ? [("1 day", 86_400), ("7 days", 604_800), ("1 month", 0)]
                : [("1 hour", 3600), ("1 day", 86_400), ("7 days", 604_800), ("1 month", 0)]
            for (name, seconds) in units {
                let bounds = seconds > 0 ? Self.steps(from: lowValue, to: highValue, width: seconds, origin: Self.mondayOrigin(seconds))
                    : Self.monthSteps(from: lowValue, to: highValue)
                guard acceptable(partitions: bounds.count + 1) else { continue }
                levels.append(.range(column: column.name, type: column.type, partitions: Self.partitions(bounds), interval: name, hasDefault: hasDefault))
            }
        } else {
            for target in [8.0, 32, 128] {
                let width = Self.niceWidth((highValue - lowValue) / target)
                let bounds = Self.steps(from: lowValue, to: highValue, width: width, origin: 0)
                guard acceptable(partitions: bounds.count + 1) else { continue }
                let name = width == width.rounded() ? String(Int64(width)) : String(width)
                levels.append(.range(column: column.name, type: column.type, partitions: Self.partitions(bounds), interval: name, hasDefault: hasDefault))
            }
        }
        return levels
    }

    /// Week-long partitions start on Mondays (1970-01-05 was one), others on whole units.
    static func mondayOrigin(_ width: Double) -> Double { width == 604_800 ? 4 * 86_400 : 0 }

    /// Interior boundaries b₁ < … < bₖ: the first partition is (MINVALUE, b₁), the last (bₖ, MAXVALUE),
    /// so no value is ever without a partition; b₁ is the first step after `low`, bₖ the first at or after `high`.
    static func steps(from low: Double, to high: Double, width: Double, origin: Double) -> [Double] {
        guard width > 0 else { return [] }
        var bound = ((low - origin) / width).rounded(.down) * width + origin + width
        var bounds: [Double] = []
        while bounds.count < 100_000 {
            bounds.append(bound)
            if bound >= high { break }
            bound += width
        }
        return bounds
    }

    static func monthSteps(from low: Double, to high: Double) -> [Double] {
        var (year, month, _) = PostgresTime.civil(days: Int((low / 86_400).rounded(.down)))
        var bounds: [Double] = []
        while bounds.count < 10_000 {
            month += 1
            if month > 12 { month = 1; year += 1 }
            let bound = Double(PostgresTime.daysFromCivil(year: year, month: month, day: 1)) * 86_400
            bounds.append(bound)
            if bound >= high { break }
        }
        return bounds
    }

    static func partitions(_ bounds: [Double]) -> [RangeBound] {
        var result: [RangeBound] = []
        var lower: Scalar?
        for bound in bounds {
            result.append(RangeBound(lower: lower, upper: .number(bound)))
            lower = .number(bound)
        }
        result.append(RangeBound(lower: lower, upper: nil))
        return result
    }

    /// 1, 2 or 5 × 10ⁿ at or above `raw`.
    static func niceWidth(_ raw: Double) -> Double {
        guard raw > 0 else { return 1 }
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        for step in [1.0, 2, 5, 10] where step * magnitude >= raw { return max(1, step * magnitude) }
        return max(1, 10 * magnitude)
    }

    // MARK: List

    /// One partition per common value (and per value a forecast expects), a DEFAULT for the rest;
    /// and a coarser variant where only the values holding 10% or more get their own partition.
    /// Only for columns whose common values cover nearly all rows: otherwise the DEFAULT partition
    /// holds most of the table and prunes nothing.
    private func listLevels(_ column: ColumnStatistics, estimate: Selectivity, distinct: Double) -> [PartitionLevel] {
        guard distinct <= 64, column.type == .text || column.type == .integer || column.type == .boolean else { return [] }
        let common = estimate.mostCommon
        let covered = common.reduce(0) { $0 + $1.frequency } + column.nullFraction
        guard covered >= 0.9 else { return [] }
        let forecast = (forecastValues[column.name] ?? []).filter { !column.mostCommonValues.contains($0) }
        var levels: [PartitionLevel] = []
        var seen: Set<[[String?]]> = []
        for threshold in [0.0, 0.10] {
            var values: [[String?]] = zip(column.mostCommonValues, column.mostCommonFrequencies).filter { $0.1 >= threshold }.map { [$0.0] }
            values += forecast.map { [$0] }
            if column.nullFraction >= max(0.01, threshold) { values.append([nil]) }
            guard !values.isEmpty, values.count + 1 <= configuration.maximumPartitions, seen.insert(values).inserted else { continue }
            levels.append(.list(column: column.name, type: column.type, partitions: values, hasDefault: true))
        }
        return levels
    }
}
