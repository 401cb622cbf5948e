import DriftlineExecutor
import DriftlineExecutorService
import DriftlineMetadata
import DriftlinePlanning
import DriftlineTargets
import Foundation
import PostgresNIO
import DriftlineTestSupport
import Testing

/// `driftline` as a child process, its output in files (read while it runs).
typealias Child = ChildProcess
extension ChildProcess {
    convenience init(_ arguments: [String], environment: [String: String] = [:]) throws {
        try self.init(driftline: arguments, environment: environment)
    }
}

@Suite(.serialized) struct ExecutorPostgresTests {
    static let enabled = TargetDatabase.available

    @Test(.enabled(if: enabled, "DRIFTLINE_TEST_POSTGRES_URL is not set: run ops/test.sh, which starts PostgreSQL"), arguments: ChangeCapture.allCases)
    func rangeToHashThenHashToCompositeUnderALiveWriter(_ capture: ChangeCapture) async throws {
        let database = try await TargetDatabase.open("live_\(capture)")
        do {
            try await database.createEvents(rows: 300_000, layout: PartitionLayout(levels: [rangeByID([100_000, 200_000, 300_000])]))
            let (writer, task) = try await database.startWriter(seed: 42)
            let store = try await MetadataStores.open(metadataFile())
            try await store.migrate()
            let repository = MetadataRepository(store: store)
            var settings = RepartitionWorkflow.Settings()
            settings.batchRows = 20_000
            let steps: [(String, PartitionLayout)] = [
                ("to-hash", PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 8)])),
                ("to-composite", PartitionLayout(levels: [rangeByID([150_000]), .hash(column: "id", type: .integer, modulus: 4)])),
            ]
            var emitted: [RepartitionStatus] = []
            let watcher = try await CaptureWatcher(database)
            for (id, layout) in steps {
                let target = try await PostgresTarget(url: database.url, capture: capture)
                let statuses = StatusLog()
                try await validate([try JSONEncoder().encode(command(id, layout))], schema: "repartition-command.v1.json")
                defer { emitted += statuses.all }
                let runner = RepartitionRunner(command: command(id, layout), target: target, repository: repository, holder: "test", settings: settings) { statuses.append($0) }
                let outcome = await runner.run()
                await target.close()
                #expect(outcome == .completed, "\(id) (\(capture)): \(statuses.all.last.map { "\($0.state) \($0.error ?? "")" } ?? "no status")")
                #expect(statuses.all.map(\.state).contains(.swapped))
                // The new layout is live.
                let leaves: Int64 = try await database.scalar("SELECT count(*)::int8 FROM pg_partition_tree('public.events') WHERE isleaf")
                #expect(leaves == Int64(layout.leafCount), "\(id)")
            }
            writer.stop = true
            await task.value
            let seen = await watcher.stop()
            // Which capture did the work: the logical one copies with no trigger on the table.
            if capture == .logical {
                #expect(seen.contains { $0.slot && !$0.trigger }, "no moment with the slot and without the trigger in \(seen.count) samples")
            } else {
                #expect(!seen.contains { $0.slot } && seen.contains { $0.trigger })
            }
            // Every status the runner emitted matches the status topic's schema; the copy reported progress.
            try await validate(try emitted.map { try JSONEncoder().encode($0) }, schema: "repartition-status.v1.json")
            #expect(emitted.contains { $0.state == .copying && ($0.rate ?? 0) > 0 && $0.etaSeconds != nil })
            #expect(writer.failures.isEmpty, "writer errors: \(writer.failures.prefix(3))")
            #expect(writer.operations > 100, "the writer ran only \(writer.operations) statements")
            let (missing, extra, rows) = try await database.differences()
            #expect(missing == 0 && extra == 0, "after two migrations under \(writer.operations) writes: \(missing) rows missing, \(extra) extra")
            #expect(rows > 290_000)
            let duplicates: Int64 = try await database.scalar("SELECT count(*)::int8 FROM (SELECT id FROM events GROUP BY id HAVING count(*) > 1) d")
            #expect(duplicates == 0)
            #expect(try await database.leftovers().isEmpty)
            // History: both layouts recorded, the second current.
            let history = try await repository.log(PartitionStrategyRecord.self, kind: MetadataKind.partitioning, source: "public.events")
            #expect(history.map(\.commandID) == ["to-hash", "to-composite"])
            await store.close()
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }

    @Test(.enabled(if: enabled, "DRIFTLINE_TEST_POSTGRES_URL is not set: run ops/test.sh, which starts PostgreSQL"),
          arguments: zip(["copy:6", "replay", "verify", "swap", "swapped", "copy:6", "replay", "verify"],
                         [ChangeCapture.trigger, .trigger, .trigger, .trigger, .trigger, .logical, .logical, .logical]))
    func killNineResumesFromTheLastCheckpoint(_ point: String, _ capture: ChangeCapture) async throws {
        let database = try await TargetDatabase.open("kill_\(point.filter(\.isLetter))_\(capture)")
        do {
            try await database.createEvents(rows: 300_000)
            let (writer, task) = try await database.startWriter(seed: 7)
            let path = try writeCommand(command("kill-\(point.filter(\.isLetter))", PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 4)])))
            let metadata = metadataFile()
            // The restart runs with the default (trigger) capture: a job resumes as it began (a
            // logical one drains its slot until the hand-over), whatever the restarted executor's setting.
            let arguments = ["execute", "--command", path, "--target", database.url, "--store", metadata, "--batch-rows", "20000", "--lease-seconds", "3"]
            let first = try Child(arguments + ["--capture", capture.rawValue], environment: ["DRIFTLINE_FAULT_PAUSE_BEFORE": point])
            #expect(await first.waitFor("paused before \(point)"), "never reached \(point): \(first.output) \(first.errors.suffix(2000))")
            if capture == .logical {
                // Killed while the slot, not a trigger, captured the writes.
                #expect(try await database.captureInUse() == (slot: true, trigger: false))
            }
            await first.kill()
            let second = try Child(arguments)
            let status = await second.wait()
            writer.stop = true
            await task.value
            #expect(status == 0, "restart failed: \(second.output) \(second.errors)")
            // Resumed, not restarted: the checkpoint's phase and rows carried over.
            // (Killed after the swap committed but before its checkpoint: the store still says swapping.)
            let phase = point.hasPrefix("copy") ? "copying" : point == "replay" ? "replaying" : point == "verify" ? "verifying" : "swapping"
            #expect(second.output.contains("resuming from \(phase) after"), "\(second.output)")
            if point.hasPrefix("copy") {
                #expect(second.output.contains("after 100000 rows"), "five batches of 20000 were checkpointed before the kill: \(second.output)")
            }
            #expect(second.output.contains(" swapped "))
            #expect(try await database.scalar("SELECT relkind::text FROM pg_class WHERE relname = 'events'", as: String.self) == "p")
            let (missing, extra, _) = try await database.differences()
            #expect(missing == 0 && extra == 0, "killed before \(point): \(missing) rows missing, \(extra) extra after resuming")
            #expect(try await database.leftovers().isEmpty)
            #expect(writer.failures.isEmpty, "writer errors: \(writer.failures.prefix(3))")
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }

    /// Verification hashes rows with `hash_record` where it can; json and point columns have no
    /// hash function, so there it must fall back to the rows' text and still complete exactly.
    @Test(.enabled(if: enabled, "DRIFTLINE_TEST_POSTGRES_URL is not set: run ops/test.sh, which starts PostgreSQL"))
    func verificationHashesTextWhereAColumnTypeHasNoHashFunction() async throws {
        let database = try await TargetDatabase.open("unhashable")
        do {
            try await database.createEvents(rows: 20_000)
            try await database.execute("ALTER TABLE public.events ADD COLUMN doc json, ADD COLUMN at point")
            try await database.execute("UPDATE public.events SET doc = json_build_object('id', id, 'note', note), at = point(id, user_id)")
            await #expect(throws: (any Error).self, "hash_record refuses json and point") {
                try await database.execute("SELECT hash_record(e) FROM public.events e LIMIT 1")
            }
            let contents = "SELECT sum(hashtext(e::text)::int8)::int8 FROM public.events e"
            let before: Int64 = try await database.scalar(contents)
            let store = try await MetadataStores.open(metadataFile())
            try await store.migrate()
            let target = try await PostgresTarget(url: database.url)
            let statuses = StatusLog()
            let runner = RepartitionRunner(command: command("unhashable", PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 4)])),
                                           target: target, repository: MetadataRepository(store: store), holder: "test", settings: RepartitionWorkflow.Settings()) { statuses.append($0) }
            let outcome = await runner.run()
            await target.close()
            await store.close()
            #expect(outcome == .completed, "\(statuses.all.last.map { "\($0.state) \($0.error ?? "")" } ?? "no status")")
            #expect(statuses.all.map(\.state).contains(.verifying))
            let leaves: Int64 = try await database.scalar("SELECT count(*)::int8 FROM pg_partition_tree('public.events') WHERE isleaf")
            #expect(leaves == 4)
            let after: Int64 = try await database.scalar(contents)
            #expect(after == before, "the rows, json and points included, are the same after the migration")
            #expect(try await database.scalar("SELECT count(*)::int8 FROM public.events") == Int64(20_000))
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }

    @Test(.enabled(if: enabled, "DRIFTLINE_TEST_POSTGRES_URL is not set: run ops/test.sh, which starts PostgreSQL"))
    func twoExecutorsOneCommandOneDoesTheWork() async throws {
        let database = try await TargetDatabase.open("twice")
        do {
            try await database.createEvents(rows: 300_000)
            let path = try writeCommand(command("twice", PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 4)])))
            let metadata = metadataFile()
            let arguments = ["execute", "--command", path, "--target", database.url, "--store", metadata, "--batch-rows", "20000"]
            let one = try Child(arguments + ["--holder", "one"]), two = try Child(arguments + ["--holder", "two"])
            #expect(await one.wait() == 0, "\(one.output) \(one.errors)")
            #expect(await two.wait() == 0, "\(two.output) \(two.errors)")
            // Exactly one of them swapped.
            #expect([one.output, two.output].filter { $0.contains(" swapped ") }.count == 1, "\(one.output)\n---\n\(two.output)")
            let (missing, extra, _) = try await database.differences()
            #expect(missing == 0 && extra == 0)
            let again = try Child(arguments)
            #expect(await again.wait() == 0 && !again.output.contains(" swapped "), "a third run of the same command does nothing: \(again.output)")
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }

    @Test(.enabled(if: enabled, "DRIFTLINE_TEST_POSTGRES_URL is not set: run ops/test.sh, which starts PostgreSQL"))
    func rollbackAfterTheSwapKeepsWritesMadeSince() async throws {
        let database = try await TargetDatabase.open("rollback")
        do {
            try await database.createEvents(rows: 300_000)
            let path = try writeCommand(command("roll", PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 8)])))
            let metadata = metadataFile()
            let execute = try Child(["execute", "--command", path, "--target", database.url, "--store", metadata])
            #expect(await execute.wait() == 0, "\(execute.output) \(execute.errors)")
            #expect(try await database.scalar("SELECT relkind::text FROM pg_class WHERE relname = 'events'", as: String.self) == "p")
            // Writes to the new layout, then back.
            let (writer, task) = try await database.startWriter(seed: 99)
            try await Task.sleep(for: .seconds(2))
            let rollback = try Child(["rollback", "--table", "public.events", "--target", database.url, "--store", metadata])
            let status = await rollback.wait()
            try await Task.sleep(for: .milliseconds(500))
            writer.stop = true
            await task.value
            #expect(status == 0, "\(rollback.output) \(rollback.errors)")
            #expect(try await database.scalar("SELECT relkind::text FROM pg_class WHERE relname = 'events'", as: String.self) == "r")
            #expect(writer.operations > 50)
            #expect(writer.failures.isEmpty, "writer errors: \(writer.failures.prefix(3))")
            let (missing, extra, _) = try await database.differences()
            #expect(missing == 0 && extra == 0, "after rollback with \(writer.operations) writes: \(missing) missing, \(extra) extra")
            let left: Int64 = try await database.scalar("SELECT count(*)::int8 FROM pg_class WHERE relname LIKE 'driftline_back%' OR relname LIKE 'events_rolled_back%' OR relname LIKE 'events_h%'")
            #expect(left == 0)
            // New rows still get fresh ids from the sequence.
            try await database.execute("INSERT INTO events (ts, user_id) VALUES (now(), 1)")
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }

    /// A shadow another command left (its job failed and could not clean up) is dropped, not
    /// continued as this command's; the new table keeps the original's comment.
    @Test(.enabled(if: enabled, "DRIFTLINE_TEST_POSTGRES_URL is not set: run ops/test.sh, which starts PostgreSQL"))
    func aShadowLeftByAnotherCommandIsNotAdopted() async throws {
        let database = try await TargetDatabase.open("foreign")
        do {
            try await database.createEvents(rows: 20_000)
            try await database.execute("COMMENT ON TABLE events IS 'orders of the shop'")
            // The leftover: another layout (range by id, 2 partitions), with rows that are not the table's.
            for statement in PartitionDDL.statements(for: PartitionLayout(levels: [rangeByID([10_000])]), schema: "public", table: "events") {
                try await database.execute(statement)
            }
            try await database.execute("COMMENT ON TABLE events_repartitioned IS 'driftline:someone-else'")
            try await database.execute("INSERT INTO events_repartitioned SELECT * FROM events WHERE id <= 500")
            try await database.execute("UPDATE events_repartitioned SET note = 'stale'")
            // …and that job's logical capture, which pins the server's WAL until someone drops it.
            let theirs = PostgresDialect(schema: "public", table: "events", key: [.init(name: "id", type: "bigint")], commandId: "someone-else")
            let slot = theirs.slotName(database: database.name)
            try await database.execute(theirs.createPublication(slot))
            try await database.execute(PostgresDialect.createSlot(slot))
            let store = try await MetadataStores.open(metadataFile())
            try await store.migrate()
            let target = try await PostgresTarget(url: database.url)
            let statuses = StatusLog()
            let layout = PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 4)])
            let outcome = await RepartitionRunner(command: command("fresh", layout), target: target, repository: MetadataRepository(store: store), holder: "test") { statuses.append($0) }.run()
            await target.close()
            #expect(outcome == .completed, "\(statuses.all.last.map { "\($0.state) \($0.error ?? "")" } ?? "no status")")
            let leaves: Int64 = try await database.scalar("SELECT count(*)::int8 FROM pg_partition_tree('public.events') WHERE isleaf")
            #expect(leaves == 4, "the command's layout, not the leftover's")
            let (missing, extra, _) = try await database.differences()
            #expect(missing == 0 && extra == 0, "\(missing) missing, \(extra) extra (stale rows of the leftover?)")
            #expect(try await database.scalar("SELECT obj_description('public.events'::regclass, 'pg_class')", as: String.self) == "orders of the shop")
            #expect(try await database.leftovers().isEmpty)
            await store.close()
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }

    /// The capture trigger needs a lock that conflicts with writers. Waiting for it unbounded behind a
    /// long writer transaction would queue every other writer behind the executor; it must wait in
    /// short attempts and get through once the long transaction ends.
    @Test(.enabled(if: enabled, "DRIFTLINE_TEST_POSTGRES_URL is not set: run ops/test.sh, which starts PostgreSQL"))
    func aLongWriterTransactionDoesNotStallOtherWriters() async throws {
        let database = try await TargetDatabase.open("longtx")
        do {
            try await database.createEvents(rows: 20_000, layout: PartitionLayout(levels: [rangeByID([10_000, 20_000])]))
            let long = try await database.connect(id: 30)
            let probe = try await database.connect(id: 31)
            _ = try await long.query("BEGIN", logger: TargetDatabase.logger).collect()
            _ = try await long.query("UPDATE events SET amount = amount WHERE id = 1", logger: TargetDatabase.logger).collect()
            // A writer statement that waits over 2 s for a lock fails: with the executor queued
            // unbounded ahead of it, it would wait the whole 4 s the long transaction stays open.
            _ = try await probe.query("SET lock_timeout = '2s'", logger: TargetDatabase.logger).collect()
            let store = try await MetadataStores.open(metadataFile())
            try await store.migrate()
            let target = try await PostgresTarget(url: database.url)
            let statuses = StatusLog()
            let layout = PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 4)])
            let run = Task { await RepartitionRunner(command: command("longtx", layout), target: target, repository: MetadataRepository(store: store), holder: "test") { statuses.append($0) }.run() }
            var probeFailures: [String] = []
            var probes = 0
            let openUntil = Date().addingTimeInterval(4)
            while Date() < openUntil {
                do {
                    _ = try await probe.query("INSERT INTO events (ts, user_id, category, amount, note) VALUES (now(), 1, 'p', 1, 'probe')", logger: TargetDatabase.logger).collect()
                    probes += 1
                } catch let error as PSQLError {
                    probeFailures.append(error.serverInfo?[.message] ?? String(reflecting: error))
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            // Still preparing: the capture cannot be in place while the long transaction holds its lock.
            #expect(!statuses.all.contains { $0.state == .copying || $0.state == .swapped }, "\(statuses.all.map(\.state))")
            _ = try await long.query("COMMIT", logger: TargetDatabase.logger).collect()
            let outcome = await run.value
            await target.close()
            #expect(probeFailures.isEmpty, "other writers stalled behind the executor: \(probeFailures.prefix(3))")
            #expect(probes > 20)
            #expect(outcome == .completed, "\(statuses.all.last.map { "\($0.state) \($0.error ?? "")" } ?? "no status")")
            let (missing, extra, _) = try await database.differences()
            // The probe rows went to `events` only, so they are the extra rows, and the copy kept them.
            #expect(missing == 0 && extra == Int64(probes))
            try await long.close()
            try await probe.close()
            await store.close()
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }

    @Test(.enabled(if: enabled, "DRIFTLINE_TEST_POSTGRES_URL is not set: run ops/test.sh, which starts PostgreSQL"))
    func badCommandsAreRejectedAndChangeNothing() async throws {
        let database = try await TargetDatabase.open("reject")
        do {
            try await database.createEvents(rows: 1000)
            try await database.execute("CREATE TABLE nokey (id int, doc json)")
            try await database.execute("ALTER TABLE events ADD COLUMN doc json")
            let store = try await MetadataStores.open(metadataFile())
            try await store.migrate()
            let repository = MetadataRepository(store: store)
            var missingTable = command("missing", PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 4)]))
            missingTable.table = "public.nosuch"
            var noKey = command("nokey", PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 4)]))
            noKey.table = "public.nokey"
            let cases: [(RepartitionCommand, String)] = [
                (command("stale", PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 4)]), expectedVersion: 5), "stale command: it expects version 5"),
                (missingTable, "table public.nosuch does not exist"),
                (noKey, "has no primary key"),
                (command("nocolumn", PartitionLayout(levels: [.hash(column: "nosuch", type: .integer, modulus: 4)])), "column \"nosuch\" named in partition key does not exist"),
                (command("nohash", PartitionLayout(levels: [.hash(column: "doc", type: .other, modulus: 4)])), "has no default operator class for access method \"hash\""),
            ]
            for (command, reason) in cases {
                let target = try await PostgresTarget(url: database.url)
                let statuses = StatusLog()
                let outcome = await RepartitionRunner(command: command, target: target, repository: repository, holder: "test") { statuses.append($0) }.run()
                await target.close()
                #expect(outcome == .rejected, "\(command.id)")
                let error = statuses.all.last?.error ?? ""
                #expect(error.contains(reason), "\(command.id): \(error)")
                #expect(try await database.leftovers().isEmpty, "\(command.id) left something")
            }
            // The logical capture for a role that may not use replication slots: rejected, and why.
            try await database.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'driftline_app') THEN CREATE ROLE driftline_app LOGIN; END IF; END $$")
            var app = try #require(URLComponents(string: database.url))
            app.user = "driftline_app"
            let target = try await PostgresTarget(url: try #require(app.string), capture: .logical)
            let statuses = StatusLog()
            let outcome = await RepartitionRunner(command: command("noreplication", PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 4)])),
                                                  target: target, repository: repository, holder: "test") { statuses.append($0) }.run()
            await target.close()
            #expect(outcome == .rejected)
            #expect((statuses.all.last?.error ?? "").contains("needs a role with REPLICATION"), "\(statuses.all.last?.error ?? "")")
            #expect(try await database.leftovers().isEmpty)
            #expect(try await database.scalar("SELECT relkind::text FROM pg_class WHERE relname = 'events'", as: String.self) == "r")
            #expect(try await repository.log(PartitionStrategyRecord.self, kind: MetadataKind.partitioning, source: "public.events").isEmpty)
            await store.close()
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }
}

/// A command written to a temporary file, for `driftline execute --command`.
func writeCommand(_ command: RepartitionCommand) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("command-\(UUID().uuidString).json").path
    try JSONEncoder().encode(command).write(to: URL(fileURLWithPath: path))
    return path
}

/// A fresh metadata store file.
func metadataFile() -> String { FileManager.default.temporaryDirectory.appendingPathComponent("executor-\(UUID().uuidString).sqlite").path }

final class StatusLog: @unchecked Sendable {
    private let lock = NSLock()
    private var statuses: [RepartitionStatus] = []
    func append(_ status: RepartitionStatus) { lock.withLock { statuses.append(status) } }
    var all: [RepartitionStatus] { lock.withLock { statuses } }
}
