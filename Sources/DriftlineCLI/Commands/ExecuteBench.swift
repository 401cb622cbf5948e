import ArgumentParser
import DriftlineExecutor
import DriftlineExecutorService
import DriftlineMetadata
import DriftlinePlanning
import DriftlineProfiling
import DriftlineServiceRuntime
import DriftlineTargets
import Foundation
import PostgresNIO

struct ExecuteBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "execute",
        abstract: "The executor's copy vs a raw INSERT … SELECT into the same layout; the capture's cost to a writer; swap lock times.",
        discussion: """
            For each --rows size, in a database of its own on --pg (default durability): a table of that many \
            rows (bigserial key, a time column over a year); (1) raw: INSERT INTO a monthly RANGE table SELECT * \
            FROM it, the practical limit; (2) the executor re-partitioning it to the same layout, copy phase \
            timed; (3) with --writer-seconds, a writer's transactions per second alone, with the executor's \
            capture in place (the trigger; with --capture logical the slot, decoded every second), and while \
            the executor copies; (4) --swaps small re-partitionings \
            under the writer, each swap's lock time. Rows/s and ratios to raw; the database is dropped after.
            """
    )

    @Option(help: "A PostgreSQL server (postgres://user@host:port/db) whose user may create databases.") var pg: String
    @Option(help: "Table sizes, comma-separated.") var rows: String = "1000000,5000000"
    @Option(help: "Seconds each writer measurement lasts (0: no writer measurements).") var writerSeconds: Double = 10
    @Option(help: "Swaps to time under the writer (0: none).") var swaps: Int = 20
    @Option(help: "Rows per copy batch.") var batchRows: Int = 50_000
    @Option(help: ArgumentHelp("With --writer-seconds, the writer also runs beside a copy throttled to this fraction of the raw median (executor.yaml's throttleRowsPerSecond); 0: not measured.",
                               discussion: "An unthrottled copy fills the WAL the writer's commits wait to flush; the throttle is how an operator trades copy speed for the application's."))
    var writerThrottle: Double = 0.7
    @Option(help: "How the executor captures writes: trigger, or logical (a replication slot; the server needs wal_level = logical).") var capture: String = "trigger"
    @Option(help: "Alternating trials per measurement (raw / executor copy, writer alone / with capture): the machine's disk is noisy, so each ratio is taken between neighbours in time and the median reported.") var trials: Int = 3

    func run() async throws {
        let sizes = rows.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 >= 10_000 }) else { throw ValidationError("--rows must list sizes of at least 10000") }
        guard trials >= 1 else { throw ValidationError("--trials must be at least 1") }
        guard (0...1).contains(writerThrottle) else { throw ValidationError("--writer-throttle must be a fraction in 0...1") }
        guard ChangeCapture(rawValue: capture) != nil else { throw ValidationError("--capture must be trigger or logical") }
        let database = "driftline_bench_execute_\(getpid())"
        try await PostgresCatalog.withCatalog(pg) { try await $0.execute("CREATE DATABASE \(database)") }
        guard var components = URLComponents(string: pg) else { throw ValidationError("--pg is not a URL") }
        components.path = "/" + database
        let url = components.string!
        do {
            for size in sizes { try await measure(size: size, url: url) }
            if swaps > 0 { try await measureSwaps(url: url) }
        } catch {
            try? await PostgresCatalog.withCatalog(pg) { try await $0.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)") }  // already failing
            throw error
        }
        try await PostgresCatalog.withCatalog(pg) { try await $0.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)") }
    }

    static let monthly: PartitionLayout = {
        var partitions: [RangeBound] = []
        var lower: Scalar?
        for month in 2...12 {
            let bound = Double(RFC3339.daysSinceEpoch(year: 2026, month: month, day: 1)) * 86_400
            partitions.append(RangeBound(lower: lower, upper: .number(bound)))
            lower = .number(bound)
        }
        partitions.append(RangeBound(lower: lower, upper: nil))
        return PartitionLayout(levels: [.range(column: "ts", type: .timestamp, partitions: partitions, interval: "1 month", hasDefault: false)])
    }()

    func createSource(_ catalog: PostgresCatalog, rows: Int) async throws {
        // What earlier executor runs kept for rollback (the old table, the backward capture) goes
        // too: kept 5M-row tables would make every later checkpoint longer.
        let leftovers = try await catalog.rows("""
            SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
            WHERE schemaname = 'public' AND (tablename LIKE 'events\\_before\\_%' OR tablename LIKE 'driftline\\_%')
            """)
        for row in leftovers { try await catalog.execute("DROP TABLE IF EXISTS \(try row.decode(String.self)) CASCADE") }
        try await catalog.execute("DROP TABLE IF EXISTS events CASCADE")
        try await catalog.execute("DROP TABLE IF EXISTS events_raw CASCADE")
        try await catalog.execute("CREATE TABLE events (id bigserial, ts timestamptz NOT NULL, user_id int, category text, amount numeric, note text, PRIMARY KEY (id, ts))")
        try await catalog.execute("""
            INSERT INTO events (ts, user_id, category, amount, note)
            SELECT timestamptz '2026-01-01' + (g * interval '364 days' / \(rows)), (g::int8 * 7919) % 50000, (ARRAY['a','b','c'])[1 + g % 3], g % 1000, md5(g::text)
            FROM generate_series(1, \(rows)) g
            """)
        try await catalog.execute("VACUUM ANALYZE events")
    }

    /// The median of `values` (the mean of the middle two for an even count).
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    private func measure(size: Int, url: String) async throws {
        print("— \(size) rows —")
        // (1) Raw copy into the same layout (indexes included, as the executor's shadow has them),
        // and (2) the executor re-partitioning the table to it, alternating: each trial's ratio is
        // between two copies a few seconds apart on the same fresh table.
        var rawRates: [Double] = [], executorRates: [Double] = [], ratios: [Double] = []
        for trial in 1...trials {
            let raw = try await PostgresCatalog.withCatalog(url) { catalog in
                try await createSource(catalog, rows: size)
                for statement in PartitionDDL.statements(for: Self.monthly, schema: "public", table: "events", into: ("public", "events_raw")) {
                    try await catalog.execute(statement)
                }
                // Every timed copy starts from a checkpoint: one that falls inside a run (5M rows write
                // more WAL than max_wal_size) slowed whichever copy it hit by a quarter.
                try await catalog.execute("CHECKPOINT")
                let rawStart = DispatchTime.now()
                try await catalog.execute("INSERT INTO events_raw SELECT * FROM events")
                let raw = seconds(since: rawStart)
                try await catalog.execute("DROP TABLE events_raw")
                try await catalog.execute("CHECKPOINT")
                return raw
            }
            let cpuBefore = processCPUSeconds()
            let copy = try await runExecutor(url: url, id: "bench-\(size)-\(trial)")
            rawRates.append(Double(size) / raw)
            executorRates.append(Double(size) / copy.copySeconds)
            ratios.append(raw / copy.copySeconds)
            print(String(format: "trial %d: raw INSERT … SELECT %8.0f rows/s (%.2f s); executor copy %8.0f rows/s (%.2f s; whole job %.2f s, the executor's own CPU %.2f s, lock held %.2f ms): %.2f× raw",
                         trial, Double(size) / raw, raw, Double(size) / copy.copySeconds, copy.copySeconds, copy.totalSeconds,
                         processCPUSeconds() - cpuBefore, copy.lockMilliseconds, raw / copy.copySeconds))
            print("  steps: \(copy.steps)")
        }
        let rawMedian = Self.median(rawRates)
        print(String(format: "raw INSERT … SELECT:   %8.0f rows/s (median of %d)", rawMedian, trials))
        print(String(format: "executor copy:          %8.0f rows/s (median of %d)", Self.median(executorRates), trials))
        print(String(format: "executor vs raw:        %.2f× (median of the trials' ratios; range %.2f–%.2f)", Self.median(ratios), ratios.min()!, ratios.max()!))

        // (3) pg_partman 4.7, when installed: offline (rows moved from the source table) and online
        // (the old table attached as the DEFAULT partition, then moved out). Once each: they are
        // far from the others, and slow.
        try await PostgresCatalog.withCatalog(url) { catalog in
            guard try await partmanAvailable(catalog) else {
                print("pg_partman: not installed (Debian postgresql-15-partman); skipped")
                return
            }
            try await createSource(catalog, rows: size)
            let offline = try await partmanOffline(catalog, rows: size)
            print(String(format: "pg_partman offline:     %8.0f rows/s (%.2f s), %.2f× the raw median, executor %.2f× it",
                         Double(size) / offline, offline, Double(size) / offline / rawMedian, Self.median(executorRates) * offline / Double(size)))
            try await createSource(catalog, rows: size)
            let online = try await partmanOnline(catalog)
            print(String(format: "pg_partman online:      %8.0f rows/s (%.2f s), %.2f× the raw median, executor %.2f× it",
                         Double(size) / online, online, Double(size) / online / rawMedian, Self.median(executorRates) * online / Double(size)))
        }
        if writerSeconds > 0 { try await measureWriter(url: url, size: size, rawRate: rawMedian) }
    }

    private func partmanAvailable(_ catalog: PostgresCatalog) async throws -> Bool {
        let found = try await catalog.rows("SELECT count(*)::int8 FROM pg_available_extensions WHERE name = 'pg_partman'")
        guard try found[0].decode(Int64.self) > 0 else { return false }
        try await catalog.execute("CREATE SCHEMA IF NOT EXISTS partman")
        try await catalog.execute("CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman")
        return true
    }

    /// pg_partman's offline path: a new monthly parent, then `partition_data_proc` moving the rows
    /// out of the source table (one month per batch).
    private func partmanOffline(_ catalog: PostgresCatalog, rows: Int) async throws -> Double {
        try await catalog.execute("DROP TABLE IF EXISTS events_pm CASCADE")
        try await catalog.execute("CREATE TABLE events_pm (LIKE events INCLUDING ALL) PARTITION BY RANGE (ts)")
        try await catalog.execute("SELECT partman.create_parent('public.events_pm', 'ts', 'native', 'monthly', p_start_partition := '2026-01-01', p_premake := 12, p_jobmon := false)")
        try await catalog.execute("CHECKPOINT")
        let start = DispatchTime.now()
        try await catalog.execute("CALL partman.partition_data_proc('public.events_pm', p_batch := 100, p_wait := 0, p_source_table := 'public.events', p_quiet := true)")
        let elapsed = seconds(since: start)
        try await catalog.execute("DROP TABLE events_pm CASCADE")
        try await catalog.execute("DELETE FROM partman.part_config WHERE parent_table = 'public.events_pm'")
        return elapsed
    }

    /// pg_partman's online path: the table becomes the DEFAULT partition of a new monthly parent, and
    /// `partition_data_proc` moves its rows out into monthly children it creates as it goes (the
    /// parent starts after the data: a child overlapping rows in the DEFAULT cannot be created).
    private func partmanOnline(_ catalog: PostgresCatalog) async throws -> Double {
        try await catalog.execute("DROP TABLE IF EXISTS events_online CASCADE")
        try await catalog.execute("ALTER TABLE events RENAME TO events_source")
        try await catalog.execute("CREATE TABLE events_online (LIKE events_source INCLUDING ALL) PARTITION BY RANGE (ts)")
        try await catalog.execute("SELECT partman.create_parent('public.events_online', 'ts', 'native', 'monthly', p_start_partition := '2027-01-01', p_premake := 1, p_jobmon := false)")
        // pg_partman made an empty DEFAULT of its own; the existing table takes its place.
        try await catalog.execute("DROP TABLE events_online_default")
        try await catalog.execute("ALTER TABLE events_source RENAME TO events_online_default")
        try await catalog.execute("ALTER TABLE events_online ATTACH PARTITION events_online_default DEFAULT")
        try await catalog.execute("CHECKPOINT")
        let start = DispatchTime.now()
        try await catalog.execute("CALL partman.partition_data_proc('public.events_online', p_batch := 100, p_wait := 0, p_quiet := true)")
        let elapsed = seconds(since: start)
        try await catalog.execute("DROP TABLE events_online CASCADE")
        try await catalog.execute("DELETE FROM partman.part_config WHERE parent_table = 'public.events_online'")
        return elapsed
    }

    var changeCapture: ChangeCapture { ChangeCapture(rawValue: capture) ?? .trigger }

    struct ExecutorRun { var copySeconds: Double; var totalSeconds: Double; var lockMilliseconds: Double; var steps: String }

    /// Re-partitions `events` to the monthly layout with the runner in this process, timing its copy phase.
    private func runExecutor(url: String, id: String, throttle: Double? = nil) async throws -> ExecutorRun {
        let plan = PartitionPlan(table: "public.events", decision: .repartition, reason: "bench", strategy: .init(Self.monthly),
                                 ddl: PartitionDDL.statements(for: Self.monthly, schema: "public", table: "events"),
                                 estimated: .init(perClass: [], totalCostNow: 0, totalCostNew: 0, improvement: 0, horizonDays: 30, unit: "buffer accesses"),
                                 resources: .init(rows: 0, bytes: 0, tempBytes: 0, seconds: 0), assumptions: [], alternatives: [], notes: [])
        let command = RepartitionCommand(id: id, table: "public.events", store: "postgres", expectedVersion: nil, plan: plan, createdAt: "")
        let metadataPath = FileManager.default.temporaryDirectory.appendingPathComponent("bench-execute-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: metadataPath + suffix) } }  // temporary files
        let target = TimedTarget(try await PostgresTarget(url: url, capture: changeCapture))
        var settings = RepartitionWorkflow.Settings()
        settings.batchRows = batchRows
        settings.throttleRowsPerSecond = throttle
        let clock = BenchClock()
        let start = DispatchTime.now()
        let outcome = try await MetadataStores.withStore(metadataPath) { store in
            try await store.migrate()
            return await RepartitionRunner(command: command, target: target, repository: MetadataRepository(store: store), holder: "bench", settings: settings) { status in
                clock.observe(status)
            }.run()
        }
        await target.close()
        guard outcome == .completed else { throw ValidationError("the executor did not complete: \(clock.lastError ?? "unknown")") }
        return ExecutorRun(copySeconds: clock.copySeconds, totalSeconds: seconds(since: start), lockMilliseconds: clock.lockMilliseconds, steps: target.breakdown)
    }

    /// The writer: pgbench's single-row updates by key, one client, one per transaction, for
    /// `writerSeconds` — or, with `stop`, in runs of one second until it says so. pgbench, not a loop
    /// in this process: that loop waited on its own wake-ups beside the copy's tasks and measured the
    /// machine's idleness (it ran faster during a copy than alone). Latencies from pgbench's
    /// per-transaction log.
    private func writerTPS(url: String, maxID: Int, until stop: (@Sendable () -> Bool)? = nil) async throws -> (tps: Double, p99: Double, longest: Double) {
        guard let pgbench = executablePath(named: "pgbench") else {
            throw ValidationError("bench execute's writer is pgbench, which is not on PATH (Debian: postgresql-client; ops/install-deps.sh installs it)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-writer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }  // temporary files
        let script = directory.appendingPathComponent("update.sql").path
        try "\\set id random(1, \(maxID))\nUPDATE events SET amount = amount + 1 WHERE id = :id;\n".write(toFile: script, atomically: true, encoding: .utf8)
        var transactions = 0.0, busySeconds = 0.0
        repeat {
            let duration = stop == nil ? max(1, Int(writerSeconds.rounded())) : 1
            let output = try await runProcessOffThePool(pgbench, ["-n", "-c", "1", "-T", "\(duration)", "-f", script, "-l", "--log-prefix", directory.appendingPathComponent("log").path, url]).output
            guard let processed = Self.number(after: "number of transactions actually processed: ", in: output),
                  let tps = Self.number(after: "tps = ", in: output), tps > 0 else {
                throw ValidationError("pgbench printed no throughput:\n\(output)")
            }
            transactions += processed
            busySeconds += processed / tps
        } while !(stop?() ?? true)
        var latencies: [Double] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) where file.hasPrefix("log") {
            // client_id transaction_no latency_us script_no epoch_s epoch_us
            for line in try String(contentsOfFile: directory.appendingPathComponent(file).path, encoding: .utf8).split(separator: "\n") {
                let fields = line.split(separator: " ")
                if fields.count > 2, let microseconds = Double(fields[2]) { latencies.append(microseconds / 1000) }
            }
        }
        latencies.sort()
        let p99 = latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * 0.99))]
        return (transactions / busySeconds, p99, latencies.last ?? 0)
    }

    /// The number after `label` in pgbench's summary.
    static func number(after label: String, in output: String) -> Double? {
        guard let range = output.range(of: label) else { return nil }
        return Double(output[range.upperBound...].prefix { $0.isNumber || $0 == "." })
    }

    private func measureWriter(url: String, size: Int, rawRate: Double) async throws {
        try await PostgresCatalog.withCatalog(url) { try await createSource($0, rows: size) }
        let dialect = PostgresDialect(schema: "public", table: "events", key: [.init(name: "id", type: "bigint"), .init(name: "ts", type: "timestamp with time zone")], commandId: "bench")
        // Alone and with the capture trigger (installed the way the executor does, nothing copying),
        // alternating; each measurement starts from a checkpoint (one inside a 10 s window cost it a fifth).
        // Every other trial measures the capture first: the table ages as the writer updates it (less
        // room for HOT updates), and always measuring the capture second charged that to it.
        var alone: [Double] = [], captured: [Double] = [], kept: [Double] = []
        func measureAlone() async throws -> (tps: Double, p99: Double, longest: Double) {
            try await PostgresCatalog.withCatalog(url) { try await $0.execute("CHECKPOINT") }
            return try await writerTPS(url: url, maxID: size)
        }
        func measureCaptured() async throws -> (tps: Double, p99: Double, longest: Double) {
            if changeCapture == .logical { return try await measureDecoded(url: url, size: size, dialect: dialect) }
            try await PostgresCatalog.withCatalog(url) { catalog in
                for statement in dialect.prepareCapture { try await catalog.execute(statement) }
                try await catalog.execute("CHECKPOINT")
            }
            let logged = try await writerTPS(url: url, maxID: size)
            try await PostgresCatalog.withCatalog(url) { catalog in
                for statement in [dialect.dropCaptureTrigger] + dialect.dropCaptureLog + dialect.cleanUp { try await catalog.execute(statement) }
            }
            return logged
        }
        print("capture: \(changeCapture.rawValue)")
        for trial in 1...trials {
            let plain, logged: (tps: Double, p99: Double, longest: Double)
            if trial % 2 == 0 {
                logged = try await measureCaptured()
                plain = try await measureAlone()
            } else {
                plain = try await measureAlone()
                logged = try await measureCaptured()
            }
            alone.append(plain.tps); captured.append(logged.tps); kept.append(logged.tps / plain.tps)
            print(String(format: "trial %d: writer alone %6.0f tx/s (p99 %.2f ms), with capture %6.0f tx/s (p99 %.2f ms): %.0f%%",
                         trial, plain.tps, plain.p99, logged.tps, logged.p99, logged.tps / plain.tps * 100))
        }
        print(String(format: "writer alone:           %8.0f tx/s (median of %d)", Self.median(alone), trials))
        print(String(format: "writer with capture:    %8.0f tx/s, %.0f%% of alone (median of the trials' ratios; range %.0f–%.0f%%)",
                     Self.median(captured), Self.median(kept) * 100, kept.min()! * 100, kept.max()! * 100))
        // While the executor copies (the capture in place, and the copy competing for the disk),
        // against the writer alone just before: this disk's speed drifts by 5× within minutes, so the
        // trials' median from earlier is no yardstick for a copy now. (Not after: the new layout is
        // by time, so the writer's update by id then visits every partition.)
        func besideCopy(_ label: String, throttle: Double?) async throws {
            try await PostgresCatalog.withCatalog(url) { catalog in
                try await createSource(catalog, rows: size)
                try await catalog.execute("CHECKPOINT")
            }
            let before = try await writerTPS(url: url, maxID: size)
            let done = AtomicFlag()
            async let during = writerTPS(url: url, maxID: size, until: { done.isSet })
            let copy: ExecutorRun
            let id = "bench-\(throttle == nil ? "writer" : "throttled")-\(size)"
            do {
                copy = try await runExecutor(url: url, id: id, throttle: throttle)
            } catch {
                done.set()
                _ = try? await during  // the executor's error is the one to report
                throw error
            }
            done.set()
            let busy = try await during
            print(String(format: "%@ %6.0f tx/s (p99 %.2f ms), %.0f%% of the %.0f tx/s alone just before; the copy %8.0f rows/s, %.2f× the raw median",
                         label, busy.tps, busy.p99, busy.tps / before.tps * 100, before.tps,
                         Double(size) / copy.copySeconds, Double(size) / copy.copySeconds / rawRate))
        }
        try await besideCopy("during the copy:       ", throttle: nil)
        guard writerThrottle > 0 else { return }
        try await besideCopy(String(format: "during a copy throttled to %.2f× raw:", writerThrottle), throttle: writerThrottle * rawRate)
    }

    /// The writer beside the logical capture: the executor's publication and slot, decoded and
    /// advanced every second on a connection of its own (the executor drains every 30 s during
    /// the copy and before each replay round: this charges the writer more decoding than a job does).
    private func measureDecoded(url: String, size: Int, dialect: PostgresDialect) async throws -> (tps: Double, p99: Double, longest: Double) {
        let slot = dialect.slotName(database: "bench")
        try await PostgresCatalog.withCatalog(url) { catalog in
            try await catalog.execute(dialect.createPublication(slot))
            _ = try await catalog.rows(PostgresQuery(unsafeSQL: PostgresDialect.createSlot(slot)))
            try await catalog.execute("CHECKPOINT")
        }
        let done = AtomicFlag()
        async let drains: Int = PostgresCatalog.withCatalog(url) { catalog in
            var messages = 0
            while !done.isSet {
                try await Task.sleep(for: .seconds(1))
                let flushed = try await catalog.rows(PostgresQuery(unsafeSQL: PostgresDialect.flushedPosition))[0].decode(String.self)
                var bindings = PostgresBindings()
                bindings.append(flushed)
                messages += try await catalog.rows(PostgresQuery(unsafeSQL: PostgresDialect.peekSlot(slot, publication: dialect.publicationName(slot: slot)), binds: bindings)).count
                _ = try await catalog.rows(PostgresQuery(unsafeSQL: PostgresDialect.advanceSlot(slot), binds: bindings))
            }
            return messages
        }
        let logged: (tps: Double, p99: Double, longest: Double)
        do {
            logged = try await writerTPS(url: url, maxID: size)
            done.set()
            _ = try await drains
        } catch {
            done.set()
            _ = try? await drains  // the writer's error is the one to report
            throw error
        }
        try await PostgresCatalog.withCatalog(url) { catalog in
            _ = try await catalog.rows(PostgresQuery(unsafeSQL: PostgresDialect.dropSlot(slot)))
            try await catalog.execute(PostgresDialect.dropPublication(slot))
        }
        return logged
    }

    /// Small tables swapped under a writer: the distribution of the time the swap holds its lock.
    private func measureSwaps(url: String) async throws {
        var held: [Double] = []
        var longestWait = 0.0
        for round in 0..<swaps {
            try await PostgresCatalog.withCatalog(url) { try await createSource($0, rows: 20_000) }
            let done = AtomicFlag()
            async let writer = writerTPS(url: url, maxID: 20_000, until: { done.isSet })
            let run = try await runExecutor(url: url, id: "bench-swap-\(round)")
            done.set()
            longestWait = max(longestWait, try await writer.longest)
            held.append(run.lockMilliseconds)
        }
        held.sort()
        func percentile(_ p: Double) -> Double { held[min(held.count - 1, Int(Double(held.count) * p))] }
        print(String(format: "swap lock held over %d swaps under a writer: median %.2f ms, p99 %.2f ms, max %.2f ms; the writer's longest statement %.1f ms",
                     held.count, percentile(0.5), percentile(0.99), held.last ?? 0, longestWait))
    }
}

/// Copy-phase timing from the statuses the runner publishes.
final class BenchClock: @unchecked Sendable {
    // Touched only from the runner's task, one status at a time.
    private var copyStart: DispatchTime?
    private(set) var copySeconds = 0.0
    private(set) var lockMilliseconds = 0.0
    private(set) var lastError: String?

    func observe(_ status: RepartitionStatus) {
        switch status.state {
        case .accepted: copyStart = DispatchTime.now()
        case .replaying: if let copyStart { copySeconds = seconds(since: copyStart) }
        case .swapped:
            if let text = status.message?.split(separator: " ").first(where: { Double($0) != nil }) { lockMilliseconds = Double(text) ?? 0 }
        case .failed, .rejected: lastError = status.error
        default: break
        }
    }
}

final class AtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// The target with the wall time of each step added up, so the bench says where the job's time goes.
final class TimedTarget: TargetStore, @unchecked Sendable {
    // The runner calls one step at a time; the lock only guards the totals against the reader.
    private let base: any TargetStore
    private let lock = NSLock()
    private var totals: [String: (seconds: Double, calls: Int)] = [:]

    init(_ base: any TargetStore) { self.base = base }

    /// "step s (calls)" for every step called, in the workflow's order.
    var breakdown: String {
        let order = ["validate", "prepare", "copyBatch", "replay", "verify", "swap", "cleanUp", "retire"]
        return lock.withLock {
            order.compactMap { step in totals[step].map { String(format: "%@ %.2f s (%d)", step, $0.seconds, $0.calls) } }.joined(separator: ", ")
        }
    }

    private func timed<T>(_ step: String, _ body: () async throws -> T) async throws -> T {
        let start = DispatchTime.now()
        defer {
            let spent = seconds(since: start)
            lock.withLock { totals[step, default: (0, 0)].seconds += spent; totals[step, default: (0, 0)].calls += 1 }
        }
        return try await body()
    }

    func validate(_ command: RepartitionCommand) async throws -> Int64 { try await timed("validate") { try await base.validate(command) } }
    func prepare(_ command: RepartitionCommand) async throws -> (copiedThrough: [String]?, copiedRows: Int64) { try await timed("prepare") { try await base.prepare(command) } }
    func copyBatch(after: [String]?, limit: Int) async throws -> (lastKey: [String]?, rows: Int64) { try await timed("copyBatch") { try await base.copyBatch(after: after, limit: limit) } }
    func replay(limit: Int) async throws -> (rows: Int64, pending: Int64) { try await timed("replay") { try await base.replay(limit: limit) } }
    func verify() async throws -> [String] { try await timed("verify") { try await base.verify() } }
    func swap(lockTimeoutMilliseconds: Int) async throws -> Double? { try await timed("swap") { try await base.swap(lockTimeoutMilliseconds: lockTimeoutMilliseconds) } }
    func cleanUp() async throws { try await timed("cleanUp") { try await base.cleanUp() } }
    func retire(schema: String, table: String, commandId: String) async throws -> Bool {
        try await timed("retire") { try await base.retire(schema: schema, table: table, commandId: commandId) }
    }
    func rollback(schema: String, table: String, commandId: String, lockTimeoutMilliseconds: Int, attempts: Int) async throws -> Double {
        try await base.rollback(schema: schema, table: table, commandId: commandId, lockTimeoutMilliseconds: lockTimeoutMilliseconds, attempts: attempts)
    }
    func close() async { await base.close() }
}
