import DriftlinePlanning
import Foundation
import DriftlineTestSupport
import Testing

/// Validates JSON documents with schemas/validate.py; fails when CI=true and python's jsonschema is missing.
func validatePlans(_ documents: [String]) async throws {
    let lines = try documents.map { try JSONSerialization.data(withJSONObject: try JSONSerialization.jsonObject(with: Data($0.utf8))) }
    guard let result = try await validateAgainstSchema("partition-plan.v1.json", lines) else {
        if runningInCI { Issue.record("python3 jsonschema is not installed") }
        return
    }
    #expect(result.status == 0, "plans do not match schemas/partition-plan.v1.json: \(result.output)")
}

@Suite(.serialized) struct PlanCommandTests {
    static func serverLog(_ statements: [String]) -> String {
        var lines: [String] = []
        for (index, statement) in statements.enumerated() {
            let second = index % 60, minute = (index / 60) % 60, hour = index / 3600
            let time = String(format: "2026-11-30 %02d:%02d:%02d.000 UTC", hour, minute, second)
            lines.append("\(time) [4242] LOG:  duration: 12.5 ms  statement: \(statement)")
            if index % 7 == 0 { lines.append("\(time) [4242] LOG:  checkpoint complete: wrote 3 buffers") }
        }
        lines.append("garbage that is not a log line")
        return lines.joined(separator: "\n") + "\n"
    }

    static let workload: [String] = (0..<600).map { index in
        index % 3 == 0 ? "SELECT * FROM events WHERE user_id = \(index * 37 % 50_000)"
            : "SELECT count(*) FROM events WHERE ts >= '2026-02-\(String(format: "%02d", 1 + index % 27))' AND ts < '2026-02-\(String(format: "%02d", 2 + index % 27))'"
    }

    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("plan-\(UUID().uuidString).log").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test(.enabled(if: PostgresLab.available, "DRIFTLINE_TEST_POSTGRES_URL is not set: run ops/test.sh, which starts PostgreSQL"))
    func plansFromAServerLogAndFromPgStatStatements() async throws {
        let lab = try await PostgresLab.open("command")
        do {
            try await lab.createEvents(schema: "public", rows: 100_000)
            let log = try write(Self.serverLog(Self.workload))
            let text = try await runDriftline(["plan", "--table", "events", "--queries", log, "--pg", lab.url, "--minimum-partition-mib", "0.25"])
            #expect(text.status == 0, "\(text.err)")
            #expect(text.out.contains("public.events: RE-PARTITION to"), "\(text.out)")
            #expect(text.out.contains("CREATE TABLE public.events_repartitioned (LIKE public.events INCLUDING ALL) PARTITION BY"))
            #expect(text.out.contains("1 lines of \(log) were neither statements nor log lines"))
            let json = try await runDriftline(["plan", "--table", "events", "--queries", log, "--pg", lab.url, "--format", "json", "--minimum-partition-mib", "0.25"])
            #expect(json.status == 0, "\(json.err)")
            let plan = try JSONDecoder().decode(PartitionPlan.self, from: Data(json.out.utf8))
            #expect(plan.decision == .repartition)
            #expect(plan.estimated.perClass.count == 2)
            // 600 statements over the log's 9 minutes 59 seconds: calls per day scale by the period.
            let calls = plan.estimated.perClass.reduce(0) { $0 + $1.callsPerDay }
            #expect(abs(calls - 600 / (599.0 / 86_400)) < 1)

            // Without --queries: pg_stat_statements of the same server.
            try await lab.execute("CREATE EXTENSION pg_stat_statements; SELECT pg_stat_statements_reset()")
            for statement in Self.workload.prefix(90) { try await lab.execute(statement) }
            let live = try await runDriftline(["plan", "--table", "public.events", "--pg", lab.url, "--format", "json", "--minimum-partition-mib", "0.25"])
            #expect(live.status == 0, "\(live.err)")
            let fromStatistics = try JSONDecoder().decode(PartitionPlan.self, from: Data(live.out.utf8))
            let lookups = try #require(fromStatistics.estimated.perClass.first { $0.statement.contains("user_id") })
            #expect(lookups.predicates.contains { $0.column == "user_id" && $0.kind == "equality" && $0.parameterized })
            #expect(fromStatistics.notes.contains { $0.contains("entries of pg_stat_statements") })
            try await validatePlans([json.out, live.out])
        } catch {
            await lab.close()
            throw error
        }
        await lab.close()
    }

    @Test(.enabled(if: PostgresLab.available, "DRIFTLINE_TEST_POSTGRES_URL is not set: run ops/test.sh, which starts PostgreSQL"))
    func badInputGivesClearMessages() async throws {
        let lab = try await PostgresLab.open("badinput")
        do {
            try await lab.createEvents(schema: "public", rows: 10_000)
            let log = try write(Self.serverLog(Self.workload.prefix(20).map { $0 }))
            let missing = try await runDriftline(["plan", "--table", "nosuchtable", "--queries", log, "--pg", lab.url])
            #expect(missing.status != 0)
            #expect(missing.err.contains("table nosuchtable does not exist"), "\(missing.err)")

            let other = try write(Self.serverLog(["SELECT * FROM users WHERE id = 1", "SELECT 1"]))
            let unrelated = try await runDriftline(["plan", "--table", "events", "--queries", other, "--pg", lab.url])
            #expect(unrelated.status != 0)
            #expect(unrelated.err.contains("no statement in the workload reads or writes events"), "\(unrelated.err)")

            let garbage = try write("this is not sql at all;\nneither is this (((;\n")
            let nonsense = try await runDriftline(["plan", "--table", "events", "--queries", garbage, "--pg", lab.url])
            #expect(nonsense.status != 0)
            #expect(nonsense.err.contains("2 statements could not be parsed"), "\(nonsense.err)")

            let absent = try await runDriftline(["plan", "--table", "events", "--queries", "/nonexistent/queries.log", "--pg", lab.url])
            #expect(absent.status != 0 && absent.err.contains("cannot read /nonexistent/queries.log"), "\(absent.err)")

            let unreachable = try await runDriftline(["plan", "--table", "events", "--queries", log, "--pg", "postgres://postgres@127.0.0.1:1/postgres"])
            #expect(unreachable.status != 0)
            #expect(unreachable.err.contains("cannot connect to postgres://postgres@127.0.0.1:1/postgres"), "\(unreachable.err)")

            let noStatistics = try await runDriftline(["plan", "--table", "events", "--queries", log])
            #expect(noStatistics.status != 0 && noStatistics.err.contains("give at least one"), "\(noStatistics.err)")
            let badHorizon = try await runDriftline(["plan", "--table", "events", "--queries", log, "--pg", lab.url, "--horizon", "soon"])
            #expect(badHorizon.status != 0 && badHorizon.err.contains("--horizon 'soon' is not a duration"), "\(badHorizon.err)")
        } catch {
            await lab.close()
            throw error
        }
        await lab.close()
    }
}
