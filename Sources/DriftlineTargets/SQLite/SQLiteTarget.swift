import DriftlineExecutor
import DriftlinePlanning
import Foundation
import GRDB
import Synchronization

/// The executor's SQLite target (the embedded default): performs the workflow's steps with
/// `SQLiteDialect`'s SQL on one connection to the file. Every step is one transaction; SQLite runs
/// one writer at a time, so a step that holds the write lock sees a source no one else changes.
/// Applications writing the file meanwhile need a busy timeout (they wait for a copy batch, tens of
/// milliseconds, instead of failing).
public final class SQLiteTarget: TargetStore, @unchecked Sendable {
    // Used by one workflow at a time (the runner awaits each step); the dialect is set by `validate`.
    private let queue: DatabaseQueue
    private var dialect: SQLiteDialect?
    /// How long a step waits for SQLite's lock: `waitMilliseconds` by default, the swap's own limit
    /// during the swap.
    private let busy: BusyWait
    static let waitMilliseconds = 30_000
    public let path: String
    public var description: String { "SQLite \(path)" }

    public init(path: String) throws(TargetError) {
        self.path = path
        let busy = BusyWait(milliseconds: Self.waitMilliseconds)
        self.busy = busy
        guard FileManager.default.fileExists(atPath: path) else { throw .sqlite("the SQLite database \(path) does not exist") }
        var configuration = Configuration()
        // Every millisecond, not SQLite's own timeout: that sleeps ever longer between tries (up to
        // 100 ms), and an application that commits back to back takes the lock again each time, so
        // the executor waited its whole timeout and failed (seen in the kill tests' writer).
        configuration.busyMode = .callback(busy.retry)
        configuration.prepareDatabase { db in
            db.add(function: Self.rowHash)
            // Renaming the original must not rewrite the application's views and triggers that name
            // it: after the swap they should read the partitioned view that takes the name.
            try db.execute(sql: "PRAGMA legacy_alter_table = ON")
        }
        do { queue = try DatabaseQueue(path: path, configuration: configuration) } catch {
            throw .sqlite("cannot open SQLite database \(path): \(Self.reason(error))")
        }
    }

    public func close() async {
        // Nothing is left open between steps; closing can only fail on unfinished statements.
        try? queue.close()
    }

    static func reason(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? error.description }
        return "\(error)"
    }

    /// A 32-bit hash of its arguments' values and types (sums of millions of them fit in 64 bits),
    /// for the checksums that compare the original with its partitions.
    static let rowHash = DatabaseFunction("driftline_row_hash", argumentCount: nil, pure: true) { (values: [DatabaseValue]) -> Int64 in
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ byte: UInt8) { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        func mix64(_ value: UInt64) { for shift in stride(from: 0, to: 64, by: 8) { mix(UInt8(truncatingIfNeeded: value >> UInt64(shift))) } }
        for value in values {
            switch value.storage {
            case .null: mix(0)
            case let .int64(number): mix(1); mix64(UInt64(bitPattern: number))
            case let .double(number): mix(2); mix64(number.bitPattern)
            case let .string(text): mix(3); mix64(UInt64(text.utf8.count)); for byte in text.utf8 { mix(byte) }
            case let .blob(data): mix(4); mix64(UInt64(data.count)); for byte in data { mix(byte) }
            }
        }
        return Int64((hash ^ (hash >> 32)) & 0xFFFF_FFFF)
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await queue.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        } catch let rejection as TargetRejection {
            throw rejection
        } catch {
            throw TargetError.sqlite(Self.reason(error))
        }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await queue.read(body)
        } catch let rejection as TargetRejection {
            throw rejection
        } catch {
            throw TargetError.sqlite(Self.reason(error))
        }
    }

    private func require() throws -> SQLiteDialect {
        guard let dialect else { throw TargetError.sqlite("the command was not validated") }
        return dialect
    }

    static func kind(_ db: Database, _ name: String) throws -> String? {
        try String.fetchOne(db, sql: "SELECT type FROM sqlite_master WHERE name = ? AND type IN ('table', 'view')", arguments: [name])
    }

    private static func keyTexts(_ row: Row?) -> [String]? {
        guard let row else { return nil }
        return row.databaseValues.map { String.fromDatabaseValue($0) ?? "" }
    }

    /// The table's columns (declared types, defaults) and primary key.
    static func columns(_ db: Database, _ table: String) throws -> (columns: [SQLiteDialect.Column], key: [String], generated: Bool) {
        var columns: [SQLiteDialect.Column] = []
        var key: [(Int, String)] = []
        var generated = false
        for row in try Row.fetchAll(db, sql: "SELECT name, type, dflt_value, pk, hidden FROM pragma_table_xinfo(?)", arguments: [table]) {
            let name: String = row["name"]
            if (row["hidden"] as Int) != 0 { generated = true; continue }
            columns.append(.init(name: name, type: row["type"] ?? "", defaultValue: row["dflt_value"]))
            let position: Int = row["pk"]
            if position > 0 { key.append((position, name)) }
        }
        return (columns, key.sorted { $0.0 < $1.0 }.map(\.1), generated)
    }

    /// Why the table cannot be re-partitioned on SQLite (besides the layout itself), or nil.
    private static func obstacle(_ db: Database, _ table: String) throws -> String? {
        for other in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'") {
            let referencing = try Row.fetchAll(db, sql: "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?)", arguments: [other])
            if referencing.contains(where: { ($0[0] as String?) == table }) {
                return "\(other) has a foreign key to \(table); a view cannot be referenced by one"
            }
        }
        let triggers = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND name NOT LIKE 'driftline_capture_%'", arguments: [table])
        if let trigger = triggers.first {
            return "\(table) has a trigger of its own (\(trigger)); it would stay with the old table and not fire for the partitions"
        }
        return nil
    }

    /// The table's indexes other than its primary key, as the dialect recreates or checks them.
    static func indexes(_ db: Database, _ table: String) throws -> (indexes: [SQLiteDialect.Index], problem: String?) {
        var result: [SQLiteDialect.Index] = []
        for index in try Row.fetchAll(db, sql: "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?)", arguments: [table]) {
            let name: String = index["name"], origin: String = index["origin"]
            if origin == "pk" { continue }
            if (index["partial"] as Int) != 0 { return ([], "index \(name) is partial; partial indexes are not copied to partitions") }
            var terms: [String] = []
            for column in try Row.fetchAll(db, sql: "SELECT cid, name, \"desc\", coll FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno", arguments: [name]) {
                guard (column["cid"] as Int) >= 0, let columnName = column["name"] as String? else {
                    return ([], "index \(name) is on an expression; expression indexes are not copied to partitions")
                }
                var term = SQLiteDialect.identifier(columnName)
                if let collation = column["coll"] as String?, collation.uppercased() != "BINARY" { term += " COLLATE \(collation)" }
                if (column["desc"] as Int) != 0 { term += " DESC" }
                terms.append(term)
            }
            result.append(.init(name: name, unique: (index["unique"] as Int) != 0, terms: terms, created: origin == "c"))
        }
        return (result, nil)
    }

    // MARK: TargetStore

    public func validate(_ command: RepartitionCommand) async throws -> Int64 {
        guard command.store == "sqlite" else { throw TargetRejection("the command is for the \(command.store) store, this target is SQLite") }
        let (schema, table) = command.qualifiedName
        guard ["public", "main"].contains(schema) else { throw TargetRejection("SQLite tables live in main; the command names schema \(schema)") }
        guard !command.plan.ddl.isEmpty else { throw TargetRejection("the command's plan has no DDL (a keep decision): nothing to do") }
        let tree: PartitionTree
        do { tree = try PartitionTree(ddl: command.plan.ddl) } catch { throw TargetRejection("\(error)") }
        let path = self.path
        let found: SQLiteDialect = try await read { db in
            let before = SQLiteDialect.beforeName(table: table, commandId: command.id)
            let resuming = try Self.kind(db, before) == "table"
            // After a swap the original lives on as the kept table: describe the job from it.
            let original = resuming ? before : table
            switch try Self.kind(db, table) {
            case "table": break
            case "view" where resuming: break
            case "view": throw TargetRejection("\(table) in \(path) is a view (already partitioned by Driftline?); roll it back before re-partitioning it again")
            default: throw TargetRejection("table \(table) does not exist in \(path)")
            }
            guard let sql = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [original]) else {
                throw TargetRejection("cannot read the definition of \(table)")
            }
            let (columns, key, generated) = try Self.columns(db, original)
            guard !key.isEmpty else {
                throw TargetRejection("table \(table) has no primary key; the executor copies in key order and replays changes by key, so it needs one")
            }
            if generated { throw TargetRejection("\(table) has generated columns; they cannot be written into partitions") }
            if let obstacle = try Self.obstacle(db, original) { throw TargetRejection(obstacle) }
            let (indexes, problem) = try Self.indexes(db, original)
            if let problem { throw TargetRejection(problem) }
            let dialect = SQLiteDialect(table: table, columns: columns, key: key, commandId: command.id, tree: tree, tableSQL: sql, indexes: indexes)
            if let problem = dialect.problem { throw TargetRejection("the new layout cannot be created: \(problem)") }
            return dialect
        }
        dialect = found
        if !(try await alreadySwapped(found)) { try await tryLayout(found, tree: tree) }
        return try await read { db in try Int64.fetchOne(db, sql: "SELECT count(*) FROM \(found.source)") ?? 0 }
    }

    private func tryLayout(_ found: SQLiteDialect, tree: PartitionTree) async throws {
        // The whole layout must be creatable (partitions, indexes, capture, view, triggers): build it
        // in a transaction that is rolled back, and count rows no partition would take.
        let orphans: Int64
        do {
            orphans = try await queue.writeWithoutTransaction { db in
                var count: Int64 = 0
                try db.inTransaction(.immediate) {
                    for statement in found.prepare + found.swap { try db.execute(sql: statement) }
                    if !tree.leaves.contains(where: { $0.bounds.contains(.default) }) {
                        let any = tree.leaves.map { "(\(found.route($0, "s")))" }.joined(separator: " OR ")
                        count = try Int64.fetchOne(db, sql: "SELECT count(*) FROM \(SQLiteDialect.identifier(found.beforeName)) AS s WHERE NOT (\(any))") ?? 0
                    }
                    return .rollback
                }
                return count
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_ERROR || error.resultCode == .SQLITE_CONSTRAINT {
            throw TargetRejection("the new layout cannot be created: \(Self.reason(error))")
        } catch {
            throw TargetError.sqlite(Self.reason(error))  // busy, I/O: not the command's fault
        }
        if orphans > 0 { throw TargetRejection("\(orphans) rows of \(found.table) fall in no partition of the new layout (it has no default partition)") }
    }

    /// This command's swap committed: the name is the view and the original is kept under its name.
    private func alreadySwapped(_ dialect: SQLiteDialect) async throws -> Bool {
        try await read { db in
            try Self.kind(db, dialect.table) == "view" && Self.kind(db, dialect.beforeName) == "table"
        }
    }

    public func prepare(_ command: RepartitionCommand) async throws -> (copiedThrough: [String]?, copiedRows: Int64) {
        let dialect = try require()
        if try await alreadySwapped(dialect) { return (nil, 0) }
        // Readers (the verification's snapshot, applications) keep reading while batches are written.
        // Switching to WAL fails at once (no busy handler) while another connection is in a
        // transaction: retry for a while.
        for attempt in 1... {
            do {
                _ = try await queue.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
                break
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && attempt < 200 {
                try await Task.sleep(for: .milliseconds(50))
            } catch {
                throw TargetError.sqlite("cannot switch \(path) to WAL: \(Self.reason(error))")
            }
        }
        return try await write { db in
            for statement in dialect.prepare { try db.execute(sql: statement) }
            let through = Self.keyTexts(try Row.fetchOne(db, sql: dialect.copiedThrough.key))
            return (through, try Int64.fetchOne(db, sql: dialect.copiedThrough.rows) ?? 0)
        }
    }

    public func copyBatch(after: [String]?, limit: Int) async throws -> (lastKey: [String]?, rows: Int64) {
        let dialect = try require()
        return try await write { db in
            let start = after ?? []
            var through = Self.keyTexts(try Row.fetchOne(db, sql: dialect.batchEnd(after: after != nil), arguments: StatementArguments(start + ["\(limit - 1)"])))
            if through == nil { through = Self.keyTexts(try Row.fetchOne(db, sql: dialect.lastKey(after: after != nil), arguments: StatementArguments(start))) }
            guard let through else { return (nil, 0) }
            var rows: Int64 = 0
            for statement in dialect.copyRange(after: after != nil) {
                try db.execute(sql: statement, arguments: StatementArguments(start + through))
                rows += Int64(db.changesCount)
            }
            return (through, rows)
        }
    }

    public func replay(limit: Int) async throws -> (rows: Int64, pending: Int64) {
        let dialect = try require()
        return try await write { db in try Self.replay(db, dialect, limit: limit) }
    }

    /// One replay round in the caller's transaction: the keys replayed and the changes still pending.
    private static func replay(_ db: Database, _ dialect: SQLiteDialect, limit: Int?) throws -> (rows: Int64, pending: Int64) {
        guard let through = try Int64.fetchOne(db, sql: dialect.replayEnd(limit: limit)) else { return (0, 0) }
        let keys = try Int64.fetchOne(db, sql: dialect.distinctKeys(through: "\(through)")) ?? 0
        for statement in dialect.replay(from: dialect.changesName, into: dialect.intoShadow, readingFrom: dialect.source, through: "\(through)") {
            try db.execute(sql: statement)
        }
        return (keys, try Int64.fetchOne(db, sql: dialect.pendingChanges) ?? 0)
    }

    public func verify() async throws -> [String] {
        let dialect = try require()
        // One read transaction: both sides from the same snapshot.
        return try await read { db in
            func sums(_ relation: String) throws -> KeyRangeChecksums {
                var result: KeyRangeChecksums = [:]
                for row in try Row.fetchAll(db, sql: dialect.checksums(of: relation)) { result[row[0]] = (row[1], row[2]) }
                return result
            }
            return try sums(dialect.shadowRows).mismatches(against: try sums(dialect.source))
        }
    }

    public func swap(lockTimeoutMilliseconds: Int) async throws -> Double? {
        let dialect = try require()
        if try await alreadySwapped(dialect) { return 0 }
        // Outside the lock: one more replay round, so the locked one has only the last moments' changes.
        _ = try await replay(limit: 100_000)
        return try await locked(timeoutMilliseconds: lockTimeoutMilliseconds) { db in
            _ = try Self.replay(db, dialect, limit: nil)
            for statement in dialect.swap { try db.execute(sql: statement) }
        }
    }

    /// Runs `body` holding the write lock, waiting at most `timeoutMilliseconds` for it: nil when it
    /// was not granted (nothing changed), else the milliseconds it was held (until the commit returned).
    private func locked(timeoutMilliseconds: Int, _ body: @escaping @Sendable (Database) throws -> Void) async throws -> Double? {
        do {
            return try await queue.writeWithoutTransaction { [busy] db -> Double? in
                busy.limit(timeoutMilliseconds)
                defer { busy.limit(Self.waitMilliseconds) }
                do {
                    try db.execute(sql: "BEGIN IMMEDIATE")
                } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                    return nil
                }
                let start = DispatchTime.now()
                do {
                    try body(db)
                    try db.execute(sql: "COMMIT")
                } catch {
                    try? db.execute(sql: "ROLLBACK")  // the error that matters is the body's; nothing committed
                    throw error
                }
                return Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
            }
        } catch {
            throw TargetError.sqlite(Self.reason(error))
        }
    }

    public func cleanUp() async throws {
        guard let dialect else { return }
        if try await alreadySwapped(dialect) { return }
        _ = try await write { db in
            guard try Self.kind(db, dialect.table) == "table" else { return }
            for statement in dialect.cleanUp { try db.execute(sql: statement) }
        }
    }

    /// The dialect of a swapped table: columns from the kept original, partitions from the view.
    private func swappedDialect(table: String, commandId: String) async throws -> SQLiteDialect? {
        let before = SQLiteDialect.beforeName(table: table, commandId: commandId)
        return try await read { db -> SQLiteDialect? in
            guard try Self.kind(db, before) == "table", try Self.kind(db, table) == "view",
                  let view = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = ?", arguments: [table]),
                  let sql = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [before]) else { return nil }
            let leaves = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").filter {
                view.contains("FROM \(SQLiteDialect.identifier($0))")
            }
            let (columns, key, _) = try Self.columns(db, before)
            return SQLiteDialect(table: table, columns: columns, key: key, commandId: commandId, tree: PartitionTree(parent: table, leafNames: leaves),
                                 tableSQL: sql, indexes: [])
        }
    }

    public func retire(schema: String, table: String, commandId: String) async throws -> Bool {
        guard let previous = try await swappedDialect(table: table, commandId: commandId) else { return false }
        _ = try await write { db in for statement in previous.retire { try db.execute(sql: statement) } }
        return true
    }

    public func rollback(schema: String, table: String, commandId: String, lockTimeoutMilliseconds: Int, attempts: Int) async throws -> Double {
        guard let dialect = try await swappedDialect(table: table, commandId: commandId) else {
            throw TargetRejection("the table before command \(commandId) (\(SQLiteDialect.beforeName(table: table, commandId: commandId))) is gone: the retention ended or it was rolled back already")
        }
        var backoff = 0.05
        for _ in 0..<attempts {
            let held = try await locked(timeoutMilliseconds: lockTimeoutMilliseconds) { db in
                for statement in dialect.rollback { try db.execute(sql: statement) }
            }
            if let held { return held }
            try await Task.sleep(for: .seconds(backoff))
            backoff = min(2, backoff * 2)
        }
        throw TargetRejection("could not take the write lock on \(path) within \(lockTimeoutMilliseconds) ms in \(attempts) attempts")
    }
}

/// SQLite's busy handler for the executor: tries again every millisecond until the limit, so a
/// free moment between an application's transactions is taken.
final class BusyWait: Sendable {
    private let milliseconds: Mutex<Int>

    init(milliseconds: Int) { self.milliseconds = Mutex(milliseconds) }

    func limit(_ value: Int) { milliseconds.withLock { $0 = value } }

    /// Whether to try again after `tries` tries (about one per millisecond).
    var retry: Database.BusyCallback {
        { [self] tries in
            guard tries < milliseconds.withLock({ $0 }) else { return false }
            usleep(1_000)
            return true
        }
    }
}
