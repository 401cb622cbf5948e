import DriftlineProfiling

/// Where a job stands, stored in the metadata store under the table's lease after every step, so a
/// restarted executor continues the same job (same command fingerprint) instead of starting over.
public struct Checkpoint: Codable, Equatable, Sendable {
    public enum Phase: String, Codable, Sendable { case copying, replaying, verifying, swapping, swapped }
    public var commandId: String
    public var fingerprint: String
    public var phase: Phase
    /// The primary key of the last row copied (text form, one element per key column).
    public var lastKey: [String]?
    public var rowsCopied: Int64
    public var rowsTotal: Int64
    /// Seconds since 1970 when the copy started (the rate spans restarts).
    public var copyStartedAt: Double

    public init(commandId: String, fingerprint: String, phase: Phase, lastKey: [String]?, rowsCopied: Int64, rowsTotal: Int64, copyStartedAt: Double) {
        self.commandId = commandId; self.fingerprint = fingerprint; self.phase = phase; self.lastKey = lastKey
        self.rowsCopied = rowsCopied; self.rowsTotal = rowsTotal; self.copyStartedAt = copyStartedAt
    }
}

/// The re-partitioning workflow as a pure state machine: the shell reports what happened
/// (`event`), the machine answers with what to do next, in order. No I/O, no clock of its own:
/// `now` (seconds) comes with every event, so tests drive every path without a database.
///
/// validate → lease → prepare (shadow, capture trigger, change table) → copy in key order, a
/// checkpoint after each batch → replay captured changes by key until the backlog is small →
/// verify (counts and checksums per key range, in one snapshot) → swap under a short lock timeout,
/// retried with backoff → completed (the old table kept, writes captured back, for rollback).
public struct RepartitionWorkflow: Sendable {
    public struct Settings: Equatable, Sendable {
        public var batchRows = 50_000
        /// Rows per second at most during the copy (nil: as fast as the store goes).
        public var throttleRowsPerSecond: Double?
        /// Replay until at most this many captured changes are pending before verifying and swapping
        /// (the swap replays once more just before its lock, and the last few under it).
        public var swapBacklog = 1_000
        /// Captured changes replayed per round (one transaction).
        public var replayBatch = 20_000
        public var lockTimeoutMilliseconds = 50
        public var swapAttempts = 40
        /// First backoff between swap attempts; doubles, capped at `maximumBackoff`.
        public var backoffSeconds = 0.05
        public var maximumBackoffSeconds = 2.0
        public var leaseRetrySeconds = 1.0
        public init() {}
    }

    public enum Validation: Equatable, Sendable {
        case ok(rows: Int64)
        case alreadyProcessed
        case rejected(String)
    }

    public enum Event: Equatable, Sendable {
        /// Begin, with the checkpoint found in the metadata store for the table (if any).
        case start(checkpoint: Checkpoint?)
        case validated(Validation)
        /// The lease is ours; what the metadata store holds for the table now (another executor may
        /// have progressed, or finished, the same command while this one waited).
        case leaseAcquired(checkpoint: Checkpoint?, completedElsewhere: Bool)
        case leaseBusy
        /// The lease came, but the table's partitioning moved on while this command waited for it
        /// (another command completed): the command is stale.
        case stale(String)
        /// Shadow, capture trigger and change table exist; `copiedThrough` is the largest key already
        /// in the shadow (a resumed copy continues after it), `copiedRows` how many rows it holds.
        case prepared(copiedThrough: [String]?, copiedRows: Int64)
        /// A batch committed; nil `lastKey` means the source had no more rows.
        case batchCopied(lastKey: [String]?, rows: Int64)
        case replayed(rows: Int64, pending: Int64)
        case verified(mismatches: [String])
        case swapped(lockMilliseconds: Double)
        case swapLockTimeout
        case waited
        case failed(String)
    }

    public enum Action: Equatable, Sendable {
        case validate
        case acquireLease
        case wait(seconds: Double)
        case prepare
        case copyBatch(after: [String]?, limit: Int)
        case saveCheckpoint(Checkpoint)
        case replay(limit: Int)
        case verify
        case swap(lockTimeoutMilliseconds: Int)
        case recordHistory
        case markProcessed
        case publish(RepartitionStatus)
        /// Drop the shadow, triggers and change tables (after a failure; the original is untouched).
        case cleanUp
        case releaseLease
        case finish(RepartitionStatus.State)
    }

    public enum State: Equatable, Sendable {
        case idle, validating, leasing, preparing, copying, replaying, verifying, swapping(attempt: Int), waiting(next: Next), done(RepartitionStatus.State)

        public enum Next: Equatable, Sendable { case lease, copy, swap }
    }

    public let command: RepartitionCommand
    public let settings: Settings
    public private(set) var state: State = .idle
    public private(set) var checkpoint: Checkpoint
    private var resumed: Checkpoint?
    private var swapAttempts = 0
    private var lastBackoff = 0.0

    public init(command: RepartitionCommand, settings: Settings = Settings()) {
        self.command = command
        self.settings = settings
        checkpoint = Checkpoint(commandId: command.id, fingerprint: command.fingerprint, phase: .copying, lastKey: nil, rowsCopied: 0, rowsTotal: 0, copyStartedAt: 0)
    }

    public mutating func event(_ event: Event, now: Double) -> [Action] {
        switch (state, event) {
        case let (.idle, .start(found)):
            if let found, found.commandId != command.id || found.fingerprint != command.fingerprint {
                return finish(.rejected, now: now, error: "the table has an unfinished job for command \(found.commandId) (\(found.phase.rawValue)); finish or roll it back first")
            }
            resumed = found
            state = .validating
            return [.validate]

        case let (.validating, .validated(result)):
            switch result {
            case .alreadyProcessed:
                state = .done(.completed)
                return [.publish(status(.completed, now: now, message: "already completed earlier (a duplicate command): nothing to do")), .finish(.completed)]
            case let .rejected(reason):
                return finish(.rejected, now: now, error: reason)
            case let .ok(rows):
                checkpoint.rowsTotal = rows
                state = .leasing
                return [.publish(status(.accepted, now: now, message: resumed.map { "resuming from \($0.phase.rawValue) after \($0.rowsCopied) rows" })), .acquireLease]
            }

        case let (.leasing, .leaseAcquired(found, completedElsewhere)):
            if completedElsewhere {
                state = .done(.completed)
                return [.releaseLease, .publish(status(.completed, now: now, message: "completed by another executor meanwhile: nothing to do")), .finish(.completed)]
            }
            if let found {
                guard found.commandId == command.id, found.fingerprint == command.fingerprint else {
                    return finish(.rejected, now: now, error: "the table has an unfinished job for command \(found.commandId) (\(found.phase.rawValue)); finish or roll it back first", release: true)
                }
                let total = checkpoint.rowsTotal
                checkpoint = found
                checkpoint.rowsTotal = max(total, found.rowsTotal)
            }
            state = .preparing
            return [.prepare]
        case let (.leasing, .stale(reason)):
            return finish(.rejected, now: now, error: reason, release: true)
        case (.leasing, .leaseBusy):
            state = .waiting(next: .lease)
            return [.wait(seconds: settings.leaseRetrySeconds)]
        case (.waiting(.lease), .waited):
            state = .leasing
            return [.acquireLease]

        case let (.preparing, .prepared(copiedThrough, copiedRows)):
            if checkpoint.copyStartedAt == 0 { checkpoint.copyStartedAt = now }
            switch checkpoint.phase {
            case .copying:
                checkpoint.lastKey = copiedThrough ?? checkpoint.lastKey
                checkpoint.rowsCopied = max(copiedRows, 0)
                state = .copying
                return [.copyBatch(after: checkpoint.lastKey, limit: settings.batchRows)]
            case .replaying, .verifying:
                state = .replaying
                return [.replay(limit: settings.replayBatch)]
            case .swapping:
                return startSwap(now: now)
            case .swapped:
                // The swap committed before the crash: only the bookkeeping is left.
                return completeAfterSwap(now: now, lockMilliseconds: nil)
            }

        case let (.copying, .batchCopied(lastKey, rows)):
            checkpoint.rowsCopied += rows
            guard let lastKey, rows > 0 else {
                checkpoint.phase = .replaying
                state = .replaying
                return [.saveCheckpoint(checkpoint), .publish(status(.replaying, now: now)), .replay(limit: settings.replayBatch)]
            }
            checkpoint.lastKey = lastKey
            var actions: [Action] = [.saveCheckpoint(checkpoint), .publish(status(.copying, now: now))]
            if let throttle = settings.throttleRowsPerSecond, throttle > 0 {
                let due = checkpoint.copyStartedAt + Double(checkpoint.rowsCopied) / throttle
                if due > now {
                    state = .waiting(next: .copy)
                    actions.append(.wait(seconds: due - now))
                    return actions
                }
            }
            actions.append(.copyBatch(after: lastKey, limit: settings.batchRows))
            return actions
        case (.waiting(.copy), .waited):
            state = .copying
            return [.copyBatch(after: checkpoint.lastKey, limit: settings.batchRows)]

        case let (.replaying, .replayed(_, pending)):
            if pending > Int64(settings.swapBacklog) { return [.replay(limit: settings.replayBatch)] }
            checkpoint.phase = .verifying
            state = .verifying
            return [.saveCheckpoint(checkpoint), .publish(status(.verifying, now: now)), .verify]

        case let (.verifying, .verified(mismatches)):
            guard mismatches.isEmpty else {
                return fail(now: now, error: "verification found \(mismatches.count) key ranges that differ: \(mismatches.prefix(5).joined(separator: ", "))")
            }
            checkpoint.phase = .swapping
            return [.saveCheckpoint(checkpoint)] + startSwap(now: now)

        case let (.swapping, .swapped(lockMilliseconds)):
            return completeAfterSwap(now: now, lockMilliseconds: lockMilliseconds)
        case let (.swapping(attempt), .swapLockTimeout):
            guard attempt < settings.swapAttempts else {
                return fail(now: now, error: "could not take the table's lock within \(settings.lockTimeoutMilliseconds) ms in \(attempt) attempts; the table is unchanged")
            }
            lastBackoff = min(settings.maximumBackoffSeconds, lastBackoff == 0 ? settings.backoffSeconds : lastBackoff * 2)
            state = .waiting(next: .swap)
            return [.wait(seconds: lastBackoff)]
        case (.waiting(.swap), .waited):
            return startSwap(now: now)

        case let (_, .failed(error)):
            if case .done = state { return [] }
            if case .validating = state { return finish(.rejected, now: now, error: error) }
            // After the swap the new table is live: never clean it up as a failed job.
            if checkpoint.phase == .swapped { return finish(.failed, now: now, error: error, release: true) }
            return fail(now: now, error: error)

        default:
            return []
        }
    }

    // MARK: Steps

    private mutating func startSwap(now: Double) -> [Action] {
        swapAttempts += 1
        state = .swapping(attempt: swapAttempts)
        return [.swap(lockTimeoutMilliseconds: settings.lockTimeoutMilliseconds)]
    }

    private mutating func completeAfterSwap(now: Double, lockMilliseconds: Double?) -> [Action] {
        checkpoint.phase = .swapped
        let message = lockMilliseconds.map { String(format: "swapped; the lock was held %.1f ms", $0) }
        state = .done(.completed)
        var swapped = status(.swapped, now: now, message: message)
        swapped.lockMilliseconds = lockMilliseconds
        return [.saveCheckpoint(checkpoint), .publish(swapped), .recordHistory, .markProcessed,
                .publish(status(.completed, now: now)), .releaseLease, .finish(.completed)]
    }

    private mutating func fail(now: Double, error: String) -> [Action] {
        state = .done(.failed)
        return [.cleanUp, .publish(status(.failed, now: now, error: error)), .releaseLease, .finish(.failed)]
    }

    private mutating func finish(_ outcome: RepartitionStatus.State, now: Double, error: String, release: Bool = false) -> [Action] {
        state = .done(outcome)
        return [.publish(status(outcome, now: now, error: error))] + (release ? [.releaseLease] : []) + [.finish(outcome)]
    }

    public func status(_ state: RepartitionStatus.State, now: Double, message: String? = nil, error: String? = nil) -> RepartitionStatus {
        let elapsed = now - checkpoint.copyStartedAt
        let rate = checkpoint.copyStartedAt > 0 && elapsed > 0 && checkpoint.rowsCopied > 0 ? Double(checkpoint.rowsCopied) / elapsed : nil
        let left = max(0, checkpoint.rowsTotal - checkpoint.rowsCopied)
        return RepartitionStatus(
            commandId: command.id, table: command.table, state: state, rowsDone: checkpoint.rowsCopied, rowsTotal: checkpoint.rowsTotal,
            rate: rate, etaSeconds: state == .copying ? rate.map { Double(left) / $0 } : nil, message: message, error: error,
            emittedAt: RFC3339.string(milliseconds: Int64((now * 1000).rounded())))
    }
}
