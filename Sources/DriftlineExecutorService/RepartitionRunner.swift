import DriftlineExecutor
import DriftlineMetadata
import DriftlinePlanning
import DriftlineProfiling
import Foundation

/// The thin shell around `RepartitionWorkflow`: performs each action against the target store and
/// the metadata store (checkpoints fenced by the table's lease) and feeds the outcome back.
public struct RepartitionRunner: Sendable {
    public let command: RepartitionCommand
    public let target: any TargetStore
    public let repository: MetadataRepository
    public let holder: String
    public let settings: RepartitionWorkflow.Settings
    public let leaseTTL: Duration
    /// Receives every status (printed, or published to the status topic).
    public let publish: @Sendable (RepartitionStatus) async -> Void
    /// Fault injection for crash tests: before the named step (`copy:N` — the N-th batch —,
    /// `replay`, `verify`, `swap`, `swapped` — the swap committed, its checkpoint not yet written) the runner announces it on stderr and waits to be killed.
    /// From `DRIFTLINE_FAULT_PAUSE_BEFORE`; empty in normal runs.
    public var pauseBefore: Set<String> = Set((ProcessInfo.processInfo.environment["DRIFTLINE_FAULT_PAUSE_BEFORE"] ?? "")
        .split(separator: ",").map(String.init))

    public init(command: RepartitionCommand, target: any TargetStore, repository: MetadataRepository, holder: String,
                settings: RepartitionWorkflow.Settings = .init(), leaseTTL: Duration = .seconds(30),
                publish: @escaping @Sendable (RepartitionStatus) async -> Void) {
        self.command = command; self.target = target; self.repository = repository; self.holder = holder
        self.settings = settings; self.leaseTTL = leaseTTL; self.publish = publish
    }

    var leaseName: String { "repartition:\(command.table)" }

    /// Asked between steps: true stops the job where it is (checkpoint kept, lease released) for
    /// another executor, or this one restarted, to continue.
    public var shouldStop: @Sendable () -> Bool = { false }

    /// Runs the command to an end state; nil when stopped by `shouldStop` before one.
    public func run() async -> RepartitionStatus.State? {
        var workflow = RepartitionWorkflow(command: command, settings: settings)
        var lease: Lease?
        var leaseTakenAt = Date.distantPast
        var checkpointVersion: Int64?
        var pending: [RepartitionWorkflow.Action] = []
        func now() -> Double { Date().timeIntervalSince1970 }

        do {
            let found = try await repository.get(Checkpoint.self, kind: MetadataKind.repartitionJob, source: command.table)
            checkpointVersion = found?.version
            pending = workflow.event(.start(checkpoint: found?.value), now: now())
        } catch {
            pending = workflow.event(.start(checkpoint: nil), now: now())
            pending = workflow.event(.failed("metadata store: \(error)"), now: now())
        }
        var batches = 0
        while !pending.isEmpty {
            let action = pending.removeFirst()
            if shouldStop(), !action.isFinal {
                // Between steps every change is committed and checkpointed: leave the rest to the next run.
                if let held = lease { try? await repository.store.releaseLease(held) }  // expiry frees it anyway
                return nil
            }
            if !pauseBefore.isEmpty {
                var step: String?
                switch action {
                case .copyBatch: batches += 1; step = "copy:\(batches)"
                case .replay: step = "replay"
                case .verify: step = "verify"
                case .swap: step = "swap"
                case let .saveCheckpoint(checkpoint) where checkpoint.phase == .swapped: step = "swapped"
                default: step = nil
                }
                if let step, pauseBefore.contains(step) {
                    FileHandle.standardError.write(Data("fault injection: paused before \(step)\n".utf8))
                    while true { try? await Task.sleep(for: .seconds(3600)) }  // waiting to be killed; a cancelled sleep just loops
                }
            }
            // Keep the lease fresh during long phases.
            if let held = lease, Date().timeIntervalSince(leaseTakenAt) > Double(leaseTTL.components.seconds) / 3 {
                do {
                    if let renewed = try await repository.store.acquireLease(leaseName, holder: holder, ttl: leaseTTL, now: Date()), renewed.token == held.token {
                        lease = renewed
                        leaseTakenAt = Date()
                    } else {
                        pending = workflow.event(.failed("lost the lease on \(command.table) to another executor"), now: now())
                        lease = nil
                        continue
                    }
                } catch {
                    pending = workflow.event(.failed("metadata store: \(error)"), now: now())
                    continue
                }
            }
            // A step can outlast the lease (verifying a large table): renew it meanwhile.
            let keeper = action.isLong ? lease.map(keepAlive) : nil
            var event: RepartitionWorkflow.Event?
            do {
                switch action {
                case .validate:
                    event = .validated(try await validate())
                case .acquireLease:
                    if let taken = try await repository.store.acquireLease(leaseName, holder: holder, ttl: leaseTTL, now: Date()) {
                        lease = taken
                        leaseTakenAt = Date()
                        let found = try await repository.get(Checkpoint.self, kind: MetadataKind.repartitionJob, source: command.table)
                        checkpointVersion = found?.version
                        let done = try await repository.get(Done.self, kind: MetadataKind.repartitionDone, source: command.table, name: command.id) != nil
                        // Checked again under the lease: another command may have completed while this one waited.
                        if !done, let reason = try await staleness() {
                            event = .stale(reason)
                        } else {
                            event = .leaseAcquired(checkpoint: found?.value, completedElsewhere: done)
                        }
                    } else {
                        event = .leaseBusy
                    }
                case let .wait(seconds):
                    try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                    event = .waited
                case .prepare:
                    // One rollback point per table: the previous job's kept table goes when a new job starts.
                    if let previous = try await repository.get(PartitionStrategyRecord.self, kind: MetadataKind.partitioningCurrent, source: command.table)?.value,
                       previous.kind != "rollback", let id = previous.commandID, id != command.id {
                        let (schema, table) = command.qualifiedName
                        if try await target.retire(schema: schema, table: table, commandId: id) {
                            await publish(workflow.status(.accepted, now: now(), message: "dropped the layout kept for rolling back \(id)"))
                        }
                    }
                    let (through, rows) = try await target.prepare(command)
                    event = .prepared(copiedThrough: through, copiedRows: rows)
                case let .copyBatch(after, limit):
                    let (last, rows) = try await target.copyBatch(after: after, limit: limit)
                    event = .batchCopied(lastKey: last, rows: rows)
                case let .saveCheckpoint(checkpoint):
                    checkpointVersion = try await repository.put(checkpoint, kind: MetadataKind.repartitionJob, source: command.table,
                                                                 expectedVersion: checkpointVersion, fence: lease?.fence)
                    event = nil
                case let .replay(limit):
                    let (rows, left) = try await target.replay(limit: limit)
                    event = .replayed(rows: rows, pending: left)
                case .verify:
                    event = .verified(mismatches: try await target.verify())
                case let .swap(timeout):
                    if let held = try await target.swap(lockTimeoutMilliseconds: timeout) { event = .swapped(lockMilliseconds: held) } else { event = .swapLockTimeout }
                case .recordHistory:
                    try await recordHistory()
                    event = nil
                case .markProcessed:
                    _ = try await repository.store.markProcessed(commandID: command.id, at: Date())
                    _ = try await repository.put(Done(completedAt: Date()), kind: MetadataKind.repartitionDone, source: command.table, name: command.id, expectedVersion: nil)
                    if let version = checkpointVersion {
                        try await repository.store.delete(RecordKey(kind: MetadataKind.repartitionJob, source: command.table), expectedVersion: version)
                        checkpointVersion = nil
                    }
                    event = nil
                case let .publish(status):
                    await publish(status)
                    event = nil
                case .cleanUp:
                    try await target.cleanUp()
                    if let version = checkpointVersion {
                        try await repository.store.delete(RecordKey(kind: MetadataKind.repartitionJob, source: command.table), expectedVersion: version)
                        checkpointVersion = nil
                    }
                    event = nil
                case .releaseLease:
                    if let held = lease { try await repository.store.releaseLease(held) }
                    lease = nil
                    event = nil
                case let .finish(state):
                    return state
                }
            } catch let rejection as TargetRejection {
                event = .validated(.rejected(rejection.reason))
            } catch {
                event = .failed("\(error)")
            }
            if let keeper {
                keeper.cancel()
                if let renewed = await keeper.value {
                    if renewed != lease { leaseTakenAt = Date() }
                    lease = renewed
                } else {
                    lease = nil
                    event = .failed("lost the lease on \(command.table) to another executor")
                }
            }
            if let event { pending = workflow.event(event, now: now()) + pending }
        }
        return .failed
    }

    struct Done: Codable { var completedAt: Date }

    /// Renews `held` every third of its lifetime until cancelled; the lease as last renewed, or nil
    /// when another executor took it (or the store stayed unreachable until it expired).
    func keepAlive(_ held: Lease) -> Task<Lease?, Never> {
        Task {
            var current = held
            while true {
                do { try await Task.sleep(for: leaseTTL / 3) } catch { return current }  // cancelled: the step is over
                do {
                    guard let renewed = try await repository.store.acquireLease(leaseName, holder: holder, ttl: leaseTTL, now: Date()),
                          renewed.token == held.token else { return nil }
                    current = renewed
                } catch {
                    if Date() >= current.expiresAt { return nil }  // unreachable store: retried until the lease would lapse
                }
            }
        }
    }
}

extension RepartitionWorkflow.Action {
    /// Steps that can take long on a large table, during which the lease is renewed in the background.
    var isLong: Bool {
        switch self {
        case .validate, .prepare, .copyBatch, .replay, .verify, .swap: true
        default: false
        }
    }

    /// Steps that end a job; a stop request does not interrupt them.
    var isFinal: Bool {
        switch self {
        case .finish, .publish, .releaseLease, .markProcessed, .recordHistory, .cleanUp, .saveCheckpoint: true
        default: false
        }
    }
}

extension RepartitionRunner {
    /// A dry run: the checks a real run starts with (duplicate, stale version, the target's own:
    /// the table, its key, the new layout created and rolled back), and nothing changed.
    public func dryRun() async -> RepartitionStatus {
        let emitted = RFC3339.string(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded()))
        do {
            switch try await validate() {
            case .alreadyProcessed:
                return RepartitionStatus(commandId: command.id, table: command.table, state: .completed, message: "dry run: this command was carried out already", emittedAt: emitted)
            case let .rejected(reason):
                return RepartitionStatus(commandId: command.id, table: command.table, state: .rejected, error: "dry run: \(reason)", emittedAt: emitted)
            case let .ok(rows):
                return RepartitionStatus(commandId: command.id, table: command.table, state: .completed, rowsTotal: rows,
                                         message: "dry run: validated, nothing changed; a real run would copy \(rows) rows into: " + command.plan.ddl.joined(separator: " "),
                                         emittedAt: emitted)
            }
        } catch let rejection as TargetRejection {
            return RepartitionStatus(commandId: command.id, table: command.table, state: .rejected, error: "dry run: \(rejection.reason)", emittedAt: emitted)
        } catch {
            return RepartitionStatus(commandId: command.id, table: command.table, state: .failed, error: "dry run: \(error)", emittedAt: emitted)
        }
    }

    /// Stale commands, duplicates and the target's own checks.
    func validate() async throws -> RepartitionWorkflow.Validation {
        if try await repository.get(Done.self, kind: MetadataKind.repartitionDone, source: command.table, name: command.id) != nil { return .alreadyProcessed }
        if let reason = try await staleness() { return .rejected(reason) }
        return .ok(rows: try await target.validate(command))
    }

    /// Why the command is stale (its expected version of the table's partitioning record is not
    /// the current one), nil when it is not.
    func staleness() async throws -> String? {
        guard let expected = command.expectedVersion else { return nil }
        let current = try await repository.get(PartitionStrategyRecord.self, kind: MetadataKind.partitioningCurrent, source: command.table)?.version ?? 0
        return current == expected ? nil : "stale command: it expects version \(expected) of \(command.table)'s partitioning, the metadata store is at \(current)"
    }

    func recordHistory() async throws {
        let strategy = command.plan.strategy
        var parameters = strategy.parameters
        parameters["summary"] = strategy.summary
        let record = PartitionStrategyRecord(kind: strategy.kind, columns: strategy.columns, parameters: parameters, effectiveAt: Date(), commandID: command.id)
        _ = try await repository.append(record, kind: MetadataKind.partitioning, source: command.table, at: Date())
        for attempt in 1... {
            let current = try await repository.get(PartitionStrategyRecord.self, kind: MetadataKind.partitioningCurrent, source: command.table)
            do {
                _ = try await repository.put(record, kind: MetadataKind.partitioningCurrent, source: command.table, expectedVersion: current?.version)
                return
            } catch {
                guard error.isConflict, attempt < 4 else { throw error }
            }
        }
    }
}
