import DriftlineSampleData
import DriftlineTargets
import Foundation
import Synchronization

/// The demo's PostgreSQL side: a schema of its own in the target database with `orders` (history
/// of 60 days, primary key (id, ts)), the query log of an application's reports over it, and that
/// application writing new orders while the demo runs.
struct DemoTarget {
    static let schema = "driftline_demo"
    static let table = "orders"
    static var qualified: String { "\(schema).\(table)" }

    let url: String

    /// Drops what an earlier demo left in its schema and loads the history.
    func prepare(historyRows: Int) async throws {
        try await PostgresCatalog.withCatalog(url) { catalog in
            try await catalog.execute("DROP SCHEMA IF EXISTS \(Self.schema) CASCADE")
            for statement in PartitioningScenario.createTable(schema: Self.schema, rows: historyRows, table: Self.table) {
                try await catalog.execute(statement)
            }
            try await catalog.execute("ALTER TABLE \(Self.qualified) ADD PRIMARY KEY (id, ts)")
        }
    }

    /// The reports an application runs: half-day totals over the 60 days, one statement a second
    /// in the log (a day's worth of them at this rate is what the planner costs).
    static func writeQueryLog(to path: String, statements count: Int = 2_000) throws {
        let statements = (0..<count).map { index -> String in
            let day = 1 + index % 59
            let date = day <= 31 ? String(format: "2026-01-%02d", day) : String(format: "2026-02-%02d", day - 31)
            return "SELECT count(*), sum(amount) FROM \(table) WHERE ts >= '\(date) 00:00:00+00' AND ts < '\(date) 12:00:00+00'"
        }
        try PartitioningScenario.serverLog(statements).write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The rows the table holds now.
    func rows() async throws -> Int64 {
        try await PostgresCatalog.withCatalog(url) { catalog in
            try await catalog.integer("SELECT count(*)::int8 FROM \(Self.qualified)")
        }
    }

    /// Leaf partitions of the table (1: not partitioned).
    func leaves() async throws -> Int64 {
        try await PostgresCatalog.withCatalog(url) { catalog in
            try await catalog.integer("SELECT count(*)::int8 FROM pg_partition_tree('\(Self.qualified)') WHERE isleaf")
        }
    }

    /// An application inserting orders (one statement each, about 100 a second) until stopped;
    /// the inserts that succeeded and those that failed.
    final class Writer: Sendable {
        let inserted = Atomic<Int64>(0)
        let failed = Atomic<Int64>(0)
        let stop = Atomic(false)
        let lastError = Mutex<String?>(nil)
    }

    func startWriter() -> (Writer, Task<Void, Never>) {
        let writer = Writer()
        let url = url
        let task = Task {
            do {
                try await PostgresCatalog.withCatalog(url) { catalog in
                    var id: Int64 = 10_000_000
                    while !writer.stop.load(ordering: .relaxed) {
                        id += 1
                        do {
                            try await catalog.execute("""
                                INSERT INTO \(Self.qualified) (id, ts, user_id, category, amount, note)
                                VALUES (\(id), timestamptz '2026-03-01' + \(id - 10_000_000) * interval '1 second', \(id % 50_000), 'd', \(id % 1000) / 10.0, 'live')
                                """)
                            writer.inserted.add(1, ordering: .relaxed)
                        } catch {
                            writer.failed.add(1, ordering: .relaxed)
                            writer.lastError.withLock { $0 = "\(error)" }
                        }
                        try await Task.sleep(for: .milliseconds(10))
                    }
                }
            } catch {
                writer.lastError.withLock { $0 = "\(error)" }
            }
        }
        return (writer, task)
    }
}
