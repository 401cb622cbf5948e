import DriftlineExecutor
import DriftlinePlanning
import Foundation
import GRDB

/// What the planner needs from a SQLite table, which has no planner statistics of its own: rows,
/// size, columns with their declared types, keys and indexes from the schema, and per-column
/// statistics estimated from a sample of at most `sampleRows` rows the way ANALYZE does
/// (`SampleStatistics`). The sample is drawn by rowid, so the work does not grow with the table.
public enum SQLiteCatalog {
    public static let sampleRows = 30_000

    /// What the table is now: a table the planner can cost, or a view the executor made (partitions
    /// behind it), which SQLite re-partitions only after a rollback.
    public enum Found: Sendable {
        case table(TableStatistics, notes: [String])
        case partitionedByDriftline(String)
    }

    /// `table`: `name` or `main.name` (`public.name` as commands write it).
    public static func statistics(path: String, table: String) async throws(TargetError) -> Found {
        let name = String(table.split(separator: ".").last ?? Substring(table))
        guard FileManager.default.fileExists(atPath: path) else { throw .sqlite("the SQLite database \(path) does not exist") }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }  // a read-only connection has nothing to flush
            // Only the reading holds SQLite's lock: in rollback-journal mode a reader keeps every
            // writer's commit waiting, and the statistics took seconds (an application's 30 s busy
            // timeout ran out in CI while the planner computed them inside the transaction).
            let facts = try await queue.read { db in try read(db, name: name, path: path) }
            return facts.map(estimate) ?? .partitionedByDriftline("\(name) in \(path) is a view (partitioned by Driftline, or an application's view); SQLite tables are re-partitioned once per rollback point: roll the last change back to plan it again")
        } catch let error as TargetError {
            throw error
        } catch {
            throw .sqlite("cannot read \(name) in \(path): \(SQLiteTarget.reason(error))")
        }
    }

    /// What is read under the lock: the schema, the row count and the sample (nil: a view).
    struct Facts: Sendable {
        let name: String
        let columns: [SQLiteDialect.Column]
        let rows: Double
        let indexes: [[String]]
        let uniqueKeys: [[String]]
        let sample: [[String?]]
    }

    static func read(_ db: Database, name: String, path: String) throws -> Facts? {
        switch try SQLiteTarget.kind(db, name) {
        case "table": break
        case "view": return nil
        default: throw TargetError.tableMissing(name)
        }
        let (columns, key, _) = try SQLiteTarget.columns(db, name)
        let rows = Double(try Int64.fetchOne(db, sql: "SELECT count(*) FROM \(SQLiteDialect.identifier(name))") ?? 0)
        var indexes: [[String]] = []
        var uniqueKeys: [[String]] = []
        for index in try Row.fetchAll(db, sql: "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?)", arguments: [name]) {
            let indexName: String = index["name"], origin: String = index["origin"]
            let names = try String.fetchAll(db, sql: "SELECT name FROM pragma_index_info(?) ORDER BY seqno", arguments: [indexName])
            guard !names.isEmpty, (index["partial"] as Int) == 0 else { continue }
            // The partitioned view keeps the primary key unique across partitions by itself; other
            // unique indexes live per partition and must hold the partition columns (as on PostgreSQL).
            if (index["unique"] as Int) != 0, origin != "pk" { uniqueKeys.append(names) }
            indexes.append(names)
        }
        if !key.isEmpty, !indexes.contains(key) { indexes.append(key) }  // an INTEGER PRIMARY KEY is the rowid: ordered by it
        let sample = try Self.sample(db, name: name, columns: columns.map(\.name), rows: rows)
        return Facts(name: name, columns: columns, rows: rows, indexes: indexes, uniqueKeys: uniqueKeys, sample: sample)
    }

    /// The planner's statistics from what was read, outside the transaction.
    static func estimate(_ facts: Facts) -> Found {
        var statistics: [ColumnStatistics] = []
        var rowBytes = 0.0
        for (position, column) in facts.columns.enumerated() {
            let values = facts.sample.map { $0[position] }
            let width = values.isEmpty ? 8 : Double(values.reduce(0) { $0 + ($1?.utf8.count ?? 0) }) / Double(values.count)
            rowBytes += width + 1
            statistics.append(SampleStatistics.column(name: column.name, type: ColumnType(sqliteType: column.type), values: values,
                                                      tableRows: facts.rows, averageWidth: width))
        }
        // SQLite pages default to 4 KiB; the planner counts 8 KiB pages as PostgreSQL does.
        let bytes = facts.rows * (rowBytes + 8)
        let notes = ["statistics of \(facts.name) estimated from \(facts.sample.count) of its \(Int(facts.rows)) rows (SQLite keeps no column statistics)"]
        return .table(TableStatistics(schema: "main", table: facts.name, rows: facts.rows, pages: max(1, (bytes / 8192).rounded(.up)), totalBytes: bytes,
                                      columns: statistics, indexes: facts.indexes, uniqueKeys: facts.uniqueKeys), notes: notes)
    }

    /// Up to `sampleRows` rows in rowid order as text (nil for NULL): every row of a small table;
    /// else rows at evenly spread rowids between the smallest and the largest (gaps are skipped).
    static func sample(_ db: Database, name: String, columns: [String], rows: Double) throws -> [[String?]] {
        let list = columns.map { "CAST(\(SQLiteDialect.identifier($0)) AS TEXT)" }.joined(separator: ", ")
        let table = SQLiteDialect.identifier(name)
        func texts(_ row: Row) -> [String?] { (0..<columns.count).map { row[$0] as String? } }
        let withoutRowID = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [name])?
            .uppercased().contains("WITHOUT ROWID") ?? false
        if rows <= Double(sampleRows) || withoutRowID {
            return try Row.fetchAll(db, sql: "SELECT \(list) FROM \(table)\(withoutRowID ? "" : " ORDER BY rowid") LIMIT \(sampleRows)").map(texts)
        }
        guard let low = try Int64.fetchOne(db, sql: "SELECT min(rowid) FROM \(table)"),
              let high = try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM \(table)") else { return [] }
        // One statement for the whole sample (the rowids stepping from Swift chose, in order; SQLite's
        // round() also rounds halves away from zero): 30,000 point queries held the read lock, which
        // in rollback-journal mode holds up writers, 1.3 s in a debug build (0.6 s now).
        let last = sampleRows - 1
        return try Row.fetchAll(db, sql: """
            WITH RECURSIVE steps(step) AS (SELECT 0 UNION ALL SELECT step + 1 FROM steps WHERE step < \(last))
            SELECT \(list) FROM steps JOIN \(table) ON \(table).rowid = ? + CAST(round(CAST(? AS REAL) * step / \(last).0) AS INTEGER)
            ORDER BY step
            """, arguments: [low, high - low]).map(texts)
    }
}
