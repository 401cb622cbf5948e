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
            return try await queue.read { db in try read(db, name: name, path: path) }
        } catch let error as TargetError {
            throw error
        } catch {
            throw .sqlite("cannot read \(name) in \(path): \(SQLiteTarget.reason(error))")
        }
    }

    static func read(_ db: Database, name: String, path: String) throws -> Found {
        switch try SQLiteTarget.kind(db, name) {
        case "table": break
        case "view":
            return .partitionedByDriftline("\(name) in \(path) is a view (partitioned by Driftline, or an application's view); SQLite tables are re-partitioned once per rollback point: roll the last change back to plan it again")
        default:
            throw TargetError.tableMissing(name)
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
        var statistics: [ColumnStatistics] = []
        var rowBytes = 0.0
        for (position, column) in columns.enumerated() {
            let values = sample.map { $0[position] }
            let width = values.isEmpty ? 8 : Double(values.reduce(0) { $0 + ($1?.utf8.count ?? 0) }) / Double(values.count)
            rowBytes += width + 1
            statistics.append(SampleStatistics.column(name: column.name, type: ColumnType(sqliteType: column.type), values: values,
                                                      tableRows: rows, averageWidth: width))
        }
        // SQLite pages default to 4 KiB; the planner counts 8 KiB pages as PostgreSQL does.
        let bytes = rows * (rowBytes + 8)
        let notes = ["statistics of \(name) estimated from \(sample.count) of its \(Int(rows)) rows (SQLite keeps no column statistics)"]
        return .table(TableStatistics(schema: "main", table: name, rows: rows, pages: max(1, (bytes / 8192).rounded(.up)), totalBytes: bytes,
                                      columns: statistics, indexes: indexes, uniqueKeys: uniqueKeys), notes: notes)
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
        let statement = try db.makeStatement(sql: "SELECT \(list) FROM \(table) WHERE rowid = ?")
        var result: [[String?]] = []
        result.reserveCapacity(sampleRows)
        let span = Double(high - low)
        for step in 0..<sampleRows {
            let rowid = low + Int64((span * Double(step) / Double(sampleRows - 1)).rounded())
            if let row = try Row.fetchOne(statement, arguments: [rowid] as StatementArguments) { result.append(texts(row)) }
        }
        return result
    }
}
