import DriftlineExecutor
import DriftlinePlanning
import Testing

/// Every transition of the re-partitioning workflow, driven without a database.
@Suite struct WorkflowTests {
    static let plan = PartitionPlan(
        table: "public.events", decision: .repartition, reason: "test",
        strategy: .init(PartitionLayout(levels: [.hash(column: "user_id", type: .integer, modulus: 4)])),
        ddl: ["CREATE TABLE public.events_repartitioned (LIKE public.events INCLUDING ALL) PARTITION BY HASH (user_id);"],
        estimated: .init(perClass: [], totalCostNow: 10, totalCostNew: 1, improvement: 0.9, horizonDays: 30, unit: "buffer accesses"),
        resources: .init(rows: 25, bytes: 1, tempBytes: 1, seconds: 1), assumptions: [], alternatives: [], notes: [])
    static let command = RepartitionCommand(id: "c1", table: "public.events", store: "postgres", expectedVersion: nil, plan: plan, createdAt: "2026-12-01T00:00:00.000Z")

    func settings() -> RepartitionWorkflow.Settings {
        var settings = RepartitionWorkflow.Settings()
        settings.batchRows = 10
        settings.swapAttempts = 3
        return settings
    }

    func states(_ actions: [RepartitionWorkflow.Action]) -> [RepartitionStatus.State] {
        actions.compactMap { if case let .publish(status) = $0 { status.state } else { nil } }
    }

    @Test func happyPathCopiesInBatchesReplaysVerifiesAndSwaps() {
        var workflow = RepartitionWorkflow(command: Self.command, settings: settings())
        #expect(workflow.event(.start(checkpoint: nil), now: 0) == [.validate])
        let accepted = workflow.event(.validated(.ok(rows: 25)), now: 1)
        #expect(states(accepted) == [.accepted] && accepted.last == .acquireLease)
        #expect(workflow.event(.leaseAcquired(checkpoint: nil, completedElsewhere: false), now: 1) == [.prepare])
        #expect(workflow.event(.prepared(copiedThrough: nil, copiedRows: 0), now: 2) == [.copyBatch(after: nil, limit: 10)])
        var actions = workflow.event(.batchCopied(lastKey: ["10"], rows: 10), now: 3)
        #expect(actions.last == .copyBatch(after: ["10"], limit: 10))
        guard case let .saveCheckpoint(first) = actions[0] else { Issue.record("no checkpoint after a batch"); return }
        #expect(first.lastKey == ["10"] && first.rowsCopied == 10 && first.phase == .copying)
        // Status carries rate and ETA: 10 rows in 1 s, 15 left.
        guard case let .publish(copying) = actions[1] else { Issue.record("no status"); return }
        #expect(copying.state == .copying && copying.rate == 10 && copying.etaSeconds == 1.5)
        actions = workflow.event(.batchCopied(lastKey: ["20"], rows: 10), now: 4)
        actions = workflow.event(.batchCopied(lastKey: ["25"], rows: 5), now: 5)
        #expect(actions.last == .copyBatch(after: ["25"], limit: 10))
        actions = workflow.event(.batchCopied(lastKey: nil, rows: 0), now: 5)
        #expect(states(actions) == [.replaying] && actions.last == .replay(limit: workflow.settings.replayBatch))
        // A big backlog is replayed again before verifying.
        #expect(workflow.event(.replayed(rows: 100, pending: 100_000), now: 6) == [.replay(limit: workflow.settings.replayBatch)])
        actions = workflow.event(.replayed(rows: 100, pending: 3), now: 7)
        #expect(states(actions) == [.verifying] && actions.last == .verify)
        actions = workflow.event(.verified(mismatches: []), now: 8)
        #expect(actions.last == .swap(lockTimeoutMilliseconds: 50))
        actions = workflow.event(.swapped(lockMilliseconds: 4.2), now: 9)
        #expect(states(actions) == [.swapped, .completed])
        #expect(actions.contains(.recordHistory) && actions.contains(.markProcessed) && actions.contains(.releaseLease))
        #expect(actions.last == .finish(.completed))
        #expect(workflow.state == .done(.completed))
        #expect(workflow.checkpoint.phase == .swapped)
    }

    @Test func swapRetriesWithGrowingBackoffThenGivesUpAndCleansUp() {
        var workflow = RepartitionWorkflow(command: Self.command, settings: settings())
        _ = workflow.event(.start(checkpoint: nil), now: 0)
        _ = workflow.event(.validated(.ok(rows: 0)), now: 0)
        _ = workflow.event(.leaseAcquired(checkpoint: nil, completedElsewhere: false), now: 0)
        _ = workflow.event(.prepared(copiedThrough: nil, copiedRows: 0), now: 0)
        _ = workflow.event(.batchCopied(lastKey: nil, rows: 0), now: 0)
        _ = workflow.event(.replayed(rows: 0, pending: 0), now: 0)
        #expect(workflow.event(.verified(mismatches: []), now: 0).last == .swap(lockTimeoutMilliseconds: 50))
        #expect(workflow.event(.swapLockTimeout, now: 0) == [.wait(seconds: 0.05)])
        #expect(workflow.event(.waited, now: 0) == [.swap(lockTimeoutMilliseconds: 50)])
        #expect(workflow.event(.swapLockTimeout, now: 0) == [.wait(seconds: 0.1)])
        #expect(workflow.event(.waited, now: 0) == [.swap(lockTimeoutMilliseconds: 50)])
        let given = workflow.event(.swapLockTimeout, now: 0)
        #expect(given.first == .cleanUp && states(given) == [.failed] && given.last == .finish(.failed))
        guard case let .publish(status) = given[1] else { return }
        #expect(status.error?.contains("within 50 ms in 3 attempts; the table is unchanged") == true)
    }

    @Test(arguments: [Checkpoint.Phase.copying, .replaying, .verifying, .swapping, .swapped])
    func resumesFromEachPhaseNotFromZero(_ phase: Checkpoint.Phase) {
        let saved = Checkpoint(commandId: "c1", fingerprint: Self.command.fingerprint, phase: phase, lastKey: ["7"], rowsCopied: 7, rowsTotal: 25, copyStartedAt: 100)
        var workflow = RepartitionWorkflow(command: Self.command, settings: settings())
        _ = workflow.event(.start(checkpoint: saved), now: 200)
        let accepted = workflow.event(.validated(.ok(rows: 25)), now: 200)
        guard case let .publish(status) = accepted.first else { Issue.record("no accepted status"); return }
        #expect(status.message == "resuming from \(phase.rawValue) after 7 rows")
        _ = workflow.event(.leaseAcquired(checkpoint: saved, completedElsewhere: false), now: 200)
        // The shadow really holds 9 rows through key 9 (a batch committed after the last checkpoint).
        let next = workflow.event(.prepared(copiedThrough: ["9"], copiedRows: 9), now: 200)
        switch phase {
        case .copying: #expect(next == [.copyBatch(after: ["9"], limit: 10)])
        case .replaying, .verifying: #expect(next == [.replay(limit: workflow.settings.replayBatch)])
        case .swapping: #expect(next == [.swap(lockTimeoutMilliseconds: 50)])
        case .swapped:
            #expect(next.contains(.recordHistory) && next.last == .finish(.completed))
            #expect(!next.contains { if case .swap = $0 { true } else { false } })
        }
        #expect(workflow.checkpoint.copyStartedAt == 100)
    }

    @Test func anotherCommandsCheckpointIsRefused() {
        let other = Checkpoint(commandId: "c0", fingerprint: "different", phase: .copying, lastKey: nil, rowsCopied: 0, rowsTotal: 0, copyStartedAt: 1)
        var workflow = RepartitionWorkflow(command: Self.command)
        let actions = workflow.event(.start(checkpoint: other), now: 0)
        #expect(states(actions) == [.rejected] && actions.last == .finish(.rejected))
        #expect(!actions.contains(.acquireLease))
    }

    @Test func rejectionsAndDuplicatesChangeNothing() {
        var stale = RepartitionWorkflow(command: Self.command)
        _ = stale.event(.start(checkpoint: nil), now: 0)
        let rejected = stale.event(.validated(.rejected("stale: expected version 3, the table's history is at 4")), now: 0)
        #expect(rejected.count == 2 && states(rejected) == [.rejected] && rejected.last == .finish(.rejected))
        var duplicate = RepartitionWorkflow(command: Self.command)
        _ = duplicate.event(.start(checkpoint: nil), now: 0)
        let skipped = duplicate.event(.validated(.alreadyProcessed), now: 0)
        #expect(states(skipped) == [.completed] && skipped.last == .finish(.completed) && !skipped.contains(.acquireLease))
        // A validation step that fails (the table vanished) is a rejection, not a cleanup.
        var vanished = RepartitionWorkflow(command: Self.command)
        _ = vanished.event(.start(checkpoint: nil), now: 0)
        let failed = vanished.event(.failed("relation does not exist"), now: 0)
        #expect(!failed.contains(.cleanUp) && states(failed) == [.rejected])
    }

    @Test func busyLeaseWaitsAndRetries() {
        var workflow = RepartitionWorkflow(command: Self.command)
        _ = workflow.event(.start(checkpoint: nil), now: 0)
        _ = workflow.event(.validated(.ok(rows: 5)), now: 0)
        #expect(workflow.event(.leaseBusy, now: 0) == [.wait(seconds: 1)])
        #expect(workflow.event(.waited, now: 1) == [.acquireLease])
        #expect(workflow.event(.leaseAcquired(checkpoint: nil, completedElsewhere: false), now: 1) == [.prepare])
    }

    @Test func verificationMismatchFailsAndCleansUp() {
        var workflow = RepartitionWorkflow(command: Self.command)
        _ = workflow.event(.start(checkpoint: nil), now: 0)
        _ = workflow.event(.validated(.ok(rows: 0)), now: 0)
        _ = workflow.event(.leaseAcquired(checkpoint: nil, completedElsewhere: false), now: 0)
        _ = workflow.event(.prepared(copiedThrough: nil, copiedRows: 0), now: 0)
        _ = workflow.event(.batchCopied(lastKey: nil, rows: 0), now: 0)
        _ = workflow.event(.replayed(rows: 0, pending: 0), now: 0)
        let actions = workflow.event(.verified(mismatches: ["bucket 3: 100 rows vs 99"]), now: 0)
        #expect(actions.first == .cleanUp && states(actions) == [.failed] && actions.contains(.releaseLease))
    }

    @Test func aFailureAfterTheSwapNeverDropsTheLiveTable() {
        let saved = Checkpoint(commandId: "c1", fingerprint: Self.command.fingerprint, phase: .swapped, lastKey: nil, rowsCopied: 5, rowsTotal: 5, copyStartedAt: 1)
        var fresh = RepartitionWorkflow(command: Self.command)
        _ = fresh.event(.start(checkpoint: saved), now: 0)
        _ = fresh.event(.validated(.ok(rows: 5)), now: 0)
        _ = fresh.event(.leaseAcquired(checkpoint: saved, completedElsewhere: false), now: 0)
        // Before prepared arrives, the metadata store fails.
        let actions = fresh.event(.failed("metadata store unavailable"), now: 0)
        #expect(!actions.contains(.cleanUp) && states(actions) == [.failed] && actions.contains(.releaseLease))
    }

    @Test func throttleSpacesBatches() {
        var settings = settings()
        settings.throttleRowsPerSecond = 5
        var workflow = RepartitionWorkflow(command: Self.command, settings: settings)
        _ = workflow.event(.start(checkpoint: nil), now: 0)
        _ = workflow.event(.validated(.ok(rows: 30)), now: 0)
        _ = workflow.event(.leaseAcquired(checkpoint: nil, completedElsewhere: false), now: 0)
        _ = workflow.event(.prepared(copiedThrough: nil, copiedRows: 0), now: 10)
        // 10 rows at 5 rows/s are due at 12 s; the batch finished at 10.5 s.
        let actions = workflow.event(.batchCopied(lastKey: ["10"], rows: 10), now: 10.5)
        #expect(actions.last == .wait(seconds: 1.5))
        #expect(workflow.event(.waited, now: 12) == [.copyBatch(after: ["10"], limit: 10)])
    }

    @Test func aSecondExecutorThatWaitedFindsTheJobDone() {
        var workflow = RepartitionWorkflow(command: Self.command)
        _ = workflow.event(.start(checkpoint: nil), now: 0)
        _ = workflow.event(.validated(.ok(rows: 5)), now: 0)
        _ = workflow.event(.leaseBusy, now: 0)
        _ = workflow.event(.waited, now: 1)
        let actions = workflow.event(.leaseAcquired(checkpoint: nil, completedElsewhere: true), now: 2)
        #expect(actions.first == .releaseLease && states(actions) == [.completed] && actions.last == .finish(.completed))
        #expect(!actions.contains(.prepare))
    }

    @Test func aSecondExecutorThatWaitedContinuesFromTheFirstsCheckpoint() {
        let progressed = Checkpoint(commandId: "c1", fingerprint: Self.command.fingerprint, phase: .copying, lastKey: ["20"], rowsCopied: 20, rowsTotal: 25, copyStartedAt: 1)
        var workflow = RepartitionWorkflow(command: Self.command, settings: settings())
        _ = workflow.event(.start(checkpoint: nil), now: 0)
        _ = workflow.event(.validated(.ok(rows: 25)), now: 0)
        #expect(workflow.event(.leaseAcquired(checkpoint: progressed, completedElsewhere: false), now: 2) == [.prepare])
        #expect(workflow.event(.prepared(copiedThrough: ["20"], copiedRows: 20), now: 2) == [.copyBatch(after: ["20"], limit: 10)])
        #expect(workflow.checkpoint.copyStartedAt == 1)
    }

    /// A command whose table changed while it waited for the lease is rejected, its lease released.
    @Test func staleUnderTheLeaseIsRejected() {
        var workflow = RepartitionWorkflow(command: Self.command, settings: settings())
        _ = workflow.event(.start(checkpoint: nil), now: 0)
        _ = workflow.event(.validated(.ok(rows: 100)), now: 1)
        let actions = workflow.event(.stale("stale command: it expects version 1"), now: 2)
        #expect(actions.contains(.releaseLease) && actions.last == .finish(.rejected) && !actions.contains(.prepare))
        #expect(states(actions) == [.rejected])
    }
}
