import DriftlineExecutor
import DriftlineExecutorService
import DriftlineMetadata
import DriftlinePlanning
import DriftlineTargets
import Foundation
import GRDB
import DriftlineTestSupport
import Testing

/// A SQLite file with `events` (integer key, text times, an index, a default) and `mirror`, a
/// plain copy: what the writer's own log says `events` must hold (each writer transaction changes
/// both).
final class SQLiteTargetFile: @unchecked Sendable {
    let path: String
    let queue: DatabaseQueue

    init(rows: Int) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("target-\(UUID().uuidString).sqlite").path
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        queue = try DatabaseQueue(path: path, configuration: configuration)
        let columns = "id INTEGER PRIMARY KEY, ts TEXT NOT NULL, user_id INTEGER NOT NULL, category TEXT, amount INTEGER NOT NULL DEFAULT 7, note TEXT"
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE events (\(columns))")
            try db.execute(sql: "CREATE INDEX events_user ON events (user_id)")
            try db.execute(sql: """
                WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < \(rows))
                INSERT INTO events (id, ts, user_id, category, amount, note)
                SELECT n, strftime('%Y-%m-%dT%H:%M:%SZ', 1767225600 + n * 10, 'unixepoch'), (n * 7919) % 50000,
                       CASE n % 3 WHEN 0 THEN 'a' WHEN 1 THEN 'b' ELSE 'c' END, n % 1000, hex(randomblob(8)) FROM g
                """)
            try db.execute(sql: "CREATE TABLE mirror (\(columns))")
            try db.execute(sql: "INSERT INTO mirror SELECT * FROM events")
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }  // a temporary file

    func scalar<T: DatabaseValueConvertible>(_ sql: String, as type: T.Type = Int64.self) throws -> T? {
        try queue.read { db in try T.fetchOne(db, sql: sql) }
    }

    /// Rows of `events` that `mirror` lacks, the reverse, rows, and duplicated keys.
    func differences() throws -> (missing: Int64, extra: Int64, rows: Int64, duplicates: Int64) {
        try queue.read { db in
            (try Int64.fetchOne(db, sql: "SELECT count(*) FROM (SELECT * FROM mirror EXCEPT SELECT * FROM events)")!,
             try Int64.fetchOne(db, sql: "SELECT count(*) FROM (SELECT * FROM events EXCEPT SELECT * FROM mirror)")!,
             try Int64.fetchOne(db, sql: "SELECT count(*) FROM events")!,
             try Int64.fetchOne(db, sql: "SELECT count(*) - count(DISTINCT id) FROM events")!)
        }
    }

    /// Leftovers a job must not leave: capture triggers and change tables.
    func leftovers() throws -> [String] {
        try queue.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE name LIKE 'driftline_capture%' OR name LIKE 'driftline_changes%'")
        }
    }

    /// Inserts (with the key the mirror allocates), updates and deletes on its own connection until
    /// stopped; each transaction changes `events` and `mirror` together.
    func startWriter(seed: UInt64) throws -> (TargetDatabase.Writer, Thread) {
        let writer = TargetDatabase.Writer()
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        let connection = try DatabaseQueue(path: path, configuration: configuration)
        // A thread of its own: SQLite's calls block.
        let thread = Thread {
            var state = seed | 1
            func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
            while !writer.stop {
                do {
                    // Read-then-write transactions take the write lock first, as SQLite applications
                    // beside other writers must (a deferred one fails at once when another writer got in between).
                    try connection.writeWithoutTransaction { db in try db.inTransaction(.immediate) {
                        let top = try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 1) FROM mirror")!
                        let id = Int64(next() % UInt64(top)) + 1
                        switch next() % 4 {
                        case 0:
                            try db.execute(sql: "INSERT INTO mirror (ts, user_id, category, amount, note) VALUES (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?, 'w', ?, hex(randomblob(8)))",
                                           arguments: [Int64(next() % 50000), Int64(next() % 1000)])
                            try db.execute(sql: "INSERT INTO events SELECT * FROM mirror WHERE id = last_insert_rowid()")
                        case 1:
                            try db.execute(sql: "DELETE FROM events WHERE id = ?", arguments: [id])
                            try db.execute(sql: "DELETE FROM mirror WHERE id = ?", arguments: [id])
                        default:
                            let note = String(next(), radix: 16)
                            try db.execute(sql: "UPDATE events SET amount = amount + 1, note = ? WHERE id = ?", arguments: [note, id])
                            try db.execute(sql: "UPDATE mirror SET amount = amount + 1, note = ? WHERE id = ?", arguments: [note, id])
                        }
                        return .commit
                    } }
                    writer.record(nil)
                } catch {
                    writer.record("\(error)")
                }
            }
            writer.finished = true
        }
        thread.start()
        return (writer, thread)
    }
}

extension TargetDatabase.Writer {
    /// Waits (off the cooperative pool's hot path: short sleeps) until the writer thread has stopped.
    func stopAndWait() async {
        stop = true
        while !finished { try? await Task.sleep(for: .milliseconds(10)) }  // a cancelled sleep just loops
    }
}

/// A command for `layout` on the SQLite target's `events`.
func sqliteCommand(_ id: String, _ layout: PartitionLayout, expectedVersion: Int64? = nil) -> RepartitionCommand {
    var result = command(id, layout, expectedVersion: expectedVersion)
    result.store = "sqlite"
    result.table = "events"
    result.plan.table = "events"
    result.plan.ddl = PartitionDDL.statements(for: layout, schema: "main", table: "events")
    return result
}

/// Days of the test data's time range (2026-01-01 on, ten seconds a row).
func rangeByDay(_ days: Int) -> PartitionLevel {
    var partitions: [RangeBound] = []
    var lower: Scalar?
    for day in 1...days {
        let bound = Scalar.number(1_767_225_600 + Double(day) * 86_400)
        partitions.append(RangeBound(lower: lower, upper: bound))
        lower = bound
    }
    partitions.append(RangeBound(lower: lower, upper: nil))
    return .range(column: "ts", type: .timestamp, partitions: partitions, interval: "1 day", hasDefault: false)
}

@Suite(.serialized) struct ExecutorSQLiteTests {
    func run(_ command: RepartitionCommand, on file: SQLiteTargetFile, repository: MetadataRepository) async throws -> (RepartitionStatus.State?, [RepartitionStatus]) {
        let target = try SQLiteTarget(path: file.path)
        let statuses = StatusLog()
        var settings = RepartitionWorkflow.Settings()
        settings.batchRows = 10_000
        let outcome = await RepartitionRunner(command: command, target: target, repository: repository, holder: "test", settings: settings) { statuses.append($0) }.run()
        await target.close()
        return (outcome, statuses.all)
    }

    @Test(arguments: [
        ("hash", PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 8)])),
        ("composite", PartitionLayout(levels: [rangeByDay(4), .hash(column: "user_id", type: .integer, modulus: 4)])),
    ])
    func repartitionsUnderALiveWriterWithoutLosingARow(_ name: String, _ layout: PartitionLayout) async throws {
        let file = try SQLiteTargetFile(rows: 100_000)
        let (writer, _) = try file.startWriter(seed: 42)
        let store = try await MetadataStores.open(metadataFile())
        try await store.migrate()
        let repository = MetadataRepository(store: store)
        try await Task.sleep(for: .milliseconds(300))
        let (outcome, statuses) = try await run(sqliteCommand("sqlite-\(name)", layout), on: file, repository: repository)
        try await Task.sleep(for: .milliseconds(500))  // writes through the view too
        await writer.stopAndWait()
        #expect(outcome == .completed, "\(statuses.last.map { "\($0.state) \($0.error ?? "")" } ?? "no status")")
        #expect(statuses.map(\.state).contains(.swapped))
        try await validate(try statuses.map { try JSONEncoder().encode($0) }, schema: "repartition-status.v1.json")
        #expect(writer.failures.isEmpty, "writer errors: \(writer.failures.prefix(3))")
        #expect(writer.operations > 100, "the writer ran only \(writer.operations) transactions")
        // The name is the view over the partitions now, and holds exactly what the writer's log says.
        #expect(try file.scalar("SELECT type FROM sqlite_master WHERE name = 'events'", as: String.self) == "view")
        let leaves = try file.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'events_repartitioned_%'")
        #expect(leaves == Int64(layout.leafCount))
        let (missing, extra, rows, duplicates) = try file.differences()
        #expect(missing == 0 && extra == 0 && duplicates == 0, "\(missing) rows missing, \(extra) extra, \(duplicates) duplicated after \(writer.operations) writes")
        #expect(rows > 95_000)
        #expect(try file.leftovers().isEmpty)
        // Every partition's index came along, and each row sits where its bounds say.
        let indexes = try file.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'events_repartitioned_%_events_user'")
        #expect(indexes == Int64(layout.leafCount))
        if name == "hash" {
            let misplaced = try file.scalar("SELECT count(*) FROM events_repartitioned_h3 WHERE id % 8 <> 3")
            #expect(misplaced == 0)
        }
        let history = try await repository.log(PartitionStrategyRecord.self, kind: MetadataKind.partitioning, source: "events")
        #expect(history.map(\.commandID) == ["sqlite-\(name)"])
        await store.close()
    }

    /// The view behaves like the table: keys allocated across partitions, the key kept unique,
    /// updates that move a row between partitions, defaults, deletes, rows no partition takes.
    @Test func theViewActsLikeTheTable() async throws {
        let file = try SQLiteTargetFile(rows: 1_000)
        let store = try await MetadataStores.open(metadataFile())
        try await store.migrate()
        let layout = PartitionLayout(levels: [rangeByDay(1)])
        let (outcome, statuses) = try await run(sqliteCommand("view", layout), on: file, repository: MetadataRepository(store: store))
        #expect(outcome == .completed, "\(statuses.last?.error ?? "")")
        try await file.queue.write { db in
            try db.execute(sql: "INSERT INTO events (ts, user_id) VALUES ('2026-01-03T00:00:00Z', 5)")
            let row = try Row.fetchOne(db, sql: "SELECT id, amount FROM events WHERE user_id = 5 AND ts = '2026-01-03T00:00:00Z'")
            let id: Int64? = row?["id"], amount: Int64? = row?["amount"]
            #expect(id == 1001, "the next key after all partitions' largest")
            #expect(amount == 7, "the column's default")
            #expect(try Int64.fetchOne(db, sql: "SELECT count(*) FROM events_repartitioned_p_min WHERE id = 1001") == 0)
            // The bound itself belongs to the upper partition (FROM is inclusive, TO exclusive).
            try db.execute(sql: "UPDATE events SET ts = '2026-01-02T00:00:00Z' WHERE id = 1")
            #expect(try Int64.fetchOne(db, sql: "SELECT count(*) FROM events_repartitioned_p_min WHERE id = 1") == 0)
            #expect(try Int64.fetchOne(db, sql: "SELECT count(*) FROM events WHERE id = 1") == 1)
            try db.execute(sql: "UPDATE events SET ts = '2026-01-01T23:59:59.999Z' WHERE id = 1")
            #expect(try Int64.fetchOne(db, sql: "SELECT count(*) FROM events_repartitioned_p_min WHERE id = 1") == 1)
            try db.execute(sql: "DELETE FROM events WHERE id = 2")
            #expect(try Int64.fetchOne(db, sql: "SELECT count(*) FROM events WHERE id = 2") == 0)
        }
        await #expect(throws: DatabaseError.self) {
            try await file.queue.write { db in try db.execute(sql: "INSERT INTO events (id, ts, user_id) VALUES (3, '2026-01-05T00:00:00Z', 1)") }
        }
        #expect(try file.scalar("SELECT count(*) FROM events WHERE id = 3") == 1, "the duplicate key was refused")
        await store.close()
    }

    @Test(arguments: ["copy:4", "replay", "swap", "swapped"])
    func killNineResumesFromTheLastCheckpoint(_ point: String) async throws {
        let file = try SQLiteTargetFile(rows: 100_000)
        let (writer, _) = try file.startWriter(seed: 7)
        let path = try writeCommand(sqliteCommand("kill-\(point.filter(\.isLetter))", PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 4)])))
        let metadata = metadataFile()
        let arguments = ["execute", "--command", path, "--target", file.path, "--store", metadata, "--batch-rows", "10000", "--lease-seconds", "3"]
        let first = try Child(arguments, environment: ["DRIFTLINE_FAULT_PAUSE_BEFORE": point])
        #expect(await first.waitFor("paused before \(point)"), "never reached \(point): \(first.output) \(first.errors.suffix(2000))")
        await first.kill()
        let second = try Child(arguments)
        let status = await second.wait()
        await writer.stopAndWait()
        #expect(status == 0, "restart failed: \(second.output) \(second.errors)")
        let phase = point.hasPrefix("copy") ? "copying" : point == "replay" ? "replaying" : "swapping"
        #expect(second.output.contains("resuming from \(phase) after"), "\(second.output)")
        if point.hasPrefix("copy") {
            #expect(second.output.contains("after 30000 rows"), "three batches of 10000 were checkpointed before the kill: \(second.output)")
        }
        #expect(try file.scalar("SELECT type FROM sqlite_master WHERE name = 'events'", as: String.self) == "view")
        let (missing, extra, _, duplicates) = try file.differences()
        #expect(missing == 0 && extra == 0 && duplicates == 0, "killed before \(point): \(missing) missing, \(extra) extra, \(duplicates) duplicated")
        #expect(try file.leftovers().isEmpty)
        #expect(writer.failures.isEmpty, "writer errors: \(writer.failures.prefix(3))")
    }

    @Test func twoExecutorsOneCommandOneDoesTheWork() async throws {
        let file = try SQLiteTargetFile(rows: 50_000)
        let path = try writeCommand(sqliteCommand("twice", PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 4)])))
        let metadata = metadataFile()
        let arguments = ["execute", "--command", path, "--target", file.path, "--store", metadata, "--batch-rows", "10000"]
        let one = try Child(arguments + ["--holder", "one"]), two = try Child(arguments + ["--holder", "two"])
        #expect(await one.wait() == 0, "\(one.output) \(one.errors)")
        #expect(await two.wait() == 0, "\(two.output) \(two.errors)")
        #expect([one.output, two.output].filter { $0.contains(" swapped ") }.count == 1, "\(one.output)\n---\n\(two.output)")
        let (missing, extra, _, duplicates) = try file.differences()
        #expect(missing == 0 && extra == 0 && duplicates == 0)
        let again = try Child(arguments)
        #expect(await again.wait() == 0 && !again.output.contains(" swapped "), "a third run of the same command does nothing: \(again.output)")
    }

    @Test func rollbackAfterTheSwapKeepsWritesMadeSince() async throws {
        let file = try SQLiteTargetFile(rows: 50_000)
        let path = try writeCommand(sqliteCommand("roll", PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 8)])))
        let metadata = metadataFile()
        let execute = try Child(["execute", "--command", path, "--target", file.path, "--store", metadata])
        #expect(await execute.wait() == 0, "\(execute.output) \(execute.errors)")
        #expect(try file.scalar("SELECT type FROM sqlite_master WHERE name = 'events'", as: String.self) == "view")
        let (writer, _) = try file.startWriter(seed: 99)
        try await Task.sleep(for: .seconds(1))
        let rollback = try Child(["rollback", "--table", "events", "--target", file.path, "--store", metadata])
        let status = await rollback.wait()
        try await Task.sleep(for: .milliseconds(300))
        await writer.stopAndWait()
        #expect(status == 0, "\(rollback.output) \(rollback.errors)")
        #expect(try file.scalar("SELECT type FROM sqlite_master WHERE name = 'events'", as: String.self) == "table")
        #expect(writer.operations > 50)
        #expect(writer.failures.isEmpty, "writer errors: \(writer.failures.prefix(3))")
        let (missing, extra, _, duplicates) = try file.differences()
        #expect(missing == 0 && extra == 0 && duplicates == 0, "after rollback with \(writer.operations) writes: \(missing) missing, \(extra) extra")
        let left = try file.scalar("SELECT count(*) FROM sqlite_master WHERE name LIKE 'driftline_%' OR name LIKE 'events_repartitioned%' OR name LIKE 'events_before%'")
        #expect(left == 0)
        // The table's own key allocation carries on.
        try await file.queue.write { db in try db.execute(sql: "INSERT INTO events (ts, user_id) VALUES ('2026-02-01T00:00:00Z', 1)") }
    }

    /// A step that outlasts the lease (here a verification made slow) keeps it: no other executor
    /// can take the table meanwhile, and the job completes.
    @Test func aStepLongerThanTheLeaseKeepsIt() async throws {
        let file = try SQLiteTargetFile(rows: 5_000)
        let store = try await MetadataStores.open(metadataFile())
        try await store.migrate()
        let repository = MetadataRepository(store: store)
        let target = SlowVerification(try SQLiteTarget(path: file.path), delay: .seconds(7))
        let statuses = StatusLog()
        let runner = RepartitionRunner(command: sqliteCommand("slow", PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 2)])),
                                       target: target, repository: repository, holder: "slow", leaseTTL: .seconds(3)) { statuses.append($0) }
        let job = Task { await runner.run() }
        while !statuses.all.contains(where: { $0.state == .verifying }) { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .seconds(5))  // past the lease's lifetime, still verifying
        let taken = try await store.acquireLease("repartition:events", holder: "other", ttl: .seconds(3), now: Date())
        #expect(taken == nil, "another executor took the table's lease during a long step")
        let outcome = await job.value
        await target.close()
        #expect(outcome == .completed, "\(statuses.all.last?.error ?? "")")
        await store.close()
    }

    @Test func badCommandsAreRejectedAndChangeNothing() async throws {
        let file = try SQLiteTargetFile(rows: 1_000)
        try await file.queue.write { db in
            try db.execute(sql: "CREATE TABLE nokey (id INTEGER, doc TEXT)")
            try db.execute(sql: "CREATE TABLE parent (id INTEGER PRIMARY KEY)")
            try db.execute(sql: "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id))")
        }
        let schemaBefore = try file.scalar("SELECT group_concat(name) FROM (SELECT name FROM sqlite_master ORDER BY name)", as: String.self)
        let store = try await MetadataStores.open(metadataFile())
        try await store.migrate()
        let repository = MetadataRepository(store: store)
        let hash = PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 4)])
        var missingTable = sqliteCommand("missing", hash)
        missingTable.table = "nosuch"
        var noKey = sqliteCommand("nokey", hash)
        noKey.table = "nokey"
        noKey.plan.ddl = PartitionDDL.statements(for: hash, schema: "main", table: "nokey")
        var referenced = sqliteCommand("referenced", hash)
        referenced.table = "parent"
        referenced.plan.ddl = PartitionDDL.statements(for: hash, schema: "main", table: "parent")
        var lowRange = PartitionLayout(levels: [rangeByDay(1)])
        if case let .range(column, type, partitions, interval, _) = lowRange.levels[0] {
            lowRange = PartitionLayout(levels: [.range(column: column, type: type, partitions: [partitions[1]], interval: interval, hasDefault: false)])
        }
        let cases: [(RepartitionCommand, String)] = [
            (sqliteCommand("stale", hash, expectedVersion: 5), "stale command: it expects version 5"),
            (missingTable, "table nosuch does not exist"),
            (noKey, "has no primary key"),
            (referenced, "child has a foreign key to parent"),
            (sqliteCommand("nocolumn", PartitionLayout(levels: [.hash(column: "nosuch", type: .integer, modulus: 4)])), "column \"nosuch\" does not exist in events"),
            (sqliteCommand("nohash", PartitionLayout(levels: [.hash(column: "note", type: .text, modulus: 4)])), "hash partitioning on SQLite needs an integer column"),
            (sqliteCommand("orphans", lowRange), "rows of events fall in no partition"),
        ]
        for (command, reason) in cases {
            let (outcome, statuses) = try await run(command, on: file, repository: repository)
            #expect(outcome == .rejected, "\(command.id)")
            let error = statuses.last?.error ?? ""
            #expect(error.contains(reason), "\(command.id): \(error)")
        }
        #expect(try file.scalar("SELECT group_concat(name) FROM (SELECT name FROM sqlite_master ORDER BY name)", as: String.self) == schemaBefore, "nothing changed")
        // A table Driftline already partitioned is refused until it is rolled back.
        let (done, _) = try await run(sqliteCommand("first", hash), on: file, repository: repository)
        #expect(done == .completed)
        let (again, statuses) = try await run(sqliteCommand("second", PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 2)])), on: file, repository: repository)
        #expect(again == .rejected && (statuses.last?.error ?? "").contains("roll it back"), "\(statuses.last?.error ?? "")")
        await store.close()
    }
}

/// A target whose verification waits `delay` first.
final class SlowVerification: TargetStore, @unchecked Sendable {
    let inner: any TargetStore
    let delay: Duration
    init(_ inner: any TargetStore, delay: Duration) { self.inner = inner; self.delay = delay }
    func validate(_ command: RepartitionCommand) async throws -> Int64 { try await inner.validate(command) }
    func prepare(_ command: RepartitionCommand) async throws -> (copiedThrough: [String]?, copiedRows: Int64) { try await inner.prepare(command) }
    func copyBatch(after: [String]?, limit: Int) async throws -> (lastKey: [String]?, rows: Int64) { try await inner.copyBatch(after: after, limit: limit) }
    func replay(limit: Int) async throws -> (rows: Int64, pending: Int64) { try await inner.replay(limit: limit) }
    func verify() async throws -> [String] {
        try await Task.sleep(for: delay)
        return try await inner.verify()
    }
    func swap(lockTimeoutMilliseconds: Int) async throws -> Double? { try await inner.swap(lockTimeoutMilliseconds: lockTimeoutMilliseconds) }
    func cleanUp() async throws { try await inner.cleanUp() }
    func retire(schema: String, table: String, commandId: String) async throws -> Bool { try await inner.retire(schema: schema, table: table, commandId: commandId) }
    func rollback(schema: String, table: String, commandId: String, lockTimeoutMilliseconds: Int, attempts: Int) async throws -> Double {
        try await inner.rollback(schema: schema, table: table, commandId: commandId, lockTimeoutMilliseconds: lockTimeoutMilliseconds, attempts: attempts)
    }
    func close() async { await inner.close() }
}
