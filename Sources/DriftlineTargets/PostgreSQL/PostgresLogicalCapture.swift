import DriftlineConfiguration
import DriftlineExecutor
import Foundation
import PostgresNIO

/// The logical capture (`ChangeCapture.logical`): keys of the original's writes read from a
/// replication slot into the change log, so writers pay no trigger during the copy. The slot is
/// only peeked; it advances after the keys it gave are stored, so a crash re-reads them (the log
/// takes duplicates: replay is by key). For verification and the swap the trigger takes over.
extension PostgresTarget {
    /// How long the copy runs between drains: each drain re-reads the log from the slot's restart
    /// point (which PostgreSQL moves about every 15 s), and a slot never drained keeps the whole
    /// copy's log on disk.
    static let drainInterval = 30.0
    /// Keys per insert into the change log while the slot streams.
    static let keysPerInsert = 10_000
    /// How long creating the slot may wait for the transactions open on the server to end.
    static let slotCreationTimeoutSeconds = 60

    func slotName(_ dialect: PostgresDialect) throws(TargetError) -> String {
        let database: String
        do { database = try PostgresURL(url).database } catch { throw .invalidURL(error.reason) }
        return dialect.slotName(database: database)
    }

    /// Rejects the command when the server cannot decode its log for this role.
    func checkLogicalCapture() async throws {
        let found = try await database.rows(PostgresQuery(unsafeSQL: PostgresDialect.logicalCaptureRequirements))
        let (walLevel, mayReplicate, freeSlots): (String, Bool?, Int)
        do { (walLevel, mayReplicate, freeSlots) = try found[0].decode((String, Bool?, Int).self) } catch { throw TargetError.query("\(error)") }
        guard walLevel == "logical" else {
            throw TargetRejection("the logical capture needs wal_level = logical (the server has \(walLevel); changing it needs a restart); or capture with the trigger (capture: trigger)")
        }
        guard mayReplicate == true else {
            throw TargetRejection("the logical capture needs a role with REPLICATION (ALTER ROLE … REPLICATION); or capture with the trigger (capture: trigger)")
        }
        guard freeSlots > 0 else {
            throw TargetRejection("the logical capture needs a free replication slot (max_replication_slots is used up); or capture with the trigger (capture: trigger)")
        }
    }

    /// The change log, the publication, then the slot (its changes are decoded with the publication
    /// as it stands when they were written, so the publication comes first).
    func startLogicalCapture(_ dialect: PostgresDialect, slot name: String) async throws {
        try await transaction { try await database.execute(dialect.createChangeLog) }
        if !(try await scalarBool(PostgresDialect.publicationExists(name))) {
            // SHARE UPDATE EXCLUSIVE: writers never wait for it; autovacuum may, hence the bounded wait.
            try await underTableLock(dialect, mode: "SHARE UPDATE EXCLUSIVE", [dialect.createPublication(name)])
        }
        try await database.execute("SET statement_timeout = '\(Self.slotCreationTimeoutSeconds)s'")
        do {
            _ = try await database.rows(PostgresQuery(unsafeSQL: PostgresDialect.createSlot(name)))
        } catch {
            try await database.execute("RESET statement_timeout")
            throw TargetError.query("could not create the replication slot \(name) within \(Self.slotCreationTimeoutSeconds) s (it waits for the transactions open on the server to end; see pg_stat_activity): \(error)")
        }
        try await database.execute("RESET statement_timeout")
        slot = name
        lastDrain = .now()
    }

    /// Stores the keys of every change to the original committed before `upto` (default: the
    /// log's flushed end) in the change log, then advances the slot past them.
    func drainSlot(_ dialect: PostgresDialect, upto given: String? = nil) async throws {
        guard let slot else { return }
        let upto: String
        if let given { upto = given } else { upto = try await text(PostgresDialect.flushedPosition) }
        if keyWriter == nil { keyWriter = try await PostgresCatalog.open(url) }
        guard let keyWriter else { return }
        var reader = ChangedKeyReader(schema: dialect.schema, table: dialect.table, keyColumns: dialect.key.map(\.name))
        var ops: [String] = []
        var keys = Array(repeating: [String](), count: dialect.key.count)
        func store() async throws {
            guard !ops.isEmpty else { return }
            var bindings = PostgresBindings()
            bindings.append(ops)
            for column in keys { bindings.append(column) }
            _ = try await keyWriter.rows(PostgresQuery(unsafeSQL: dialect.insertChangedKeys, binds: bindings))
            ops.removeAll(keepingCapacity: true)
            for index in keys.indices { keys[index].removeAll(keepingCapacity: true) }
        }
        var bindings = PostgresBindings()
        bindings.append(upto)
        try await withSlotRetries {
            try await database.forEachRow(PostgresQuery(unsafeSQL: PostgresDialect.peekSlot(slot, publication: dialect.publicationName(slot: slot)), binds: bindings)) { row in
                let data: ByteBuffer
                do { data = try row.decode(ByteBuffer.self) } catch { throw TargetError.query("\(error)") }
                for change in try reader.read(try PgOutputMessage.parse(Array(data.readableBytesView))) {
                    ops.append(String(change.op))
                    for (index, value) in change.key.enumerated() { keys[index].append(value) }
                }
                if ops.count >= Self.keysPerInsert { try await store() }
            }
        }
        try await store()
        // Past every transaction committed before `upto` (all of them were read above).
        _ = try await database.rows(PostgresQuery(unsafeSQL: PostgresDialect.advanceSlot(slot), binds: bindings))
        lastDrain = .now()
    }

    /// The trigger takes over from the slot: once it is in place every later write logs itself,
    /// and every earlier one committed before the log position read after it, which the last
    /// drain takes. Then the slot and its publication go. Repeatable after a crash.
    func handOverToTrigger(_ dialect: PostgresDialect) async throws {
        try await underTableLock(dialect, mode: "SHARE ROW EXCLUSIVE", [dialect.tableLock] + dialect.prepareCapture)
        try await drainSlot(dialect, upto: try await text(PostgresDialect.flushedPosition))
        try await dropLogicalCapture(dialect)
    }

    /// Drops the job's slot and publication, if any; with `everyCommand`, those any command left on
    /// the table (cleaning up after a job that could not).
    func dropLogicalCapture(_ dialect: PostgresDialect, everyCommand: Bool = false) async throws {
        var names = [try slotName(dialect)]
        if everyCommand {
            let database: String
            do { database = try PostgresURL(url).database } catch { throw TargetError.invalidURL(error.reason) }
            for row in try await self.database.rows(PostgresQuery(unsafeSQL: dialect.tableSlots(database: database))) {
                do { names.append(try row.decode(String.self)) } catch { throw TargetError.query("\(error)") }
            }
        }
        for name in Set(names).sorted() {
            try await withSlotRetries { _ = try await self.database.rows(PostgresQuery(unsafeSQL: PostgresDialect.dropSlot(name))) }
            try await self.database.execute(PostgresDialect.dropPublication(dialect.publicationName(slot: name)))
        }
        slot = nil
    }

    /// A slot serves one session at a time: a killed executor's server process may still hold it
    /// for a moment (it notices the closed connection only when its statement ends).
    private func withSlotRetries(_ body: () async throws -> Void) async throws {
        for attempt in 1... {
            do {
                try await body()
                return
            } catch let error as TargetError {
                guard case let .query(reason) = error, reason.contains("is active for PID"), attempt < 30 else { throw error }
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func text(_ sql: String) async throws(TargetError) -> String {
        let found = try await database.rows(PostgresQuery(unsafeSQL: sql))
        do { return try found[0].decode(String.self) } catch { throw .query("\(error)") }
    }
}
