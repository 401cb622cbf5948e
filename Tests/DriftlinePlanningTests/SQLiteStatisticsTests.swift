import DriftlinePlanning
import DriftlineSampleData
import DriftlineTargets
import DriftlineTestSupport
import Foundation
import GRDB
import Testing

/// Statistics for stores without a planner catalog: estimated from a sample as ANALYZE does, and
/// read from a SQLite table's schema and rows.
struct SQLiteStatisticsTests {
    @Test func aSampleGivesWhatANALYZEWould() {
        // A unique, ordered column: distinct is a fraction (-1), a full histogram, correlation 1.
        let ids = (0..<1_000).map { String($0) as String? }
        let unique = SampleStatistics.column(name: "id", type: .integer, values: ids, tableRows: 100_000, averageWidth: 4)
        #expect(unique.distinct == -1 && unique.mostCommonValues.isEmpty)
        #expect(unique.histogramBounds.count == SampleStatistics.target + 1 && unique.histogramBounds.first == "0" && unique.histogramBounds.last == "999")
        #expect(abs((unique.correlation ?? 0) - 1) < 1e-9)
        // Numbers ordered as numbers, not as text ("10" after "9").
        let bounds = unique.histogramBounds.compactMap(Double.init)
        #expect(bounds == bounds.sorted())

        // A few-valued column with nulls: every value is a common value, frequencies of all rows.
        let categories = (0..<1_000).map { index -> String? in index % 10 == 0 ? nil : ["a", "a", "b", "c"][index % 4] }
        let few = SampleStatistics.column(name: "category", type: .text, values: categories, tableRows: 1_000_000, averageWidth: 1)
        #expect(abs(few.nullFraction - 0.1) < 1e-9)
        #expect(few.distinct == 3 && Set(few.mostCommonValues) == ["a", "b", "c"] && few.histogramBounds.isEmpty)
        #expect(few.mostCommonValues.first == "a" && abs(few.mostCommonFrequencies.reduce(0, +) - 0.9) < 1e-9)

        // Many values, some repeated: Duj1, n·d / (n − f1 + f1·n/N), more than the sample's 1,550
        // (50 values 30 times each, 1,500 seen once).
        let skewed = (0..<3_000).map { index -> String? in String(index < 1_500 ? index % 50 : 1_000 + index) }
        let estimated = SampleStatistics.column(name: "user_id", type: .integer, values: skewed, tableRows: 3_000_000, averageWidth: 4)
        let n = 3_000.0, d = 1_550.0, f1 = 1_500.0, rows = 3_000_000.0
        let duj1 = (n * d / (n - f1 + f1 * n / rows)).rounded()
        #expect(estimated.distinct == duj1, "\(estimated.distinct)")
        #expect(estimated.mostCommonValues.count == 50, "the 50 repeated values: \(estimated.mostCommonValues.count)")
        // Times order by instant and the histogram keeps the text the planner reads back.
        let times = ["2026-01-02 00:00:00", "2026-01-01 00:00:00", "2026-01-03 00:00:00"].map { $0 as String? }
        let ordered = SampleStatistics.column(name: "ts", type: .timestamp, values: times, tableRows: 3, averageWidth: 19)
        #expect(ordered.histogramBounds == ["2026-01-01 00:00:00", "2026-01-02 00:00:00", "2026-01-03 00:00:00"])
    }

    @Test func declaredSQLiteTypesMapToThePlannersTypes() {
        let cases: [(String, ColumnType)] = [("INTEGER", .integer), ("bigint", .integer), ("TIMESTAMP", .timestamp), ("datetime", .timestamp),
                                             ("DATE", .date), ("VARCHAR(20)", .text), ("TEXT", .text), ("REAL", .numeric),
                                             ("DECIMAL(10,2)", .numeric), ("BOOLEAN", .boolean), ("BLOB", .other), ("", .other)]
        for (declared, type) in cases { #expect(ColumnType(sqliteType: declared) == type, "\(declared)") }
    }

    static func database(rows: Int, uniqueNote: Bool = true) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(UUID().uuidString).sqlite").path
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            for statement in PartitioningScenario.createSQLiteTable(rows: rows, table: "events") { try db.execute(sql: statement) }
            if uniqueNote { try db.execute(sql: "CREATE UNIQUE INDEX events_note ON events (note)") }
            try db.execute(sql: "CREATE INDEX events_user ON events (user_id, ts)")
        }
        try queue.close()
        return path
    }

    @Test func aSQLiteTablesStatisticsComeFromItsSchemaAndASample() async throws {
        let path = try Self.database(rows: 120_000)
        defer { try? FileManager.default.removeItem(atPath: path) }  // a temporary file
        guard case let .table(statistics, notes) = try await SQLiteCatalog.statistics(path: path, table: "public.events") else {
            Issue.record("a table, not a view"); return
        }
        #expect(statistics.rows == 120_000 && statistics.table == "events")
        #expect(notes.first?.contains("estimated from \(SQLiteCatalog.sampleRows) of its 120000 rows") == true, "\(notes)")
        #expect(statistics.columns.map(\.name) == ["id", "ts", "user_id", "category", "amount", "note"])
        #expect(statistics.columns.map(\.type) == [.integer, .timestamp, .integer, .text, .numeric, .text])
        // The primary key is kept unique by the partitioned view itself; a unique index must hold the partition key.
        #expect(statistics.uniqueKeys == [["note"]])
        #expect(statistics.indexes.contains(["user_id", "ts"]) && statistics.indexes.contains(["id", "ts"]))
        let ts = try #require(statistics.column("ts"))
        // 60 days from 2026-01-01 in insertion order: the histogram spans them, the correlation is 1.
        #expect(ts.histogramBounds.first?.hasPrefix("2026-01-01") == true && ts.histogramBounds.last?.hasPrefix("2026-03-02") == true, "\(ts.histogramBounds.prefix(2)) … \(ts.histogramBounds.suffix(1))")
        #expect((ts.correlation ?? 0) > 0.99 && ts.distinct == -1)
        let category = try #require(statistics.column("category"))
        #expect(Set(category.mostCommonValues) == ["a", "b", "c", "d"], "\(category.mostCommonValues)")
        let share = category.mostCommonFrequencies[category.mostCommonValues.firstIndex(of: "d")!]
        #expect(abs(share - 0.1) < 0.02, "d is in half of the last fifth: \(share)")
        #expect(statistics.pages > 1 && statistics.totalBytes > 120_000 * 50)
    }

    @Test func aViewOrAMissingTableIsSaidSo() async throws {
        let path = try Self.database(rows: 100)
        defer { try? FileManager.default.removeItem(atPath: path) }  // a temporary file
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in try db.execute(sql: "CREATE VIEW recent AS SELECT * FROM events") }
        try queue.close()
        guard case let .partitionedByDriftline(reason) = try await SQLiteCatalog.statistics(path: path, table: "recent") else {
            Issue.record("a view is not planned"); return
        }
        #expect(reason.contains("is a view") && reason.contains("roll"))
        await #expect(throws: TargetError.tableMissing("absent")) { _ = try await SQLiteCatalog.statistics(path: path, table: "absent") }
        await #expect(throws: TargetError.self) { _ = try await SQLiteCatalog.statistics(path: path + ".missing", table: "events") }
        #expect(!FileManager.default.fileExists(atPath: path + ".missing"), "reading statistics creates no file")
    }

    @Test func planReadsASQLiteTable() async throws {
        let path = try Self.database(rows: 60_000, uniqueNote: false)
        let log = path + ".log"
        defer { for file in [path, log] { try? FileManager.default.removeItem(atPath: file) } }  // temporary files
        let reports = (0..<500).map { index in
            "SELECT count(*) FROM events WHERE ts >= '2026-01-\(String(format: "%02d", 1 + index % 28)) 00:00:00' AND ts < '2026-01-\(String(format: "%02d", 1 + index % 28)) 06:00:00'"
        }
        try PartitioningScenario.serverLog(reports).write(toFile: log, atomically: true, encoding: .utf8)
        let result = try await runDriftline(["plan", "--table", "events", "--sqlite", "sqlite:" + path, "--queries", log, "--format", "json"])
        #expect(result.status == 0, "\(result.err)")
        let plan = try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any]
        let strategy = plan?["strategy"] as? [String: Any]
        #expect(strategy?["kind"] as? String == "range" && strategy?["columns"] as? [String] == ["ts"], "\(result.out.prefix(600))")
        let refused = try await runDriftline(["plan", "--table", "events", "--sqlite", path, "--pg", "postgres://x@h/db", "--queries", log])
        #expect(refused.status != 0 && refused.err.contains("--pg and --sqlite"), "\(refused.err)")
        let noQueries = try await runDriftline(["plan", "--table", "events", "--sqlite", path])
        #expect(noQueries.status != 0 && noQueries.err.contains("--queries"), "\(noQueries.err)")
    }
}
