import ArgumentParser
import DriftlineSampleData
import DriftlineTargets
import Foundation
import GRDB
import Synchronization

/// The demo's target table: `orders` with 60 days of history, primary key (id, ts) — in a schema
/// of its own on PostgreSQL, or in a SQLite file the demo owns — the query log of an application's
/// reports over it, and that application writing new orders while the demo runs.
struct DemoTarget {
    static let schema = "driftline_demo"
    static let table = "orders"
    /// Marks a SQLite file as the demo's own, so a later demo may replace it.
    static let sqliteMarker = "driftline_demo_marker"

    let url: String
    var isSQLite: Bool { TargetStores.storeName(of: url) == "sqlite" }
    var path: String { TargetStores.sqlitePath(url) }
    /// How the loop and the executor name the table.
    var qualified: String { isSQLite ? "main.\(Self.table)" : "\(Self.schema).\(Self.table)" }

    /// Drops what an earlier demo left and loads the history.
    func prepare(historyRows: Int) async throws {
        guard !isSQLite else { return try prepareSQLite(historyRows: historyRows) }
        try await PostgresCatalog.withCatalog(url) { catalog in
            try await catalog.execute("DROP SCHEMA IF EXISTS \(Self.schema) CASCADE")
            for statement in PartitioningScenario.createTable(schema: Self.schema, rows: historyRows, table: Self.table) {
                try await catalog.execute(statement)
            }
            try await catalog.execute("ALTER TABLE \(qualified) ADD PRIMARY KEY (id, ts)")
        }
    }

    private func prepareSQLite(historyRows: Int) throws {
        if FileManager.default.fileExists(atPath: path) {
            let owned = try DatabaseQueue(path: path).read { db in try db.tableExists(Self.sqliteMarker) }
            guard owned else { throw ValidationError("\(path) exists and is not a database an earlier demo made: give --target sqlite: a new file") }
            try FileManager.default.removeItem(atPath: path)
            for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) { try FileManager.default.removeItem(atPath: path + suffix) }
        }
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE \(Self.sqliteMarker) (created TEXT)")
            for statement in PartitioningScenario.createSQLiteTable(rows: historyRows, table: Self.table) { try db.execute(sql: statement) }
        }
        try queue.close()
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
        if isSQLite { return try await DatabaseQueue(path: path).read { db in try Int64.fetchOne(db, sql: "SELECT count(*) FROM \(Self.table)") ?? 0 } }
        return try await PostgresCatalog.withCatalog(url) { catalog in
            try await catalog.integer("SELECT count(*)::int8 FROM \(qualified)")
        }
    }

    /// Leaf partitions of the table (1: not partitioned).
    func leaves() async throws -> Int64 {
        if isSQLite {
            // Partitioned, the name is a view over one table per partition, joined by UNION ALL.
            let view = try await DatabaseQueue(path: path).read { db in
                try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = ?", arguments: [Self.table])
            }
            return Int64((view?.components(separatedBy: " UNION ALL ").count) ?? 1)
        }
        return try await PostgresCatalog.withCatalog(url) { catalog in
            try await catalog.integer("SELECT count(*)::int8 FROM pg_partition_tree('\(qualified)') WHERE isleaf")
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
        let target = self
        let task = Task {
            do {
                if target.isSQLite { try await target.writeSQLite(writer) } else { try await target.writePostgres(writer) }
            } catch {
                writer.lastError.withLock { $0 = "\(error)" }
            }
        }
        return (writer, task)
    }

    private func writePostgres(_ writer: Writer) async throws {
        let qualified = qualified
        try await PostgresCatalog.withCatalog(url) { catalog in
            var id: Int64 = 10_000_000
            while !writer.stop.load(ordering: .relaxed) {
                id += 1
                do {
                    try await catalog.execute("""
                        INSERT INTO \(qualified) (id, ts, user_id, category, amount, note)
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
    }

    /// As an application should write a file the executor works on: with a busy timeout.
    private func writeSQLite(_ writer: Writer) async throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }  // every insert committed; nothing left open
        var id: Int64 = 10_000_000
        while !writer.stop.load(ordering: .relaxed) {
            id += 1
            let seconds = 1_772_323_200 + (id - 10_000_000)  // 2026-03-01 onwards, one order a second
            do {
                try await queue.write { [id] db in
                    try db.execute(sql: """
                        INSERT INTO \(Self.table) (id, ts, user_id, category, amount, note)
                        VALUES (?, strftime('%Y-%m-%d %H:%M:%S', ?, 'unixepoch'), ?, 'd', ?, 'live')
                        """, arguments: [id, seconds, id % 50_000, Double(id % 1000) / 10])
                }
                writer.inserted.add(1, ordering: .relaxed)
            } catch {
                writer.failed.add(1, ordering: .relaxed)
                writer.lastError.withLock { $0 = "\(error)" }
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
