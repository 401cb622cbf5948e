import DriftlinePlanning
import DriftlineTargets
import Foundation
import Testing

/// The planner against a real PostgreSQL: each scenario's recommendation and main alternatives are
/// materialised, every statement runs under EXPLAIN (ANALYZE, BUFFERS), and predictions are
/// compared with what the server really did (the table in the README comes from these runs).
@Suite(.serialized) struct PlannerValidationTests {
    struct Scenario: CustomTestStringConvertible, Sendable {
        var name: String
        /// (statement, calls per day)
        var workload: [(String, Double)]
        /// SQL that gives `base.events` its current layout (empty: unpartitioned).
        var currentLayout: String = ""
        var expectKeep = false
        /// Extra SQL run on `base.events` after loading (indexes).
        var setup: String = ""
        var testDescription: String { name }
    }

    typealias Statements = [(String, Double)]

    static let days: [String] = ["2026-01-02", "2026-01-06", "2026-01-11", "2026-01-16", "2026-01-21", "2026-01-26",
                                 "2026-01-31", "2026-02-05", "2026-02-10", "2026-02-15", "2026-02-20", "2026-02-25"]

    static func halfDays(_ calls: Double, count: Int = 12) -> Statements {
        days.prefix(count).map { day -> (String, Double) in
            ("SELECT count(*), sum(amount) FROM events WHERE ts >= '\(day) 00:00:00+00' AND ts < '\(day) 12:00:00+00'", calls)
        }
    }

    static func lookups(_ users: [Int], calls: Double) -> Statements {
        users.map { user -> (String, Double) in ("SELECT * FROM events WHERE user_id = \(user)", calls) }
    }

    static func categories(_ values: [String], calls: Double) -> Statements {
        values.map { value -> (String, Double) in ("SELECT count(*), avg(amount) FROM events WHERE category = '\(value)'", calls) }
    }

    static let timeRange: Statements = halfDays(40) + [
        ("SELECT category, count(*) FROM events WHERE ts BETWEEN '2026-02-01' AND '2026-02-07 23:59:59' GROUP BY category", 20),
        ("SELECT count(*) FROM events WHERE ts >= '2026-02-25'", 10),
    ]
    static let pointLookup: Statements = lookups([0, 1, 2, 3, 17, 999, 4242, 12345, 23456, 34567, 45678, 49999], calls: 60) + [
        ("SELECT sum(amount) FROM events WHERE user_id IN (5, 77, 31337)", 30),
        ("SELECT count(*) FROM events WHERE user_id IN (100, 200)", 30),
    ]
    static let category: Statements = categories(["a", "b", "c", "d"], calls: 50) + [
        ("SELECT count(*) FROM events WHERE category IN ('c', 'd')", 40),
        ("SELECT max(amount) FROM events WHERE category = 'zz'", 5),
    ]
    static let mixed: Statements = halfDays(20, count: 6) + lookups([7, 70, 700, 7000], calls: 30) + [
        ("SELECT count(*) FROM events WHERE category = 'd' AND ts >= '2026-02-20'", 20),
        ("SELECT count(*) FROM events WHERE category = 'c'", 10),
    ]
    static let tiny: Statements = [
        ("SELECT count(*) FROM events WHERE category = 'c'", 0.2),
        ("SELECT * FROM events WHERE user_id = 4242", 0.1),
    ]

    static let scenarios: [Scenario] = [
        Scenario(name: "time_range", workload: timeRange),
        Scenario(name: "point_lookup", workload: pointLookup),
        Scenario(name: "category", workload: category),
        Scenario(name: "mixed", workload: mixed),
        Scenario(name: "keep_already_partitioned", workload: halfDays(40), currentLayout: "daily", expectKeep: true),
        Scenario(name: "keep_too_little_to_gain", workload: tiny, expectKeep: true),
        // An index on the key: lookups of rare keys read a few pages whatever the layout, but the heavy
        // hitters read thousands of heap pages scattered over the table, which hash partitions gather.
        Scenario(name: "point_lookup_indexed", workload: pointLookup, setup: "CREATE INDEX events_user_id ON base.events (user_id); ANALYZE base.events"),
    ]

    @Test(.enabled(if: PostgresLab.available, "DRIFTLINE_TEST_POSTGRES_URL is not set: run ops/test.sh, which starts PostgreSQL"),
          arguments: scenarios)
    func predictionsMatchPostgres(_ scenario: Scenario) async throws {
        let lab = try await PostgresLab.open(scenario.name)
        do {
            try await validate(scenario, lab)
        } catch {
            await lab.close()
            throw error
        }
        await lab.close()
    }

    func validate(_ scenario: Scenario, _ lab: PostgresLab) async throws {
        try await lab.createEvents(schema: "base")
        if !scenario.setup.isEmpty { try await lab.execute(scenario.setup) }
        if scenario.currentLayout == "daily" {
            // Already partitioned by day, which suits half-day queries: the planner should see it and keep it.
            try await lab.execute("ALTER TABLE base.events RENAME TO events_source")
            try await lab.execute("CREATE TABLE base.events (LIKE base.events_source) PARTITION BY RANGE (ts)")
            for day in 0..<62 {
                try await lab.execute("""
                    CREATE TABLE base.events_d\(day) PARTITION OF base.events
                    FOR VALUES FROM (timestamptz '2025-12-31' + interval '\(day) days') TO (timestamptz '2025-12-31' + interval '\(day + 1) days')
                    """)
            }
            try await lab.execute("INSERT INTO base.events SELECT * FROM base.events_source; DROP TABLE base.events_source; ANALYZE base.events")
        }

        var configuration = PlannerConfiguration()
        configuration.minimumPartitionBytes = 256 * 1024
        configuration.periodDays = 1
        var workload = Workload()
        for (sql, calls) in scenario.workload { workload.add(LoggedStatement(sql: sql, calls: calls)) }
        let (statistics, _) = try await PostgresCatalog.withCatalog(lab.url) { try await $0.statistics("base.events") }
        // No growth: predictions are about the data as it is, which is what EXPLAIN measures.
        let input = PlanningInput(statistics: statistics, workload: workload, growthRowsPerDay: 0, growthSource: "the test", configuration: configuration)
        let evaluation = try Planner.evaluate(input)
        let plan = evaluation.plan
        if scenario.expectKeep {
            #expect(plan.decision == .keep, "\(scenario.name): \(plan.reason)")
        } else {
            #expect(plan.decision == .repartition, "\(scenario.name): \(plan.reason)")
        }

        // The current layout, the recommendation and the next alternatives: at least three candidates.
        var layouts: [(String, CostModel.LayoutCost)] = [("current", evaluation.current)]
        for (index, candidate) in evaluation.candidates.prefix(4).enumerated() { layouts.append(("c\(index)", candidate)) }
        #expect(layouts.count >= 4, "\(scenario.name): only \(layouts.count - 1) candidates")

        var measuredWeighted: [Double] = []
        var predictedWeighted: [Double] = []
        var exactChecks = 0
        for (schema, cost) in layouts {
            if schema != "current" { try await lab.catalog.materialise(cost.layout, source: ("base", "events"), into: (schema, "events")) }
            let model = LayoutModel(layout: cost.layout, statistics: statistics, growth: .none)
            var measuredTotal = 0.0, predictedTotal = 0.0
            for statementClass in cost.classes.map(\.statementClass) {
                var measuredClass = 0.0, predictedClass = 0.0
                for (shape, sql) in zip(statementClass.samples, statementClass.sampleText) {
                    let measured = try await lab.catalog.measure(sql, schema: schema == "current" ? "base" : schema)
                    let predicted = try #require(evaluation.costModel.execution(shape, on: model))
                    if predicted.exact {
                        #expect(predicted.partitions == measured.relationsScanned,
                                "\(scenario.name) \(cost.layout.summary): \(sql) — predicted \(predicted.partitions) partitions, PostgreSQL scanned \(measured.relationsScanned)")
                        exactChecks += 1
                    }
                    if schema == "current", scenario.currentLayout.isEmpty, let planRows = measured.planRows, shape.scans.count == 1, shape.groupBy.isEmpty {
                        // The planner's row estimate is PostgreSQL's own (same statistics, same formulas).
                        #expect(abs(predicted.estimatedRows - planRows) <= max(3, 0.15 * planRows),
                                "\(sql): estimated \(predicted.estimatedRows) rows, EXPLAIN estimated \(planRows)")
                    }
                    measuredClass += measured.buffers
                    predictedClass += predicted.buffers
                }
                let samples = Double(statementClass.samples.count)
                let perDay = statementClass.calls / evaluation.periodDays
                measuredTotal += perDay * measuredClass / samples
                predictedTotal += perDay * predictedClass / samples
            }
            measuredWeighted.append(measuredTotal)
            predictedWeighted.append(cost.workload)
            print("planner-validation \(scenario.name) \(schema) \(cost.layout.summary): predicted \(Int(predictedTotal)) buffers/day (cost \(Int(cost.workload))), measured \(Int(measuredTotal))")
        }
        #expect(exactChecks > 0)

        let lowest = try #require(measuredWeighted.min())
        if plan.decision == .repartition || !scenario.currentLayout.isEmpty {
            // The recommendation (or the kept layout) measures the fewest buffers, or within 10% of the fewest.
            let chosenIndex = plan.decision == .repartition ? 1 : 0
            #expect(measuredWeighted[chosenIndex] <= lowest * 1.10 + 1,
                    "\(scenario.name): the chosen layout measured \(measuredWeighted[chosenIndex]) buffers/day, the best \(lowest)")
        } else {
            // Kept because there is too little to gain: by measurement too, the best saving over the
            // horizon does not pay for moving the table.
            let moveCost = statistics.rows / configuration.copyRowsPerSecond * configuration.scanBuffersPerSecond
            let measuredSaving = (measuredWeighted[0] - lowest) * configuration.horizonDays
            #expect(measuredSaving < (1 + configuration.margin) * moveCost,
                    "\(scenario.name): measured saving \(measuredSaving) buffers over the horizon would pay for the move (\(moveCost))")
        }

        // The predicted improvement is within a factor of 2 of the measured one.
        if plan.decision == .repartition {
            let measuredImprovement = 1 - measuredWeighted[1] / measuredWeighted[0]
            let predicted = plan.estimated.improvement
            #expect(measuredImprovement > 0 && predicted / measuredImprovement <= 2 && measuredImprovement / predicted <= 2,
                    "\(scenario.name): predicted improvement \(predicted), measured \(measuredImprovement)")
            print("planner-validation \(scenario.name) improvement: predicted \(String(format: "%.3f", predicted)), measured \(String(format: "%.3f", measuredImprovement))")
        }

        // Ordering candidates by predicted cost agrees with ordering by measured buffers on ≥ 90% of pairs
        // (pairs whose measurements are within 3% of each other count as ties, and agree).
        var pairs = 0, agreeing = 0
        for i in layouts.indices {
            for j in layouts.indices where j > i {
                pairs += 1
                let measuredGap = measuredWeighted[i] - measuredWeighted[j]
                if abs(measuredGap) <= 0.03 * max(measuredWeighted[i], measuredWeighted[j]) || (measuredGap < 0) == (predictedWeighted[i] - predictedWeighted[j] < 0) {
                    agreeing += 1
                }
            }
        }
        print("planner-validation \(scenario.name) pairs: \(agreeing)/\(pairs) agree")
        try await validatePlans([String(decoding: try JSONEncoder().encode(plan), as: UTF8.self)])
        #expect(Double(agreeing) >= 0.9 * Double(pairs), "\(scenario.name): \(agreeing) of \(pairs) pairs ordered as measured")
    }
}

/// PostgresHash says which hash partition an integer key lands in; the server agrees.
@Suite struct PostgresHashTests {
    @Test(.enabled(if: PostgresLab.available, "DRIFTLINE_TEST_POSTGRES_URL is not set: run ops/test.sh, which starts PostgreSQL"))
    func rowsLandWhereThePlannerSays() async throws {
        let lab = try await PostgresLab.open("hash")
        do {
            try await lab.execute("CREATE TABLE h (k bigint) PARTITION BY HASH (k)")
            for remainder in 0..<7 { try await lab.execute("CREATE TABLE h\(remainder) PARTITION OF h FOR VALUES WITH (MODULUS 7, REMAINDER \(remainder))") }
            try await lab.execute("CREATE TABLE i (k int) PARTITION BY HASH (k)")
            for remainder in 0..<4 { try await lab.execute("CREATE TABLE i\(remainder) PARTITION OF i FOR VALUES WITH (MODULUS 4, REMAINDER \(remainder))") }
            let keys: [Int64] = [0, 1, 2, 3, 42, -1, -42, 1 << 31, -(1 << 31), 1 << 40, -(1 << 40), Int64.max, Int64.min + 1, 123_456_789]
            try await lab.execute("INSERT INTO h VALUES " + keys.map { "(\($0))" }.joined(separator: ","))
            try await lab.execute("INSERT INTO i VALUES " + keys.filter { abs($0) < (1 << 31) }.map { "(\($0))" }.joined(separator: ","))
            let placed = try await lab.scalar("SELECT string_agg(k || ':' || tableoid::regclass::text, ',' ORDER BY k) FROM h")
            for entry in placed.split(separator: ",") {
                let parts = entry.split(separator: ":")
                let key = try #require(Int64(parts[0]))
                #expect("h\(PostgresHash.partition(ofInteger: key, modulus: 7))" == String(parts[1]), "bigint \(key)")
            }
            let small = try await lab.scalar("SELECT string_agg(k || ':' || tableoid::regclass::text, ',' ORDER BY k) FROM i")
            for entry in small.split(separator: ",") {
                let parts = entry.split(separator: ":")
                let key = try #require(Int64(parts[0]))
                #expect("i\(PostgresHash.partition(ofInteger: key, modulus: 4))" == String(parts[1]), "int \(key)")
            }
        } catch {
            await lab.close()
            throw error
        }
        await lab.close()
    }
}
