import DriftlineExecutor
import DriftlinePlanning
import Foundation
import PostgresNIO

/// The executor's PostgreSQL target: performs the workflow's steps with `PostgresDialect`'s SQL on
/// one connection. Every step is its own transaction; a crash between steps leaves either the step
/// done or not, never half.
public final class PostgresTarget: TargetStore, @unchecked Sendable {
    // One connection used by one workflow at a time (the runner awaits each step): not shared.
    let database: PostgresCatalog
    var dialect: PostgresDialect?
    /// The original's largest key once the capture was in place (nil: it was empty): the copy goes
    /// up to it, the change log has everything after. Taken again by a resumed job's prepare.
    private var copyBound: [String]??
    let url: String
    /// How a new job captures writes (a resumed one continues as it began: see `prepare`).
    let capture: ChangeCapture
    /// The logical capture's slot, while it feeds the change log (nil: the trigger does, or none yet).
    var slot: String?
    /// A second connection that stores decoded keys while the first streams them from the slot.
    var keyWriter: PostgresCatalog?
    var lastDrain = DispatchTime.now()
    /// The bounded lock wait of the DDL on the live table (capture trigger created or dropped): each
    /// attempt stalls writers at most this long.
    let ddlLockTimeoutMilliseconds = 100
    let ddlLockAttempts = 60

    public init(url: String, capture: ChangeCapture = .trigger) async throws(TargetError) {
        self.url = url
        self.capture = capture
        database = try await PostgresCatalog.open(url)
    }

    public func close() async {
        await keyWriter?.close()
        await database.close()
    }

    public var description: String { database.description }

    func run(_ statements: [String]) async throws(TargetError) {
        for statement in statements { try await database.execute(statement) }
    }

    /// Runs `body` in a transaction, rolled back if it throws.
    func transaction<T>(_ begin: String = "BEGIN", _ body: () async throws -> T) async throws -> T {
        try await database.execute(begin)
        do {
            let result = try await body()
            try await database.execute("COMMIT")
            return result
        } catch {
            try? await database.execute("ROLLBACK")  // the connection may be gone; the server rolls back then
            throw error
        }
    }

    /// Runs `body` in a transaction that is always rolled back (a dry run); its error if it fails.
    private func rolledBack(_ body: () async throws(TargetError) -> Void) async throws(TargetError) {
        try await database.execute("BEGIN")
        do {
            try await body()
        } catch {
            try? await database.execute("ROLLBACK")  // the error that matters is the body's
            throw error
        }
        try await database.execute("ROLLBACK")
    }

    /// The table's primary key columns and types, or nil when it has none.
    func primaryKey(schema: String, table: String) async throws(TargetError) -> [PostgresDialect.KeyColumn]? {
        let found = try await database.rows("""
            SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_index i
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey::int2[])
            WHERE i.indrelid = to_regclass(\(PostgresDialect.identifierPath(schema, table))) AND i.indisprimary
            ORDER BY array_position(i.indkey::int2[], a.attnum)
            """)
        var key: [PostgresDialect.KeyColumn] = []
        for row in found {
            do {
                let (name, type) = try row.decode((String, String).self)
                key.append(.init(name: name, type: type))
            } catch { throw .query("unexpected catalog row: \(error)") }
        }
        return key.isEmpty ? nil : key
    }

    /// Whether another session has committed the relation, asked after taking the table's advisory
    /// lock: `to_regclass` answers from the catalog cache, which an advisory lock does not refresh
    /// (a second executor saw no shadow, then failed to create it: "already exists"); a scan of
    /// `pg_class` reads with the statement's own snapshot.
    private func committed(schema: String, name: String) async throws(TargetError) -> Bool {
        var bindings = PostgresBindings()
        bindings.append(schema)
        bindings.append(name)
        let found = try await database.rows(PostgresQuery(unsafeSQL: """
            SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2)
            """, binds: bindings))
        do { return try found[0].decode(Bool.self) } catch { throw .query("\(error)") }
    }

    private func exists(_ qualified: String) async throws(TargetError) -> Bool {
        let found = try await database.rows("SELECT to_regclass(\(qualified)) IS NOT NULL")
        do { return try found[0].decode(Bool.self) } catch { throw .query("\(error)") }
    }

    // MARK: TargetStore

    public func validate(_ command: RepartitionCommand) async throws -> Int64 {
        let (schema, table) = command.qualifiedName
        guard command.store == "postgres" else { throw TargetRejection("the command is for the \(command.store) store, this target is PostgreSQL") }
        guard try await exists(PostgresDialect.identifierPath(schema, table)) else {
            throw TargetRejection("table \(schema).\(table) does not exist in \(database.description)")
        }
        guard let key = try await primaryKey(schema: schema, table: table) else {
            throw TargetRejection("table \(schema).\(table) has no primary key; the executor copies in key order and replays changes by key, so it needs one")
        }
        guard !command.plan.ddl.isEmpty else { throw TargetRejection("the command's plan has no DDL (a keep decision): nothing to do") }
        dialect = PostgresDialect(schema: schema, table: table, key: key, commandId: command.id)
        let shadowExists = try await exists(PostgresDialect.identifierPath(schema, dialect!.shadowName))
        let swapped = try await alreadySwapped(dialect!)
        if shadowExists || swapped {
            // Resuming: the shadow is ours from before the crash (the checkpoint's fingerprint matched).
        } else {
            // The new layout must be creatable: try it and roll back (a missing column, a type without
            // a hash operator class, a unique key without the partition key fail here with PostgreSQL's reason).
            let dialect = dialect!
            if capture == .logical { try await checkLogicalCapture() }
            do {
                try await rolledBack { () async throws(TargetError) in
                    // Executors validating the same table at once would race on the DDL's names.
                    try await database.execute(dialect.tableLock)
                    // Another executor created the shadow while this one waited: its DDL evidently works.
                    guard !(try await committed(schema: schema, name: dialect.shadowName)) else { return }
                    try await run(command.plan.ddl)
                    // The publication needs the table's owner.
                    if capture == .logical { try await database.execute(dialect.createPublication(try slotName(dialect))) }
                }
            } catch {
                guard case let .query(reason) = error else { throw error }
                throw TargetRejection("the new layout cannot be created: \(reason)")
            }
        }
        let count = try await database.rows(PostgresQuery(unsafeSQL: "SELECT count(*)::int8 FROM \(dialect!.source)"))
        do { return try count[0].decode(Int64.self) } catch { throw TargetError.query("\(error)") }
    }

    private func require() throws(TargetError) -> PostgresDialect {
        guard let dialect else { throw .query("the command was not validated") }
        return dialect
    }

    /// The swap of this command committed (the old table exists under its kept name, the shadow is gone):
    /// a crash between the swap and its checkpoint must not make a resumed run start over.
    private func alreadySwapped(_ dialect: PostgresDialect) async throws(TargetError) -> Bool {
        let before = try await exists(PostgresDialect.identifierPath(dialect.schema, dialect.beforeName))
        let shadow = try await exists(PostgresDialect.identifierPath(dialect.schema, dialect.shadowName))
        return before && !shadow
    }

    public func prepare(_ command: RepartitionCommand) async throws -> (copiedThrough: [String]?, copiedRows: Int64) {
        let dialect = try require()
        if try await alreadySwapped(dialect) { return (nil, 0) }
        var resuming = try await exists(PostgresDialect.identifierPath(dialect.schema, dialect.shadowName))
        if resuming {
            // A shadow another command left behind (its job failed and could not clean up): not ours
            // to continue. This job holds the table's lease, so no other job is using it.
            let tag = try await database.rows(PostgresQuery(unsafeSQL: dialect.shadowTag))
            let found: String?
            do { found = try tag[0].decode(String?.self) } catch { throw TargetError.query("\(error)") }
            if found != dialect.expectedShadowTag {
                try await cleanUpUnswapped(dialect)
                resuming = false
            }
        }
        try await transaction {
            try await database.execute(dialect.tableLock)
            let created = try await committed(schema: dialect.schema, name: dialect.shadowName)
            if !resuming, !created {
                try await run(command.plan.ddl)
                try await database.execute(dialect.tagShadow)
            }
            // Autovacuum on the shadow's partitions would hold the lock the swap needs to rename them
            // (and it gives way only after deadlock_timeout, longer than the swap waits); it is turned
            // back on after the swap.
            for leaf in try await leaves(of: dialect.shadowName, schema: dialect.schema) {
                try await database.execute("ALTER TABLE \(leaf) SET (autovacuum_enabled = off)")
            }
        }
        let found = try await database.rows(PostgresQuery(unsafeSQL: dialect.copiedThrough))
        let copied: (key: [String]?, rows: Int64)
        do { copied = try found[0].decode(([String]?, Int64).self) } catch { throw TargetError.query("\(error)") }
        // The capture only after the shadow committed, and copying only after the capture, so no
        // write goes unlogged; a crash in between redoes it here.
        try await startCapture(dialect, shadowRows: copied.rows)
        let largest = try await database.rows(PostgresQuery(unsafeSQL: dialect.largestKey))
        do { copyBound = .some(try largest[0].decode([String]?.self)) } catch { throw TargetError.query("\(error)") }
        return (copied.key, copied.rows)
    }

    /// The capture of writes to the original: the job's slot when it has one (a logical job resumed:
    /// its drains continue); a new slot for a fresh job when the capture is logical; else the
    /// trigger, whose creation is the one step writers wait for, so it has a transaction (and a
    /// bounded lock wait) of its own. A shadow holding rows with neither means writes went unlogged
    /// since (a slot or trigger dropped by hand): the job cannot go on.
    private func startCapture(_ dialect: PostgresDialect, shadowRows: Int64) async throws {
        let name = try slotName(dialect)
        let triggered = try await hasCaptureTrigger(dialect)
        if try await scalarBool(PostgresDialect.slotExists(name)) {
            guard try await scalarBool(PostgresDialect.publicationExists(name)) else {
                throw TargetError.query("the logical capture's publication \(name) is gone (dropped by hand?): writes since cannot be known; the job stops")
            }
            slot = name
            return
        }
        if capture == .logical, !triggered, shadowRows == 0 {
            try await startLogicalCapture(dialect, slot: name)
            return
        }
        if shadowRows > 0, !triggered {
            throw TargetError.query("the capture of writes to \(dialect.schema).\(dialect.table) is gone (trigger \(PostgresDialect.captureTrigger) or slot \(name) dropped by hand?) while the copy holds \(shadowRows) rows: writes since cannot be known; the job stops")
        }
        try await underTableLock(dialect, mode: "SHARE ROW EXCLUSIVE", [dialect.tableLock] + dialect.prepareCapture)
    }

    func hasCaptureTrigger(_ dialect: PostgresDialect) async throws(TargetError) -> Bool {
        try await scalarBool(dialect.hasCaptureTrigger)
    }

    func scalarBool(_ sql: String) async throws(TargetError) -> Bool {
        let found = try await database.rows(PostgresQuery(unsafeSQL: sql))
        do { return try found[0].decode(Bool.self) } catch { throw .query("\(error)") }
    }

    public func copyBatch(after: [String]?, limit: Int) async throws -> (lastKey: [String]?, rows: Int64) {
        let dialect = try require()
        guard let bound = copyBound else { throw TargetError.query("copy before prepare") }
        guard let bound else { return (nil, 0) }  // empty when the capture began: the change log has every row
        if slot != nil, Double(DispatchTime.now().uptimeNanoseconds - lastDrain.uptimeNanoseconds) / 1e9 > Self.drainInterval {
            try await drainSlot(dialect)
        }
        var endBindings = PostgresBindings()
        var bindings = PostgresBindings()
        for value in after ?? [] { endBindings.append(value); bindings.append(value) }
        for value in bound { endBindings.append(value) }
        // One snapshot for the end key and the insert: a batch is exactly the rows counted (changes
        // made after the snapshot are captured and replayed).
        return try await transaction("BEGIN ISOLATION LEVEL REPEATABLE READ") {
            let ends = try await database.rows(PostgresQuery(unsafeSQL: dialect.batchEnd(after: after != nil, limit: limit, bounded: true), binds: endBindings))
            let (through, rows): ([String]?, Int64)
            do { (through, rows) = try ends[0].decode(([String]?, Int64).self) } catch { throw TargetError.query("\(error)") }
            guard let through else { return (nil, 0) }
            for value in through { bindings.append(value) }
            _ = try await database.rows(PostgresQuery(unsafeSQL: dialect.copyRange(after: after != nil), binds: bindings))
            return (through, rows)
        }
    }

    public func replay(limit: Int) async throws -> (rows: Int64, pending: Int64) {
        let dialect = try require()
        if slot != nil { try await drainSlot(dialect) }
        return try await transaction {
            let replayed = try await apply(dialect.replayIntoShadow(limit: limit))
            let pending = try await scalar(dialect.pendingChanges)
            return (replayed, pending)
        }
    }

    /// One replay round inside the caller's transaction; the keys it replayed.
    private func apply(_ replay: PostgresDialect.Replay) async throws(TargetError) -> Int64 {
        try await run(replay.collect)
        let keys = try await scalar(replay.count)
        if keys > 0 {
            try await database.execute(replay.analyze)
            try await run(replay.apply)
        }
        return keys
    }

    func scalar(_ sql: String) async throws(TargetError) -> Int64 {
        let found = try await database.rows(PostgresQuery(unsafeSQL: sql))
        do { return try found[0].decode(Int64.self) } catch { throw .query("\(error)") }
    }

    public func verify() async throws -> [String] {
        let dialect = try require()
        // Checksums compare only keys without logged changes, in one snapshot: the log must be
        // written in the writers' own transactions from here on.
        if slot != nil { try await handOverToTrigger(dialect) }
        return try await transaction("BEGIN ISOLATION LEVEL REPEATABLE READ") {
            let rowHash = try await rowHash(dialect)
            let source = try await checksums(dialect.checksums(of: dialect.source, buckets: 64, rowHash: rowHash))
            let shadow = try await checksums(dialect.checksums(of: dialect.shadow, buckets: 64, rowHash: rowHash))
            return shadow.mismatches(against: source)
        }
    }

    /// `hash_record` where the table's column types all hash, found by trying it under a savepoint
    /// (the types that do not are many: json, point, xml, domains and arrays over them, …).
    private func rowHash(_ dialect: PostgresDialect) async throws(TargetError) -> PostgresDialect.RowHash {
        try await database.execute("SAVEPOINT driftline_row_hash")
        do {
            try await database.execute(dialect.recordHashProbe)
        } catch {
            // The expected failure is "could not identify a hash function for type …"; any other
            // one meets the checksum query itself next, which reports it.
            try await database.execute("ROLLBACK TO SAVEPOINT driftline_row_hash")
            return .text
        }
        try await database.execute("RELEASE SAVEPOINT driftline_row_hash")
        return .record
    }

    private func checksums(_ sql: String) async throws(TargetError) -> KeyRangeChecksums {
        var result: KeyRangeChecksums = [:]
        for row in try await database.rows(PostgresQuery(unsafeSQL: sql)) {
            do {
                let (bucket, count, sum) = try row.decode((Int64, Int64, Int64).self)
                result[bucket] = (count, sum)
            } catch { throw .query("\(error)") }
        }
        return result
    }

    /// Serial and identity sequences of `relation`'s columns.
    private func sequences(_ relation: String) async throws(TargetError) -> [String: String] {
        let found = try await database.rows("""
            SELECT a.attname::text, pg_get_serial_sequence(\(relation), a.attname) FROM pg_attribute a
            WHERE a.attrelid = to_regclass(\(relation)) AND a.attnum > 0 AND NOT a.attisdropped
              AND pg_get_serial_sequence(\(relation), a.attname) IS NOT NULL
            """)
        var result: [String: String] = [:]
        for row in found {
            do {
                let (column, sequence) = try row.decode((String, String).self)
                result[column] = sequence
            } catch { throw .query("\(error)") }
        }
        return result
    }

    public func swap(lockTimeoutMilliseconds: Int) async throws -> Double? {
        let dialect = try require()
        if try await alreadySwapped(dialect) {
            try await transaction { try await run(dialect.afterSwap) }
            return 0
        }
        // A job resumed at the swap whose slot outlived the hand-over (a crash before it was dropped).
        if slot != nil { try await handOverToTrigger(dialect) }
        let sourceSequences = try await sequences(PostgresDialect.identifierPath(dialect.schema, dialect.table))
        let shadowSequences = try await sequences(PostgresDialect.identifierPath(dialect.schema, dialect.shadowName))
        // Outside the lock: the backward capture (on the shadow), and one more replay round so the
        // locked replay has only the last moments' changes.
        try await run(dialect.swapPreparation)
        // Rounds until a handful of changes is left: a busy writer refills the log while a round runs,
        // and each key left for the locked round costs it a lookup in every partition (71 keys held
        // the lock 8 ms of its 13 under a 1,000 tx/s writer).
        var pending = try await replay(limit: 100_000).pending
        for _ in 0..<20 where pending > 10 { pending = try await replay(limit: 100_000).pending }
        // One round trip under the lock: the last changes, the renames, the capture turned around,
        // the sequences handed over.
        let block = dialect.lockedBlock(lock: dialect.source, replay: dialect.replayIntoShadow(limit: nil), fewKeys: true,
                                        then: dialect.swap + handOver(sourceSequences, to: shadowSequences, table: dialect.source))
        guard let held = try await locked(block, timeoutMilliseconds: lockTimeoutMilliseconds) else {
            await cancelAutovacuum(on: dialect.source)
            return nil
        }
        try await transaction { try await run(dialect.afterSwap) }
        for leaf in try await leaves(of: dialect.table, schema: dialect.schema) {
            try await database.execute("ALTER TABLE \(leaf) RESET (autovacuum_enabled)")
        }
        return held
    }

    /// Leaf partitions of a table (the table itself when it is not partitioned), qualified.
    private func leaves(of table: String, schema: String) async throws(TargetError) -> [String] {
        let found = try await database.rows("""
            SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_partition_tree(to_regclass(\(PostgresDialect.identifierPath(schema, table)))) t
            JOIN pg_class c ON c.oid = t.relid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.isleaf
            """)
        var result: [String] = []
        for row in found {
            do { result.append(try row.decode(String.self)) } catch { throw .query("\(error)") }
        }
        return result
    }

    /// An autovacuum worker on the table makes every short lock wait time out (it yields only after
    /// deadlock_timeout); cancel it, as PostgreSQL itself would for a waiting lock, when allowed.
    private func cancelAutovacuum(on relations: String...) async {
        for relation in relations {
            _ = try? await database.rows("""
                SELECT pg_cancel_backend(a.pid) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
                WHERE a.backend_type = 'autovacuum worker' AND l.relation IN (SELECT relid FROM pg_partition_tree(to_regclass(\(PostgresDialect.literal(relation)))))
                """)  // not permitted (no superuser) or already gone: the swap simply retries
        }
    }

    /// Runs a `lockedBlock` in a transaction under `lock_timeout`: nil when the lock was not granted
    /// (nothing changed), else the milliseconds it was held (until the commit returned).
    private func locked(_ block: String, timeoutMilliseconds: Int) async throws(TargetError) -> Double? {
        try await database.execute("BEGIN")
        do {
            try await database.execute("SET LOCAL lock_timeout = '\(timeoutMilliseconds)ms'")
            try await database.execute(block)
        } catch {
            try? await database.execute("ROLLBACK")  // not granted, or failed before anything committed
            if case .lockNotGranted = error { return nil }
            throw error
        }
        do throws(TargetError) {
            let found = try await database.rows(PostgresQuery(unsafeSQL: PostgresDialect.heldMilliseconds))
            let held: Double
            do { held = try found[0].decode(Double.self) } catch { throw TargetError.query("\(error)") }
            let committing = DispatchTime.now()
            try await database.execute("COMMIT")
            return held + Double(DispatchTime.now().uptimeNanoseconds - committing.uptimeNanoseconds) / 1e6
        } catch {
            try? await database.execute("ROLLBACK")  // the commit did not happen: the original is untouched
            throw error
        }
    }

    /// Runs `body` in a transaction that first locks the original table (with its partitions) in
    /// `mode` under a short `lock_timeout`, trying again with backoff while the lock is not granted.
    /// DDL on a table writers use waits for their transactions, and every later writer queues behind
    /// it while it waits; and DROP TRIGGER on a partitioned table locks the partitions before the
    /// parent, the reverse of a writer's order (a deadlock seen in CI). LOCK TABLE takes the parent
    /// first, then the partitions, and gives up quickly.
    func underTableLock(_ dialect: PostgresDialect, mode: String, _ statements: [String]) async throws {
        var backoff = 0.02
        for attempt in 1...ddlLockAttempts {
            do {
                try await transaction {
                    try await database.execute("SET LOCAL lock_timeout = '\(ddlLockTimeoutMilliseconds)ms'")
                    try await database.execute("LOCK TABLE \(dialect.source) IN \(mode) MODE")
                    try await run(statements)
                }
                return
            } catch TargetError.lockNotGranted {
                guard attempt < ddlLockAttempts else {
                    throw TargetError.lockNotGranted("could not lock \(dialect.schema).\(dialect.table) in \(mode) mode within \(ddlLockTimeoutMilliseconds) ms in \(attempt) attempts (a long transaction on it?)")
                }
                await cancelAutovacuum(on: dialect.source)
                try await Task.sleep(for: .seconds(backoff))
                backoff = min(2, backoff * 2)
            }
        }
    }

    /// After a rename inside the swap (or rollback) transaction, `table` is the table taking over.
    /// A serial default it shares with the one leaving moves its ownership over (so dropping the old
    /// table later does not drop the sequence); a sequence of its own (identity) continues where
    /// the leaving one stopped.
    private func handOver(_ leaving: [String: String], to arriving: [String: String], table: String) -> [String] {
        leaving.sorted { $0.key < $1.key }.map { column, sequence in
            if let own = arriving[column], own != sequence {
                return "PERFORM setval('\(own)', last_value, is_called) FROM \(sequence)"
            }
            return "ALTER SEQUENCE \(sequence) OWNED BY \(table).\(PartitionDDL.identifier(column))"
        }
    }

    public func cleanUp() async throws {
        guard let dialect else { return }
        // A job that failed after its swap committed keeps the new layout and its rollback point.
        if try await alreadySwapped(dialect) {
            try await transaction { try await run(dialect.afterSwap) }
            try await dropLogicalCapture(dialect)
            return
        }
        try await cleanUpUnswapped(dialect)
    }

    /// Drops an unswapped job's leftovers: first what only the job writes (the shadow, the backward
    /// capture), so a lock that cannot be had below leaves no shadow behind; then the capture
    /// trigger on the live original under a bounded lock, as it was created (only when there is one:
    /// a job that failed before its capture needs no lock), and its change log.
    private func cleanUpUnswapped(_ dialect: PostgresDialect) async throws {
        try await transaction { try await run(dialect.cleanUp) }
        try await dropLogicalCapture(dialect, everyCommand: true)
        if try await hasCaptureTrigger(dialect) {
            try await underTableLock(dialect, mode: "ACCESS EXCLUSIVE", [dialect.dropCaptureTrigger] + dialect.dropCaptureLog)
        } else {
            try await transaction { try await run(dialect.dropCaptureLog) }
        }
    }

    public func retire(schema: String, table: String, commandId: String) async throws -> Bool {
        guard let key = try await primaryKey(schema: schema, table: table) else { return false }
        let previous = PostgresDialect(schema: schema, table: table, key: key, commandId: commandId)
        guard try await exists(PostgresDialect.identifierPath(schema, previous.beforeName)) else { return false }
        // The backward capture's trigger is on the live table; its tables go after, without that lock.
        try await underTableLock(previous, mode: "ACCESS EXCLUSIVE", previous.retireCapture)
        try await transaction { try await run(previous.retireTables) }
        return true
    }

    /// Puts the old table back (within the retention): every row written since the swap included.
    public func rollback(schema: String, table: String, commandId: String, lockTimeoutMilliseconds: Int, attempts: Int) async throws -> Double {
        guard let key = try await primaryKey(schema: schema, table: table) else { throw TargetRejection("table \(schema).\(table) has no primary key") }
        let dialect = PostgresDialect(schema: schema, table: table, key: key, commandId: commandId)
        guard try await exists(PostgresDialect.identifierPath(schema, dialect.beforeName)) else {
            throw TargetRejection("the table before command \(commandId) (\(schema).\(dialect.beforeName)) is gone: the retention ended or it was rolled back already")
        }
        let newSequences = try await sequences(PostgresDialect.identifierPath(schema, table))
        let oldSequences = try await sequences(PostgresDialect.identifierPath(schema, dialect.beforeName))
        var backoff = 0.05
        let block = dialect.lockedBlock(lock: dialect.source, replay: dialect.replayBack, fewKeys: false,
                                        then: dialect.rollback + handOver(newSequences, to: oldSequences, table: dialect.source))
        for _ in 0..<attempts {
            guard let held = try await locked(block, timeoutMilliseconds: lockTimeoutMilliseconds) else {
                try await Task.sleep(for: .seconds(backoff))
                backoff = min(2, backoff * 2)
                continue
            }
            try await database.execute(dialect.dropRolledBack)
            return held
        }
        throw TargetRejection("could not take the lock on \(schema).\(table) within \(lockTimeoutMilliseconds) ms in \(attempts) attempts")
    }
}

extension PostgresDialect {
    /// `schema.table` as text naming the relation (bound as a parameter of `to_regclass`).
    static func identifierPath(_ schema: String, _ table: String) -> String {
        "\(PartitionDDL.identifier(schema)).\(PartitionDDL.identifier(table))"
    }
}
