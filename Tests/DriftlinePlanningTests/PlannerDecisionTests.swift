import DriftlinePlanning
import Testing

/// Decisions on statistics given as values (no database): what growth, drift forecasts and
/// PostgreSQL's rules do to the answer.
@Suite struct PlannerDecisionTests {
    /// 60 days of events, 5,000 a day, filled in time order; a category of three values.
    static func statistics(rows: Double = 300_000, days: Double = 60, layout: CurrentLayout = .unpartitioned, uniqueKeys: [[String]] = []) -> TableStatistics {
        let start = PostgresTime.seconds("2026-01-01")!
        let bounds = (0...100).map { PostgresTime.text(seconds: start + Double($0) / 100 * days * 86_400, type: .timestamp) }
        return TableStatistics(
            table: "events", rows: rows, pages: rows / 100, totalBytes: rows * 82,
            columns: [
                ColumnStatistics(name: "id", type: .integer, distinct: -1, histogramBounds: (0...100).map { String(Int(rows) / 100 * $0) }, correlation: 1),
                ColumnStatistics(name: "ts", type: .timestamp, distinct: -1, histogramBounds: bounds, correlation: 1),
                ColumnStatistics(name: "category", type: .text, distinct: 3, mostCommonValues: ["a", "b", "c"], mostCommonFrequencies: [0.5, 0.3, 0.2]),
                ColumnStatistics(name: "user_id", type: .integer, distinct: 50_000, histogramBounds: (0...100).map { String(500 * $0) }),
            ],
            uniqueKeys: uniqueKeys, layout: layout)
    }

    static func workload(_ statements: [(String, Double)]) -> Workload {
        var workload = Workload()
        for (sql, calls) in statements { workload.add(LoggedStatement(sql: sql, calls: calls)) }
        return workload
    }

    static let recentDay = [("SELECT count(*) FROM events WHERE ts >= '2026-02-20' AND ts < '2026-02-21'", 2.0)]

    @Test func growthMakesRangePartitioningPayOffWithinTheHorizon() throws {
        var configuration = PlannerConfiguration()
        configuration.periodDays = 1
        // A few daily reports on a table that barely grows: moving 300k rows does not pay back in 30 days.
        let still = try Planner.plan(PlanningInput(statistics: Self.statistics(), workload: Self.workload(Self.recentDay),
                                                    growthRowsPerDay: 0, configuration: configuration))
        #expect(still.decision == .keep, "\(still.reason)")
        // The same reports on a table forecast to grow by 200k rows a day: every scan of the unpartitioned
        // table reads the new rows too, day partitions do not.
        let growing = try Planner.plan(PlanningInput(statistics: Self.statistics(), workload: Self.workload(Self.recentDay),
                                                      growthRowsPerDay: 200_000, configuration: configuration))
        #expect(growing.decision == .repartition, "\(growing.reason)")
        #expect(growing.strategy.columns == ["ts"])
        #expect(growing.assumptions.contains { $0.contains("200.0k rows/day") })
        // Partitions for the horizon's rows exist up front: the last bound is past now + 30 days.
        let lastBound = try #require(growing.strategy.levels.first?.parameters["last_bound"].flatMap(PostgresTime.seconds))
        #expect(lastBound >= PostgresTime.seconds("2026-03-02")! + 30 * 86_400)
    }

    @Test func aForecastCategoryBreaksTheCurrentListLayout() throws {
        // Today: list partitions a, b, c and a default holding e, f and 48 rare values (20% of rows).
        var statistics = Self.statistics()
        statistics.columns[2] = ColumnStatistics(name: "category", type: .text, distinct: 53, mostCommonValues: ["a", "b", "c", "e", "f"],
                                                 mostCommonFrequencies: [0.4, 0.25, 0.15, 0.05, 0.05])
        let layout = PartitionLayout(levels: [.list(column: "category", type: .text, partitions: [["a"], ["b"], ["c"]], hasDefault: true)])
        statistics.layout = .partitioned(layout, partitionPages: [1200, 750, 450, 600], partitionRows: [120_000, 75_000, 45_000, 60_000])
        let queries = [("SELECT count(*) FROM events WHERE category = 'd'", 10.0), ("SELECT count(*) FROM events WHERE category = 'e'", 5.0)]
        var configuration = PlannerConfiguration()
        configuration.periodDays = 1
        let input = PlanningInput(statistics: statistics, workload: Self.workload(queries), growthRowsPerDay: 5000, configuration: configuration)
        let without = try Planner.plan(input)
        #expect(without.decision == .keep, "\(without.reason)")
        // The drift forecast: `d`, unseen so far, takes 60% of new rows. They land in the default
        // partition, which every `d` and `e` query scans; a layout with `d` (and `e`) of their own wins.
        var forecast = input
        forecast.categoryForecast = ["category": ["d": 0.6, "a": 0.2, "b": 0.1, "c": 0.1]]
        let with = try Planner.plan(forecast)
        #expect(with.decision == .repartition, "\(with.reason)")
        let level = try #require(with.strategy.levels.first { $0.kind == "list" })
        #expect(level.parameters["values"]?.split(separator: ",").contains("d") == true)
        #expect(with.ddl.contains { $0.contains("FOR VALUES IN ('d')") })
        #expect(with.assumptions.contains { $0.contains("d 60%") })
    }

    @Test func uniqueKeysMustIncludeThePartitionKey() throws {
        var configuration = PlannerConfiguration()
        configuration.periodDays = 1
        let queries = [("SELECT * FROM events WHERE user_id = 42", 5000.0)]
        let plan = try Planner.plan(PlanningInput(statistics: Self.statistics(uniqueKeys: [["id"]]), workload: Self.workload(queries),
                                                   growthRowsPerDay: 0, configuration: configuration))
        // hash(user_id) would win, but the primary key (id) does not contain user_id.
        #expect(plan.strategy.columns.contains("user_id") == false || plan.decision == .keep)
        #expect(plan.alternatives.contains { $0.whyNot.contains("unique key (id)") && $0.strategy.columns == ["user_id"] })
    }

    @Test func aLogWithoutTheTableIsAClearError() {
        let workload = Self.workload([("SELECT * FROM users WHERE id = 1", 1)])
        #expect(throws: PlanningError.noStatements(table: "events", classes: 1, unparsed: 0)) {
            try Planner.plan(PlanningInput(statistics: Self.statistics(), workload: workload))
        }
    }

    @Test func unparsableStatementsAreNotedNotFatal() throws {
        var workload = Self.workload(Self.recentDay)
        workload.add(LoggedStatement(sql: "SELECT FROM WHERE garbage ((("))
        let plan = try Planner.plan(PlanningInput(statistics: Self.statistics(), workload: workload))
        #expect(plan.notes.contains { $0.contains("1 statements could not be parsed") })
    }

    @Test func selectivityFollowsPostgres() {
        let column = ColumnStatistics(name: "c", type: .integer, nullFraction: 0.1, distinct: 20,
                                      mostCommonValues: ["1", "2"], mostCommonFrequencies: [0.4, 0.2],
                                      histogramBounds: ["10", "20", "30", "40", "50"])
        let estimate = Selectivity(column: column, rows: 1000)
        #expect(estimate.equal(.number(1)) == 0.4)
        // (1 - 0.1 - 0.6) / (20 - 2)
        #expect(abs(estimate.equal(.number(33)) - 0.3 / 18) < 1e-12)
        // MCVs 1 and 2 are below 25, plus 1.5 of 4 histogram bins of the remaining 30%.
        #expect(abs(estimate.below(.number(25), inclusive: false) - (0.6 + 0.3 * 1.5 / 4)) < 1e-12)
        #expect(abs(estimate.inList([.number(1), .number(2), .number(1)]) - 0.6) < 1e-12)
        // Two-sided range: hisel + losel - 1 + nullfrac.
        let both = estimate.between(lower: (.number(20), true), upper: (.number(40), false))
        #expect(abs(both - 0.3 * 0.5) < 1e-9)
    }

    @Test func ddlIsExactSQL() {
        let layout = PartitionLayout(levels: [
            .list(column: "category", type: .text, partitions: [["a"], ["it's"]], hasDefault: true),
            .hash(column: "user_id", type: .integer, modulus: 2),
        ])
        let ddl = PartitionDDL.statements(for: layout, schema: "public", table: "Events")
        #expect(ddl == [
            "CREATE TABLE public.\"Events_repartitioned\" (LIKE public.\"Events\" INCLUDING ALL) PARTITION BY LIST (category);",
            "CREATE TABLE public.\"Events_repartitioned_l_a\" PARTITION OF public.\"Events_repartitioned\" FOR VALUES IN ('a') PARTITION BY HASH (user_id);",
            "CREATE TABLE public.\"Events_repartitioned_l_a_h0\" PARTITION OF public.\"Events_repartitioned_l_a\" FOR VALUES WITH (MODULUS 2, REMAINDER 0);",
            "CREATE TABLE public.\"Events_repartitioned_l_a_h1\" PARTITION OF public.\"Events_repartitioned_l_a\" FOR VALUES WITH (MODULUS 2, REMAINDER 1);",
            "CREATE TABLE public.\"Events_repartitioned_l_it_s\" PARTITION OF public.\"Events_repartitioned\" FOR VALUES IN ('it''s') PARTITION BY HASH (user_id);",
            "CREATE TABLE public.\"Events_repartitioned_l_it_s_h0\" PARTITION OF public.\"Events_repartitioned_l_it_s\" FOR VALUES WITH (MODULUS 2, REMAINDER 0);",
            "CREATE TABLE public.\"Events_repartitioned_l_it_s_h1\" PARTITION OF public.\"Events_repartitioned_l_it_s\" FOR VALUES WITH (MODULUS 2, REMAINDER 1);",
            "CREATE TABLE public.\"Events_repartitioned_default\" PARTITION OF public.\"Events_repartitioned\" DEFAULT PARTITION BY HASH (user_id);",
            "CREATE TABLE public.\"Events_repartitioned_default_h0\" PARTITION OF public.\"Events_repartitioned_default\" FOR VALUES WITH (MODULUS 2, REMAINDER 0);",
            "CREATE TABLE public.\"Events_repartitioned_default_h1\" PARTITION OF public.\"Events_repartitioned_default\" FOR VALUES WITH (MODULUS 2, REMAINDER 1);",
        ])
    }
}
