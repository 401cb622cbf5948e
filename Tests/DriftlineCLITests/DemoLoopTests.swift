import Foundation
import DriftlineTestSupport
import Testing

/// The README's first command: the demo with a PostgreSQL (or SQLite) target runs the whole loop —
/// drift detected, a plan, the table re-partitioned online under a live writer, verified.
@Suite(.timeLimit(.minutes(10)))
struct DemoLoopTests {
    static let base = ProcessInfo.processInfo.environment["DRIFTLINE_TEST_POSTGRES_URL"]

    @Test(.enabled(if: base != nil || ProcessInfo.processInfo.environment["CI"] == "true", "DRIFTLINE_TEST_POSTGRES_URL is not set: run ops/test.sh, which starts PostgreSQL"))
    func theDemoPlansAndRepartitionsItsTableOnline() async throws {
        let base = try #require(Self.base, "DRIFTLINE_TEST_POSTGRES_URL is not set: ops/test.sh starts PostgreSQL")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("demo-loop-\(UUID().uuidString)").path
        // --timeout only bounds a hang (inside the suite's 10-minute limit): beside the planner
        // validation and executor suites on two cores, CI's demo had not planned after 300 s
        // (here the whole run takes about 35 s).
        let result = try await runDriftline(["demo", "--records", "20000", "--window-seconds", "10", "--target", base, "--out", out, "--timeout", "480"])
        #expect(result.status == 0, "\(result.out.suffix(1_500))\n\(result.err.suffix(3_000))")
        #expect(result.out.contains("alert [firing] Schema drift in demo.orders"))
        #expect(result.out.contains("plan for driftline_demo.orders: range(ts,"), "\(result.out)")
        #expect(result.out.contains("executor: copying"))
        #expect(result.out.contains("executor: verifying"))
        #expect(result.out.contains("executor: completed"))
        #expect(result.out.contains("verified: every row kept, the table re-partitioned online"))
        let inserted = result.out.firstMatch(of: /the application inserted (\d+) orders meanwhile \(0 failed\)/).map { Int($0.1)! }
        #expect((inserted ?? 0) > 0, "an application wrote during the run")
        let plan = out + "/plan.json"
        #expect(FileManager.default.fileExists(atPath: plan))
        #expect(FileManager.default.fileExists(atPath: out + "/drift-report.html"))
        // The plan file is the planner's contract.
        let check = try await runTool(["python3", "schemas/validate.py", "schemas/partition-plan.v1.json", plan])
        #expect(check.status == 0, "\(check.output)")
        try? FileManager.default.removeItem(atPath: out)  // a temporary folder
    }

    /// The same loop on the embedded defaults only: `--target sqlite:PATH`.
    @Test func theDemoRepartitionsASQLiteTarget() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("demo-sqlite-\(UUID().uuidString)").path
        let database = out + "-app.sqlite"
        defer { for path in [out, database, database + "-wal", database + "-shm"] { try? FileManager.default.removeItem(atPath: path) } }  // temporary
        let result = try await runDriftline(["demo", "--records", "20000", "--window-seconds", "10", "--history-rows", "50000",
                                             "--target", "sqlite:" + database, "--out", out, "--timeout", "480"])
        #expect(result.status == 0, "\(result.out.suffix(1_500))\n\(result.err.suffix(3_000))")
        #expect(result.out.contains("plan for main.orders: range(ts,"), "\(result.out)")
        #expect(result.out.contains("executor: completed"))
        let summary = result.out.firstMatch(of: /main.orders has (\d+) rows in (\d+) partitions; the application inserted (\d+) orders meanwhile \(0 failed\)/)
        let (rows, partitions, inserted) = (summary.map { Int($0.1)! } ?? 0, summary.map { Int($0.2)! } ?? 0, summary.map { Int($0.3)! } ?? 0)
        #expect(rows == 50_000 + inserted && partitions > 1 && inserted > 0, "\(summary.map { String($0.0) } ?? result.out.suffix(800).description)")
        #expect(result.out.contains("verified: every row kept, the table re-partitioned online"))
        // A second demo may replace the file it made, but not someone else's database.
        let foreign = out + "-foreign.sqlite"
        FileManager.default.createFile(atPath: foreign, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: foreign) }  // temporary
        let refused = try await runDriftline(["demo", "--records", "1000", "--target", "sqlite:" + foreign, "--out", out])
        #expect(refused.status != 0 && refused.err.contains("is not a database an earlier demo made"), "\(refused.err.suffix(400))")
    }
}
