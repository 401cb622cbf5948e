import ArgumentParser
import DriftlinePlanning
import DriftlineSampleData
import DriftlineSQL
import DriftlineServiceRuntime
import DriftlineTargets
import Foundation

struct PlanBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Planning time for a large server log vs parsing it once; with --pg, predictions vs EXPLAIN on a large table.",
        discussion: """
            Part 1 writes a PostgreSQL server log of --statements statements (a mixed workload: time ranges, \
            user lookups, categories) and times `driftline plan`'s path over it (read, fingerprint, sample, \
            extract, cost every candidate, decide) against the floor any libpg_query-based planner pays: \
            fingerprinting every statement once, in the same process. Wall and CPU time, best of --repeats. \
            Part 2 (--pg) creates a --rows table in a database of its own, plans it, materialises the \
            recommendation and the next alternatives, and compares predicted with measured buffers \
            (EXPLAIN (ANALYZE, BUFFERS)) per layout. The database is dropped afterwards.
            """
    )

    @Option(help: "Statements in the generated log.") var statements: Int = 100_000
    @Option(help: "Repetitions; the best run of each side is reported.") var repeats: Int = 3
    @Option(help: "A PostgreSQL server for part 2 (postgres://user@host:port/db); the user must be allowed to create databases.") var pg: String?
    @Option(help: "Rows of part 2's table.") var rows: Int = 1_000_000

    func validate() throws {
        guard statements >= 10 else { throw ValidationError("--statements must be at least 10") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        guard rows >= 10_000 else { throw ValidationError("--rows must be at least 10000") }
    }

    func run() async throws {
        let generated = PartitioningScenario.mixedWorkload(count: statements)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("driftline-bench-plan-\(getpid()).log").path
        try Data(PartitioningScenario.serverLog(generated).utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }  // a temporary file
        print("bench plan: \(statements) statements, \(try FileManager.default.attributesOfItem(atPath: path)[.size] ?? 0) bytes of server log")

        let statistics = Self.statistics(rows: 1_000_000)
        var best: (wall: Double, cpu: Double, plan: PartitionPlan?) = (.infinity, .infinity, nil)
        var floor: (wall: Double, cpu: Double) = (.infinity, .infinity)
        for _ in 0..<repeats {
            let (wall, cpu) = try measure {
                for statement in generated { _ = try PostgresParser.fingerprint(statement) }
            }
            floor = (min(floor.wall, wall), min(floor.cpu, cpu))
            var plan: PartitionPlan?
            let (planWall, planCPU) = try measure {
                var workload = Workload()
                _ = try StatementFile.read(path, into: &workload)
                plan = try Planner.plan(PlanningInput(statistics: statistics, workload: workload, statisticsSource: "generated (bench)"))
            }
            if planWall < best.wall { best = (planWall, min(best.cpu, planCPU), plan) } else { best.cpu = min(best.cpu, planCPU) }
        }
        print(String(format: "fingerprint only (floor): %.3f s wall, %.3f s CPU (%.0f statements/s)", floor.wall, floor.cpu, Double(statements) / floor.wall))
        print(String(format: "driftline plan path:      %.3f s wall, %.3f s CPU (%.0f statements/s), %.2f× the floor's CPU",
                     best.wall, best.cpu, Double(statements) / best.wall, best.cpu / floor.cpu))
        if let plan = best.plan { print("decision: \(plan.decision.rawValue) \(plan.strategy.summary) (\(plan.estimated.perClass.count) classes, \(plan.alternatives.count) alternatives)") }

        if let pg { try await measureOnPostgres(pg) }
    }

    private func measure(_ body: () throws -> Void) throws -> (wall: Double, cpu: Double) {
        let cpuStart = processCPUSeconds(), start = DispatchTime.now()
        try body()
        return (seconds(since: start), processCPUSeconds() - cpuStart)
    }

    /// Statistics shaped like `PartitioningScenario`'s table, for planning without a server.
    static func statistics(rows: Double) -> TableStatistics {
        let start = PostgresTime.seconds("2026-01-01")!
        let times = (0...100).map { PostgresTime.text(seconds: start + Double($0) * 0.6 * 86_400, type: .timestamp) }
        let users = (0...100).map { String(Int(pow(Double($0) / 100, 3) * 50_000)) }
        return TableStatistics(
            table: "events", rows: rows, pages: rows / 85, totalBytes: rows * 96,
            columns: [
                ColumnStatistics(name: "id", type: .integer, distinct: -1, histogramBounds: (0...100).map { String(Int(rows) / 100 * $0) }, correlation: 1),
                ColumnStatistics(name: "ts", type: .timestamp, distinct: -1, histogramBounds: times, correlation: 1),
                ColumnStatistics(name: "user_id", type: .integer, distinct: 30_000, histogramBounds: users, correlation: 0),
                ColumnStatistics(name: "category", type: .text, distinct: 4, mostCommonValues: ["a", "b", "c", "d"], mostCommonFrequencies: [0.45, 0.3, 0.15, 0.1]),
                ColumnStatistics(name: "amount", type: .numeric, distinct: 10_000),
                ColumnStatistics(name: "note", type: .text, distinct: -1, averageWidth: 33),
            ])
    }

    /// Part 2: a large table on a real server, the recommendation and two alternatives measured.
    private func measureOnPostgres(_ url: String) async throws {
        let database = "driftline_bench_plan_\(getpid())"
        try await PostgresCatalog.withCatalog(url) { admin in
            try await admin.execute("CREATE DATABASE \(database)")
        }
        guard var components = URLComponents(string: url) else { throw ValidationError("--pg '\(url)' is not a URL") }
        components.path = "/" + database
        let benchURL = components.string ?? url
        do {
            try await PostgresCatalog.withCatalog(benchURL) { catalog in
                let start = DispatchTime.now()
                for statement in PartitioningScenario.createTable(schema: "base", rows: rows) { try await catalog.execute(statement) }
                print(String(format: "part 2: %d rows loaded and analyzed in %.1f s", rows, seconds(since: start)))
                try await catalog.execute("SET max_parallel_workers_per_gather = 0")
                var workload = Workload()
                for statement in PartitioningScenario.mixedWorkload(count: 400) { workload.add(LoggedStatement(sql: statement)) }
                let (statistics, _) = try await catalog.statistics("base.events")
                var configuration = PlannerConfiguration()
                configuration.periodDays = 1
                let evaluation = try Planner.evaluate(PlanningInput(statistics: statistics, workload: workload, growthRowsPerDay: 0,
                                                                    growthSource: "none (measuring today's data)", configuration: configuration))
                print("decision: \(evaluation.plan.decision.rawValue) \(evaluation.plan.strategy.summary)")
                var layouts = [("current", evaluation.current)]
                for (index, candidate) in evaluation.candidates.prefix(3).enumerated() { layouts.append(("c\(index)", candidate)) }
                var measuredNow = 0.0
                for (schema, cost) in layouts {
                    if schema != "current" { try await catalog.materialise(cost.layout, source: ("base", "events"), into: (schema, "events")) }
                    let model = LayoutModel(layout: cost.layout, statistics: statistics, growth: .none)
                    var predicted = 0.0, measured = 0.0
                    for statementClass in cost.classes.map(\.statementClass) {
                        var p = 0.0, m = 0.0
                        for (shape, sql) in zip(statementClass.samples, statementClass.sampleText) {
                            p += evaluation.costModel.execution(shape, on: model)?.buffers ?? 0
                            m += try await catalog.measure(sql, schema: schema == "current" ? "base" : schema).buffers
                        }
                        let weight = statementClass.calls / Double(statementClass.samples.count)
                        predicted += p * weight
                        measured += m * weight
                    }
                    if schema == "current" { measuredNow = measured }
                    let name = cost.layout.summary.padding(toLength: max(52, cost.layout.summary.count), withPad: " ", startingAt: 0)
                    print(String(format: "  %@ predicted %10.0f buffers/day, measured %10.0f (%.2f×), measured improvement %.3f",
                                 name, predicted, measured, measured > 0 ? predicted / measured : 0, measuredNow > 0 ? 1 - measured / measuredNow : 0))
                }
                print(String(format: "predicted improvement of the recommendation: %.3f", evaluation.plan.estimated.improvement))
            }
        } catch {
            try? await dropDatabase(url, database)  // already failing with the bench's error
            throw error
        }
        try await dropDatabase(url, database)
    }

    private func dropDatabase(_ url: String, _ database: String) async throws {
        try await PostgresCatalog.withCatalog(url) { admin in try await admin.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)") }
    }
}
