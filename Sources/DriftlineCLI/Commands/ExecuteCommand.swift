import ArgumentParser
import DriftlineExecutor
import DriftlineExecutorService
import DriftlineMetadata
import DriftlinePlanning
import DriftlineTargets
import Foundation
import Logging

struct ExecuteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "execute",
        abstract: "Re-partition a table online from a repartition command or a plan, crash-safe and verified.",
        discussion: """
            Runs one command without Kafka: --command FILE (a repartition command, schemas/repartition-command.v1.json) \
            or --plan FILE (the JSON of `driftline plan`; the command id is derived from the plan, so running the \
            same plan again resumes or skips it). Steps: check the command, take the table's lease, create the \
            new layout as a shadow table and capture writes to the original with a trigger that logs (op, key), \
            copy in key order (a checkpoint in the metadata store after each batch), replay the captured changes \
            by key, verify counts and checksums per key range, swap the names under a short lock timeout with \
            retries. The old table stays as <table>_before_<id>, with writes to the new one captured back, until \
            `driftline rollback` or the retention. Killed at any point, running it again continues from the last \
            checkpoint. --dry-run prints the DDL and the steps and changes nothing.
            """
    )

    @Option(help: "Run as a service: consume commands from Kafka as executor.yaml says (see README, \"Executor\").") var config: String?
    @Option(help: "A repartition command (JSON).") var command: String?
    @Option(help: "A plan from `driftline plan --format json`.") var plan: String?
    @Option(help: "The target database: postgres://user@host:port/db, or a SQLite file (sqlite:PATH or PATH).") var target: String?
    @Option(help: "Log level with --config: trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"
    @Option(help: "Metadata store URL (checkpoints, leases, history).") var store: String = "driftline-metadata.sqlite"
    @Flag(help: "Print the DDL and the steps; change nothing.") var dryRun = false
    @Option(help: "Rows per copy batch (each its own transaction and checkpoint).") var batchRows: Int = 50_000
    @Option(help: "Copy at most this many rows per second (0: no limit).") var throttle: Double = 0
    @Option(help: "How long the swap may wait for the table's lock, per attempt, in milliseconds.") var lockTimeoutMs: Int = 50
    @Option(help: "How a PostgreSQL target captures writes during the copy: trigger (any server) or logical (a replication slot; needs wal_level = logical; writers pay no trigger until verification).") var capture: String = "trigger"
    @Option(help: "Executor name for the lease (default: host and process id).") var holder: String?
    @Option(help: "Seconds the table's lease lasts without renewal (a crashed executor's job waits this long for another).") var leaseSeconds: Int = 30

    func validate() throws {
        if config != nil {
            guard command == nil, plan == nil, target == nil else { throw ValidationError("--config runs the service; --command, --plan and --target run one command without it") }
            guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level '\(logLevel)' is not one of trace, debug, info, notice, warning, error, critical") }
            return
        }
        guard (command == nil) != (plan == nil) else { throw ValidationError("give exactly one of --command FILE or --plan FILE (or --config executor.yaml for the service)") }
        guard target != nil else { throw ValidationError("--target is required with --command or --plan") }
        guard batchRows >= 1 else { throw ValidationError("--batch-rows must be at least 1") }
        guard throttle >= 0 else { throw ValidationError("--throttle must be 0 or more") }
        guard lockTimeoutMs >= 1 else { throw ValidationError("--lock-timeout-ms must be at least 1") }
        guard leaseSeconds >= 3 else { throw ValidationError("--lease-seconds must be at least 3") }
    }

    func loadCommand() throws -> RepartitionCommand {
        let path = command ?? plan!
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        let decoder = JSONDecoder()
        do {
            if command != nil { return try decoder.decode(RepartitionCommand.self, from: data) }
            let plan = try decoder.decode(PartitionPlan.self, from: data)
            let store = TargetStores.storeName(of: target ?? "")
            let draft = RepartitionCommand(id: "", table: plan.table, store: store, expectedVersion: nil, plan: plan, createdAt: "")
            return RepartitionCommand(id: "plan-\(draft.fingerprint)", table: plan.table, store: store, expectedVersion: nil, plan: plan,
                                      dryRun: false, createdAt: ISO8601DateFormatter().string(from: Date()))
        } catch {
            throw ValidationError("\(path) is not a \(command != nil ? "repartition command" : "plan from `driftline plan --format json`"): \(error)")
        }
    }

    func run() async throws {
        if let config {
            let configuration: ExecutorConfiguration
            do { configuration = try ExecutorConfiguration.load(path: config) } catch { throw ValidationError("\(error)") }
            var logger = Logger(label: "driftline.execute")
            logger.logLevel = Logger.Level(rawValue: logLevel)!
            let service = ExecutorService(configuration: configuration, logger: logger)
            try await service.runWithHTTP()
            let snapshot = service.health.snapshot
            print("executor stopped: \(snapshot.commandsCompleted) completed, \(snapshot.commandsRejected) rejected, \(snapshot.commandsFailed) failed")
            return
        }
        let target = self.target!
        let job = try loadCommand()
        if dryRun || job.dryRun {
            print("dry run of \(job.id) on \(job.table): \(job.plan.strategy.summary)")
            print("steps: validate; lease; create the shadow table and capture writes (op, key\(capture == "logical" ? ", from a replication slot until verification" : "")); copy in batches of \(batchRows) rows; replay; verify; swap (lock timeout \(lockTimeoutMs) ms)")
            for statement in job.plan.ddl { print("  " + statement) }
            return
        }
        var settings = RepartitionWorkflow.Settings()
        settings.batchRows = batchRows
        settings.throttleRowsPerSecond = throttle > 0 ? throttle : nil
        settings.lockTimeoutMilliseconds = lockTimeoutMs
        let name = holder ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())"
        let database: any TargetStore
        guard let capture = ChangeCapture(rawValue: capture) else { throw ValidationError("--capture must be trigger or logical, not '\(self.capture)'") }
        do { database = try await TargetStores.open(target, capture: capture) } catch { throw ValidationError("\(error)") }
        let outcome: RepartitionStatus.State
        do {
            outcome = try await MetadataStores.withStore(store) { metadata in
                try await metadata.migrate()
                let runner = RepartitionRunner(command: job, target: database, repository: MetadataRepository(store: metadata), holder: name, settings: settings,
                                               leaseTTL: .seconds(leaseSeconds)) { status in
                    Self.show(status)
                }
                // Nothing asks this one-shot run to stop (a signal ends the process; running it again resumes).
                return await runner.run() ?? .failed
            }
        } catch {
            await database.close()
            throw error
        }
        await database.close()
        guard outcome == .completed else { throw ExitCode(outcome == .rejected ? 2 : 1) }
    }

    /// One line per status on stdout; copy progress as a bar on stderr.
    static func show(_ status: RepartitionStatus) {
        if status.state == .copying, status.rowsTotal > 0 {
            let fraction = min(1, Double(status.rowsDone) / Double(status.rowsTotal))
            let bar = String(repeating: "█", count: Int(fraction * 30)) + String(repeating: "·", count: 30 - Int(fraction * 30))
            let eta = status.etaSeconds.map { String(format: ", %.0f s left", $0) } ?? ""
            let rate = status.rate.map { String(format: ", %.0f rows/s", $0) } ?? ""
            FileHandle.standardError.write(Data("\r\(bar) \(status.rowsDone)/\(status.rowsTotal)\(rate)\(eta)   ".utf8))
            return
        }
        // The copy's progress bar ends with its phase.
        if status.state == .replaying { FileHandle.standardError.write(Data("\n".utf8)) }
        var line = "\(status.emittedAt) \(status.table) \(status.state.rawValue)"
        if status.rowsTotal > 0 { line += " \(status.rowsDone)/\(status.rowsTotal) rows" }
        if let message = status.message { line += ": \(message)" }
        if let error = status.error { line += ": \(error)" }
        print(line)
    }
}

struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Put back a table's layout from before its last re-partitioning, with every row written since.")

    @Option(help: "The table (schema.name on PostgreSQL, name on SQLite).") var table: String
    @Option(help: "The target database: postgres://user@host:port/db, or a SQLite file (sqlite:PATH or PATH).") var target: String
    @Option(help: "Metadata store URL.") var store: String = "driftline-metadata.sqlite"
    @Option(help: "How long each attempt may wait for the table's lock, in milliseconds.") var lockTimeoutMs: Int = 50

    func run() async throws {
        // The name commands use: PostgreSQL's schema-qualified, SQLite's bare.
        let sqlite = TargetStores.storeName(of: target) == "sqlite"
        let qualified = sqlite ? (table.hasPrefix("main.") ? String(table.dropFirst(5)) : table) : table.contains(".") ? table : "public.\(table)"
        let parts = sqlite ? ["main", qualified] : qualified.split(separator: ".", maxSplits: 1).map(String.init)
        try await MetadataStores.withStore(store) { metadata in
            try await metadata.migrate()
            let repository = MetadataRepository(store: metadata)
            guard let current = try await repository.get(PartitionStrategyRecord.self, kind: MetadataKind.partitioningCurrent, source: qualified),
                  let commandID = current.value.commandID else {
                throw ValidationError("the metadata store \(store) has no re-partitioning of \(qualified) to roll back")
            }
            let database: any TargetStore
            do { database = try await TargetStores.open(target) } catch { throw ValidationError("\(error)") }
            do {
                let held = try await database.rollback(schema: parts[0], table: parts[1], commandId: commandID, lockTimeoutMilliseconds: lockTimeoutMs, attempts: 40)
                let record = PartitionStrategyRecord(kind: "rollback", columns: [], parameters: ["of": commandID], effectiveAt: Date(), commandID: nil)
                _ = try await repository.append(record, kind: MetadataKind.partitioning, source: qualified, at: Date())
                _ = try await repository.put(record, kind: MetadataKind.partitioningCurrent, source: qualified, expectedVersion: current.version)
                print(String(format: "%@ rolled back to its layout before %@ (lock held %.1f ms)", qualified, commandID, held))
            } catch let rejection as TargetRejection {
                await database.close()
                throw ValidationError(rejection.reason)
            } catch {
                await database.close()
                throw error
            }
            await database.close()
        }
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "A table's re-partitioning job in progress and its partitioning history.")

    @Option(help: "The table as its commands name it (schema.name on PostgreSQL, name on SQLite).") var table: String
    @Option(help: "Metadata store URL.") var store: String = "driftline-metadata.sqlite"

    func run() async throws {
        try await MetadataStores.withStore(store) { metadata in
            try await metadata.migrate()
            let repository = MetadataRepository(store: metadata)
            // A bare name is a SQLite table, or a PostgreSQL one in public: whichever has a history or a job.
            var qualified = table
            if !table.contains("."),
               try await repository.get(Checkpoint.self, kind: MetadataKind.repartitionJob, source: table) == nil,
               try await repository.log(PartitionStrategyRecord.self, kind: MetadataKind.partitioning, source: table).isEmpty {
                qualified = "public.\(table)"
            }
            if let job = try await repository.get(Checkpoint.self, kind: MetadataKind.repartitionJob, source: qualified)?.value {
                print("in progress: command \(job.commandId), \(job.phase.rawValue), \(job.rowsCopied)/\(job.rowsTotal) rows copied")
            } else {
                print("no job in progress")
            }
            let history = try await repository.log(PartitionStrategyRecord.self, kind: MetadataKind.partitioning, source: qualified)
            if history.isEmpty { print("no partitioning history") }
            for entry in history {
                print("\(ISO8601DateFormatter().string(from: entry.effectiveAt)) \(entry.kind) \(entry.parameters["summary"] ?? entry.columns.joined(separator: ", "))\(entry.commandID.map { " (command \($0))" } ?? "")")
            }
        }
    }
}
