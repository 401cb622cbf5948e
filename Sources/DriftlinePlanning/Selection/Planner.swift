import Foundation

/// Everything a plan is made from, as plain values.
public struct PlanningInput: Sendable {
    public var statistics: TableStatistics
    public var workload: Workload
    /// Rows per day the table gains, when a forecast knows (the detector's growth prediction).
    public var growthRowsPerDay: Double?
    public var growthSource: String?
    /// Per column, the share of new rows each value is forecast to take (drift forecast).
    public var categoryForecast: [String: [String: Double]]
    public var configuration: PlannerConfiguration
    /// Where statistics came from, for the plan's assumptions.
    public var statisticsSource: String
    public var notes: [String]

    public init(statistics: TableStatistics, workload: Workload, growthRowsPerDay: Double? = nil, growthSource: String? = nil,
                categoryForecast: [String: [String: Double]] = [:], configuration: PlannerConfiguration = .init(),
                statisticsSource: String = "PostgreSQL catalog (pg_class, pg_stats)", notes: [String] = []) {
        self.statistics = statistics; self.workload = workload; self.growthRowsPerDay = growthRowsPerDay; self.growthSource = growthSource
        self.categoryForecast = categoryForecast; self.configuration = configuration; self.statisticsSource = statisticsSource; self.notes = notes
    }
}

public enum PlanningError: Error, Equatable, CustomStringConvertible {
    case noStatements(table: String, classes: Int, unparsed: Double)
    case noStatistics(table: String)

    public var description: String {
        switch self {
        case let .noStatements(table, classes, unparsed):
            "no statement in the workload reads or writes \(table) (\(classes) statement classes for other tables; \(Int(unparsed)) statements could not be parsed)"
        case let .noStatistics(table):
            "no statistics for \(table): run ANALYZE on it, or give a metadata store with the source that feeds it"
        }
    }
}

/// Chooses a layout: cost every candidate and the current layout over the horizon; recommend a
/// change only when its saving beats the re-partitioning cost by the margin.
public enum Planner {
    public static func plan(_ input: PlanningInput) throws(PlanningError) -> PartitionPlan {
        try evaluate(input).plan
    }

    /// The plan with the costs behind it (the validation against PostgreSQL materialises these).
    public struct Evaluation: Sendable {
        public var plan: PartitionPlan
        public var current: CostModel.LayoutCost
        /// Every valid candidate, cheapest first (the current layout excluded).
        public var candidates: [CostModel.LayoutCost]
        public var costModel: CostModel
        public var periodDays: Double
    }

    public static func evaluate(_ input: PlanningInput) throws(PlanningError) -> Evaluation {
        let statistics = input.statistics
        let configuration = input.configuration
        guard statistics.rows > 0 || !statistics.columns.isEmpty else { throw .noStatistics(table: statistics.table) }
        let classes = input.workload.classes(touching: statistics.table)
        guard !classes.isEmpty else {
            throw .noStatements(table: statistics.table, classes: input.workload.classes.count, unparsed: input.workload.unparsed)
        }
        var assumptions = ["statistics: \(input.statisticsSource)"]
        var notes = input.notes

        let periodDays: Double
        if let days = configuration.periodDays { periodDays = days; assumptions.append("the workload covers \(format(days)) days (given)") }
        else if let days = input.workload.periodDays { periodDays = days; assumptions.append("the workload covers \(format(days * 24)) hours (log times)") }
        else { periodDays = 1; assumptions.append("the workload is one day's statements (no times in the input)") }

        let growth = growthModel(input, assumptions: &assumptions)
        let costModel = CostModel(configuration: configuration, statistics: statistics, growth: growth)
        let generator = CandidateGenerator(statistics: statistics, configuration: configuration, growth: growth,
                                           forecastValues: input.categoryForecast.mapValues { Array($0.keys).sorted() })
        let current: PartitionLayout
        if case let .partitioned(layout, _, _) = statistics.layout { current = layout } else { current = .none }
        let keep = costModel.cost(current, workload: classes, periodDays: periodDays)

        // Single-level candidates, then composites of the best level per column.
        let usage = generator.usage(classes, model: costModel)
        let singles = generator.singleLevel(usage).map { costModel.cost(PartitionLayout(levels: [$0]), workload: classes, periodDays: periodDays) }
        var bestPerColumn: [String: CostModel.LayoutCost] = [:]
        for cost in singles {
            let column = cost.layout.levels[0].column
            if bestPerColumn[column].map({ cost.total < $0.total }) ?? true { bestPerColumn[column] = cost }
        }
        let leaders = bestPerColumn.values.sorted { $0.total < $1.total }.prefix(3).map { $0.layout.levels[0] }
        let seconds = singles.map { $0.layout.levels[0] }.filter { level in leaders.contains { $0.column != level.column } }
        let composites = generator.composites(leaders, seconds).map { costModel.cost($0, workload: classes, periodDays: periodDays) }
        var candidates = (singles + composites).filter { $0.layout != current }

        // PostgreSQL's rule: every unique constraint must include all partition key columns.
        var alternatives: [PartitionPlan.Alternative] = []
        candidates.removeAll { cost in
            guard let key = statistics.uniqueKeys.first(where: { key in !cost.layout.columns.allSatisfy(key.contains) }) else { return false }
            alternatives.append(.init(strategy: .init(cost.layout), cost: cost.total,
                                      whyNot: "unique key (\(key.joined(separator: ", "))) does not include \(cost.layout.columns.joined(separator: ", ")); PostgreSQL requires partition keys in every unique constraint"))
            return true
        }

        let resources = PartitionPlan.Resources(
            rows: statistics.rows, bytes: statistics.totalBytes, tempBytes: statistics.totalBytes,
            seconds: statistics.rows / configuration.copyRowsPerSecond)
        let moveCost = resources.seconds * configuration.scanBuffersPerSecond
        assumptions.append("re-partitioning copies \(format(statistics.rows)) rows at \(format(configuration.copyRowsPerSecond)) rows/s; a second is \(format(configuration.scanBuffersPerSecond)) buffer reads")
        assumptions.append("costs are buffer accesses (8 KiB pages, as EXPLAIN (BUFFERS) counts them) over \(format(configuration.horizonDays)) days; planning costs \(format(configuration.planningBuffersPerPartition)) per partition left after plan-time pruning")
        candidates.sort { $0.total + moveCost < $1.total + moveCost }

        let best = candidates.first
        let saving = best.map { keep.total - $0.total } ?? 0
        let improvement = best.map { keep.workload > 0 ? 1 - $0.workload / keep.workload : 0 } ?? 0
        let decision: PartitionPlan.Decision
        let reason: String
        if let best, saving >= (1 + configuration.margin) * moveCost, improvement >= configuration.minimumImprovement {
            decision = .repartition
            reason = "\(best.layout.summary) cuts the workload's cost by \(percent(improvement)) over \(format(configuration.horizonDays)) days; "
                + "the saving (\(format(saving)) buffer reads) is \(format(moveCost > 0 ? saving / moveCost : .infinity))× the re-partitioning cost (\(format(moveCost)))"
        } else {
            decision = .keep
            if let best {
                if improvement < configuration.minimumImprovement {
                    reason = "the best candidate, \(best.layout.summary), cuts the workload's cost by only \(percent(max(0, improvement))) (at least \(percent(configuration.minimumImprovement)) is required)"
                } else {
                    reason = "the best candidate, \(best.layout.summary), saves \(format(max(0, saving))) buffer reads over \(format(configuration.horizonDays)) days, less than \(format(1 + configuration.margin))× the re-partitioning cost (\(format(moveCost)))"
                }
            } else {
                reason = "no candidate layout applies: no column is restricted in a way partitioning can prune"
            }
        }
        let chosen = decision == .repartition ? best! : keep
        for candidate in candidates where decision == .keep || candidate.layout != chosen.layout {
            let why: String
            if candidate.total >= keep.total { why = "costs \(percent(keep.total > 0 ? candidate.total / keep.total - 1 : 0)) more than the current layout" }
            else if decision == .keep { why = "saves \(format(keep.total - candidate.total)) buffer reads, which does not justify moving the table" }
            else { why = "costs \(percent(chosen.total > 0 ? candidate.total / chosen.total - 1 : 0)) more than the recommendation" }
            alternatives.append(.init(strategy: .init(candidate.layout), cost: candidate.total, whyNot: why))
        }
        alternatives.sort { $0.cost < $1.cost }

        let perClass = zip(keep.classes, chosen.classes).map { now, new in
            PartitionPlan.ClassEstimate(
                fingerprint: now.statementClass.fingerprint, statement: now.statementClass.normalized, kind: now.statementClass.kind.rawValue,
                callsPerDay: now.callsPerDay, predicates: predicates(now.statementClass, costModel: costModel),
                partitionsNow: now.partitions, partitionsNew: new.partitions, buffersNow: now.buffers, buffersNew: new.buffers,
                exactPruning: now.exact && new.exact)
        }
        if input.workload.unparsed > 0 {
            notes.append("\(format(input.workload.unparsed)) statements could not be parsed and were left out: " + input.workload.unparsedExamples.joined(separator: "; "))
        }
        if input.workload.droppedClasses > 0 { notes.append("\(format(input.workload.droppedClasses)) statements beyond \(Workload.maximumClasses) classes were left out") }
        let writes = classes.filter { $0.kind == .insert }.reduce(0) { $0 + $1.calls }
        if writes > 0 { notes.append("\(format(writes)) INSERTs: row routing to partitions is not costed") }
        if chosen.skew > 2, decision == .repartition { notes.append("largest partition is \(format(chosen.skew))× the mean: parallel scans over it finish last") }
        if decision == .repartition, chosen.partitionsToCreate > 0 {
            notes.append("\(chosen.partitionsToCreate) partitions for rows arriving within the horizon are created up front")
        }

        let plan = PartitionPlan(
            table: "\(statistics.schema).\(statistics.table)", decision: decision, reason: reason,
            strategy: .init(decision == .repartition ? chosen.layout : current),
            ddl: decision == .repartition ? PartitionDDL.statements(for: chosen.layout, schema: statistics.schema, table: statistics.table) : [],
            estimated: .init(perClass: perClass, totalCostNow: keep.total, totalCostNew: chosen.total,
                             improvement: decision == .repartition ? improvement : 0, horizonDays: configuration.horizonDays, unit: "buffer accesses"),
            resources: decision == .repartition ? resources : .init(rows: 0, bytes: 0, tempBytes: 0, seconds: 0),
            assumptions: assumptions, alternatives: Array(alternatives.prefix(12)), notes: notes)
        return Evaluation(plan: plan, current: keep, candidates: candidates, costModel: costModel, periodDays: periodDays)
    }

    /// The time column (the timestamp or date column most correlated with storage order), where
    /// "now" is its latest value, and the rows added over the horizon.
    static func growthModel(_ input: PlanningInput, assumptions: inout [String]) -> LayoutModel.Growth {
        let statistics = input.statistics
        let horizonSeconds = input.configuration.horizonDays * 86_400
        let timeColumns = statistics.columns.filter { $0.type == .timestamp || $0.type == .date }
        let time = timeColumns.max { abs($0.correlation ?? 0) < abs($1.correlation ?? 0) }
        let range = time.flatMap { Selectivity(column: $0, rows: statistics.rows).range }
        let now = range?.1.number
        var rows = 0.0
        if let perDay = input.growthRowsPerDay {
            rows = perDay * input.configuration.horizonDays
            assumptions.append("growth: \(format(perDay)) rows/day from \(input.growthSource ?? "the forecast")")
        } else if let time, let range, let low = range.0.number, let high = range.1.number, high - low >= 3600, abs(time.correlation ?? 0) >= 0.5 {
            let perDay = statistics.rows / ((high - low) / 86_400)
            rows = perDay * input.configuration.horizonDays
            assumptions.append("growth: \(format(perDay)) rows/day, the rate at which \(time.name) filled the table (no forecast given)")
        } else {
            assumptions.append("growth: none (no forecast, no time column filled in order)")
        }
        if let time { assumptions.append("time column: \(time.name); new rows arrive after its latest value") }
        let shares = input.categoryForecast.filter { statistics.column($0.key) != nil }
        if !shares.isEmpty {
            assumptions.append("category forecast for " + shares.keys.sorted().map { column in
                "\(column): " + shares[column]!.sorted { $0.key < $1.key }.map { "\($0.key) \(percent($0.value))" }.joined(separator: ", ")
            }.joined(separator: "; ") + " of new rows")
        }
        return LayoutModel.Growth(rows: rows, timeColumn: time?.name, now: now, horizonSeconds: horizonSeconds, categoryShares: shares)
    }

    static func predicates(_ statementClass: StatementClass, costModel: CostModel) -> [PartitionPlan.Predicate] {
        guard let shape = statementClass.samples.first else { return [] }
        var result: [PartitionPlan.Predicate] = []
        for scan in shape.scans where scan.table == costModel.statistics.table {
            for (column, atoms) in scan.restrictions(columns: Set(costModel.statistics.columns.map(\.name))).sorted(by: { $0.key < $1.key }) {
                for kind in Set(atoms.map(\.kindName)).sorted() {
                    result.append(.init(column: column, kind: kind, parameterized: atoms.contains { $0.kindName == kind && $0.isParameterized }))
                }
            }
        }
        let table = costModel.statistics.table
        for key in shape.joinKeys where key.hasPrefix(table + ".") { result.append(.init(column: String(key.dropFirst(table.count + 1)), kind: "join_key", parameterized: false)) }
        for key in shape.groupBy where key.hasPrefix(table + ".") { result.append(.init(column: String(key.dropFirst(table.count + 1)), kind: "group_by", parameterized: false)) }
        for key in shape.orderBy where key.hasPrefix(table + ".") { result.append(.init(column: String(key.dropFirst(table.count + 1)), kind: "order_by", parameterized: false)) }
        return result
    }

    static func format(_ value: Double) -> String {
        if value.isInfinite { return "∞" }
        if abs(value) >= 1e9 { return String(format: "%.2fG", value / 1e9) }
        if abs(value) >= 1e6 { return String(format: "%.2fM", value / 1e6) }
        if abs(value) >= 1e4 { return String(format: "%.1fk", value / 1e3) }
        return value == value.rounded() ? String(Int64(value)) : String(format: "%.2f", value)
    }

    static func percent(_ fraction: Double) -> String { String(format: "%.0f%%", fraction * 100) }
}
