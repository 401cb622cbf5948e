@testable import DriftlineService
import DriftlineServiceRuntime
import Dispatch
import DriftlineDetector
import DriftlineKafka
import DriftlineMetadata
import DriftlineProfiling
import Foundation
import Testing

/// The detector's delivery protocol, driven without Kafka or a database: the real machines under a
/// small in-memory shell (a fenced versioned record, a lease, an output log).
@Suite struct AggregatorDeliveryTests {
    /// What survives a crash: the stored state, the lease table and the output topic.
    struct Durable {
        var state: AggregatorState?
        var version: Int64 = 0
        var leaseToken: Int64 = 0
        var leaseHolder: String?
        var topic: [String] = []
    }

    struct Crash: Error {}

    /// One instance's shell: performs each action against `durable`, counting actions, and crashes
    /// (throws, keeping only what is durable) when the count reaches `crashAt`. A crash during a
    /// publish lands after half of its messages.
    struct Shell {
        var durable: Durable
        var machine = AggregatorDelivery(source: "orders", leaseWait: .seconds(30))
        var actions = 0
        let crashAt: Int?
        let holder: String
        /// Restored from the stored state: where scoring resumes.
        var releasedThrough: Int64 = -1

        init(durable: Durable, crashAt: Int?, holder: String) {
            self.durable = durable
            self.crashAt = crashAt
            self.holder = holder
        }

        mutating func perform(_ first: AggregatorDelivery.Action) throws {
            var action = first
            while action != .none {
                actions += 1
                let crashing = actions == crashAt
                switch action {
                case .none: return
                case .acquireLease:
                    // The crashed holder's lease has run out by the time the next instance asks.
                    durable.leaseToken += 1
                    durable.leaseHolder = holder
                    if crashing { throw Crash() }
                    action = machine.leaseAnswered(Lease(name: "aggregator/orders", holder: holder, token: durable.leaseToken, expiresAt: .distantFuture), now: .now)
                case .retryLease:
                    Issue.record("no other holder here")
                    return
                case .loadState:
                    if crashing { throw Crash() }
                    releasedThrough = durable.state?.releasedThrough ?? -1
                    action = machine.stateLoaded(durable.state, version: durable.state == nil ? nil : durable.version)
                case let .deliverMissing(outbox, marks):
                    let end = marks["driftline.alerts"]?[0] ?? 0
                    let present = Set(durable.topic[Int(end)...])
                    let missing = outbox.filter { !present.contains($0.id) }
                    durable.topic += (crashing ? Array(missing.prefix(missing.count / 2)) : missing).map(\.id)
                    if crashing { throw Crash() }
                    action = machine.missingDelivered()
                case let .store(state, expected, fence):
                    guard fence.token == durable.leaseToken, expected == (durable.state == nil ? nil : durable.version) else {
                        action = machine.storeRefused("refused")
                        continue
                    }
                    durable.state = state
                    durable.version += 1
                    if crashing { throw Crash() }
                    action = machine.stored(version: durable.version)
                case let .publish(messages):
                    durable.topic += (crashing ? Array(messages.prefix(messages.count / 2)) : messages).map(\.id)
                    if crashing { throw Crash() }
                    action = machine.published()
                case .drop, .fail:
                    Issue.record("unexpected \(action)")
                    return
                }
            }
        }

        /// Scores windows after `releasedThrough` up to `windows`, each with `perWindow` messages.
        mutating func run(windows: Int, perWindow: Int) throws {
            try perform(machine.partialArrived(now: .now))
            #expect(machine.isIdle)
            while releasedThrough + 1 < Int64(windows) {
                let window = releasedThrough + 1
                let outbox = (0..<perWindow).map { OutboxMessage(topic: "driftline.alerts", key: "orders", id: "w\(window)-m\($0)", value: Data()) }
                let next = AggregatorState(releasedThrough: window, scorer: Data(), outbox: outbox,
                                           outputMarks: ["driftline.alerts": [0: Int64(durable.topic.count)]])
                try perform(machine.windowsScored(next))
                releasedThrough = window
            }
        }
    }

    @Test func everyCrashPointDeliversEachMessageExactlyOnce() throws {
        var uninterrupted = Shell(durable: Durable(), crashAt: nil, holder: "a")
        try uninterrupted.run(windows: 6, perWindow: 4)
        let expected = uninterrupted.durable.topic
        #expect(expected.count == 24)
        // 1 lease + 1 load + 6 windows × 3 steps
        #expect(uninterrupted.actions == 20)
        for crashAt in 1...uninterrupted.actions {
            var first = Shell(durable: Durable(), crashAt: crashAt, holder: "a")
            #expect(throws: Crash.self) { try first.run(windows: 6, perWindow: 4) }
            // Crash again during the restart's recovery too, where there is one.
            var durable = first.durable
            for secondCrash in [3, nil] as [Int?] {
                var restarted = Shell(durable: durable, crashAt: secondCrash, holder: "b")
                do {
                    try restarted.run(windows: 6, perWindow: 4)
                } catch is Crash {
                    durable = restarted.durable
                    continue
                }
                durable = restarted.durable
                break
            }
            #expect(durable.topic == expected, "crash after action \(crashAt): \(durable.topic)")
            #expect(durable.state?.outbox == [], "crash after action \(crashAt): the outbox ends cleared")
        }
    }

    @Test func windowsWithoutMessagesStoreOnceAndPublishNothing() {
        var machine = AggregatorDelivery(source: "orders", leaseWait: .seconds(30))
        let lease = Lease(name: "aggregator/orders", holder: "a", token: 7, expiresAt: .distantFuture)
        #expect(machine.partialArrived(now: .now) == .acquireLease)
        #expect(machine.leaseAnswered(lease, now: .now) == .loadState)
        #expect(machine.stateLoaded(nil, version: nil) == .none)
        let empty = AggregatorState(releasedThrough: 1, scorer: Data(), outbox: [], outputMarks: [:])
        #expect(machine.windowsScored(empty) == .store(empty, expectedVersion: nil, fence: lease.fence))
        #expect(machine.stored(version: 1) == .none)
        #expect(machine.isIdle)
        #expect(machine.windowsScored(empty) == .store(empty, expectedVersion: 1, fence: lease.fence), "the next write expects the version just stored")
    }

    @Test func aLeaseHeldElsewhereIsRetriedThenFails() {
        let start = ContinuousClock.now
        var machine = AggregatorDelivery(source: "orders", leaseWait: .seconds(30), retryInterval: .milliseconds(500))
        #expect(machine.partialArrived(now: start) == .acquireLease)
        #expect(machine.partialArrived(now: start) == .none, "one acquisition at a time")
        #expect(machine.leaseAnswered(nil, now: start + .seconds(10)) == .retryLease(after: .milliseconds(500)))
        #expect(machine.leaseAnswered(nil, now: start + .seconds(31)) == .fail(.leaseHeld(source: "orders")))
        #expect(machine.state == .lost)
    }

    @Test func aRefusedWriteOrRenewalDropsTheAggregatorUnpublished() {
        let lease = Lease(name: "aggregator/orders", holder: "a", token: 3, expiresAt: .distantFuture)
        func owned() -> AggregatorDelivery {
            var machine = AggregatorDelivery(source: "orders", leaseWait: .seconds(30))
            _ = machine.partialArrived(now: .now)
            _ = machine.leaseAnswered(lease, now: .now)
            _ = machine.stateLoaded(nil, version: nil)
            return machine
        }
        var machine = owned()
        let outbox = [OutboxMessage(topic: "driftline.alerts", key: "orders", id: "x", value: Data())]
        _ = machine.windowsScored(AggregatorState(releasedThrough: 1, scorer: Data(), outbox: outbox, outputMarks: [:]))
        #expect(machine.storeRefused("stale fencing token") == .drop(reason: "stale fencing token"))
        #expect(machine.published() == .none, "nothing is published after the drop")
        #expect(machine.lease == nil)

        var renewing = owned()
        var renewed = lease
        renewed.expiresAt = Date().addingTimeInterval(10)
        #expect(renewing.renewalAnswered(renewed) == .none)
        #expect(renewing.isIdle)
        // A step longer than the TTL: the lease ran out and was taken again by the same holder,
        // with the next token. Adopted: the source stays, and its next store is fenced with it.
        var retaken = renewed
        retaken.token = lease.token + 1
        #expect(renewing.renewalAnswered(retaken) == .none)
        #expect(renewing.isIdle && renewing.lease?.token == lease.token + 1)
        let next = renewing.windowsScored(AggregatorState(releasedThrough: 2, scorer: Data(), outbox: [], outputMarks: [:]))
        if case let .store(_, _, fence) = next { #expect(fence.token == lease.token + 1) } else { Issue.record("expected a store, got \(next)") }
        #expect(renewing.renewalAnswered(nil) == .drop(reason: "the aggregator lease of 'orders' was taken over"))
    }

    @Test func aRestartWithAnOutboxDeliversOnlyWhatIsMissing() {
        let lease = Lease(name: "aggregator/orders", holder: "b", token: 2, expiresAt: .distantFuture)
        let outbox = ["a", "b", "c"].map { OutboxMessage(topic: "driftline.alerts", key: "orders", id: $0, value: Data()) }
        let stored = AggregatorState(releasedThrough: 4, scorer: Data([1]), outbox: outbox, outputMarks: ["driftline.alerts": [0: 10]])
        var machine = AggregatorDelivery(source: "orders", leaseWait: .seconds(30))
        _ = machine.partialArrived(now: .now)
        _ = machine.leaseAnswered(lease, now: .now)
        #expect(machine.stateLoaded(stored, version: 5) == .deliverMissing(outbox, after: ["driftline.alerts": [0: 10]]))
        #expect(!machine.isIdle, "no new windows are scored before the outbox is delivered")
        #expect(machine.missingDelivered() == .store(stored.withoutOutbox, expectedVersion: 5, fence: lease.fence))
        #expect(machine.stored(version: 6) == .none)
        #expect(machine.isIdle)
    }
}

@Suite struct CommitTrackerTests {
    @Test func commitsOnlyWhatMovedSplitByConsumer() {
        var tracker = CommitTracker(profilesTopic: "driftline.profiles")
        let positions: [TopicPartition: Int64] = [TopicPartition("orders", 0): 10, TopicPartition("orders", 1): 4, TopicPartition("driftline.profiles", 2): 7]
        guard case let .flushThenCommit(sources, profiles) = tracker.progress(positions) else {
            Issue.record("nothing to commit")
            return
        }
        #expect(sources == [TopicPartitionOffset(TopicPartition("orders", 0), offset: 10), TopicPartitionOffset(TopicPartition("orders", 1), offset: 4)])
        #expect(profiles == [TopicPartitionOffset(TopicPartition("driftline.profiles", 2), offset: 7)])
        tracker.committed(sources)
        // The profiles commit was refused (a rebalance): it is offered again, the sources are not.
        #expect(tracker.progress(positions) == .flushThenCommit(sources: [], profiles: profiles))
        tracker.committed(profiles)
        #expect(tracker.progress(positions) == .none)
    }

    /// A partition revoked and assigned back commits its position again: the commit on revocation
    /// may have failed, so the tracker's record of it is not trusted.
    @Test func aPartitionThatComesBackIsCommittedAgain() {
        var tracker = CommitTracker(profilesTopic: "driftline.profiles")
        let profiles = TopicPartition("driftline.profiles", 2)
        let positions: [TopicPartition: Int64] = [profiles: 138]
        tracker.committed([TopicPartitionOffset(profiles, offset: 138)])
        #expect(tracker.progress(positions) == .none)
        tracker.forget([profiles])
        #expect(tracker.progress(positions) == .flushThenCommit(sources: [], profiles: [TopicPartitionOffset(profiles, offset: 138)]))
    }

    @Test func profilesWaitForTheOldestPendingPartial() {
        let positions = CommitTracker.profilesPositions(next: [0: 50, 1: 20, 2: 9], pending: [0: [31, 12, 40], 2: [], 3: [5]])
        #expect(positions == [0: 12, 1: 20, 2: 9], "partition 3 has no position read yet: nothing to commit there")
    }
}

@Suite struct PredictionScheduleTests {
    @Test func refreshesEveryNWindowsAndAtOnceOnANewSchemaVersion() {
        var schedule = PredictionSchedule(everyWindows: 3)
        #expect(schedule.windowsScored([100, 200]) == .none)
        #expect(schedule.windowsScored([300]) == .refresh(latestWindow: 300))
        #expect(schedule.windowsScored([400]) == .none)
        schedule.schemaVersionRecorded()
        #expect(schedule.windowsScored([500]) == .refresh(latestWindow: 500), "a new version makes the stored prediction stale")
        #expect(schedule.windowsScored([600]) == .none)
        var off = PredictionSchedule(everyWindows: 0)
        off.schemaVersionRecorded()
        #expect(off.windowsScored([1, 2, 3]) == .none)
    }
}

@Suite struct DeadLetterBudgetTests {
    @Test func samplesAtMostNPerWindowOfArrivalAndForgetsOldWindows() {
        var budget = DeadLetterBudget(perWindow: 2, windowSize: 1_000)
        let first = [100, 200, 300].map { budget.admit(arrivedAt: $0) }
        #expect(first == [true, true, false])
        let nextWindow = budget.admit(arrivedAt: 1_100)
        #expect(nextWindow, "a new window has its own budget")
        budget.windowsClosed(now: 5_000)
        #expect(budget.trackedWindows == 0)
        let later = budget.admit(arrivedAt: 5_001)
        #expect(later)
    }
}

@Suite struct BlockingWorkExecutorTests {
    /// The loop's code, blocking calls included, runs on the executor's own queue, also after an
    /// await that hopped elsewhere.
    @Test func workRunsOnItsOwnQueueAcrossAwaits() async throws {
        func label() -> String? { DispatchQueue.getSpecific(key: BlockingWorkExecutor.labelKey) }
        let executor = BlockingWorkExecutor(label: "driftline.test.loop")
        let labels = await withTaskExecutorPreference(executor) {
            let before = label()
            try? await Task.sleep(for: .milliseconds(10))  // a suspension; cancellation cannot happen here
            return [before, label()]
        }
        #expect(labels == ["driftline.test.loop", "driftline.test.loop"])
        #expect(label() == nil)
    }
}

/// The source side without Kafka: records in, partials of closed windows, dead letters within the
/// budget and commit positions out.
@Suite struct SourceSideTests {
    static func side(deadLettersPerWindow: Int = 1) -> SourceSide {
        var source = DetectorConfiguration.Source(topic: "orders")
        source.eventTime = .field(path: "ts", unit: .milliseconds)
        // One lane: a lane sends empty partials only for its own partitions, and only for windows it
        // saw records in (see DEVELOPERS.md, "Detector shell and machines").
        return SourceSide(source: source, partitionCount: 2, workers: 1,
                          deadLetterBudget: DeadLetterBudget(perWindow: deadLettersPerWindow, windowSize: 1_000)) { closedThrough in
            SourceWindowing(topic: "orders", eventTime: source.eventTime, windows: TumblingWindows(size: 1_000, allowedLateness: 0, closedThrough: closedThrough))
        }
    }

    /// Profiles the queued records as the loop does: each lane on its worker, then waits.
    static func profile(_ side: SourceSide) {
        let group = DispatchGroup()
        for lane in side.lanes where !lane.isEmpty { lane.startProcessing(now: 0, group: group) }
        group.wait()
    }

    static func add(_ side: SourceSide, partition: Int32, offset: Int64, _ text: String, kafkaTime: Int64 = 0) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { side.enqueue(partition: partition, offset: offset, timestamp: kafkaTime, value: UnsafeRawBufferPointer($0)) }
    }

    @Test func closedWindowsBecomeOnePartialPerOwnedPartitionAndCommitsWaitForOpenOnes() throws {
        let side = Self.side()
        side.assign([0, 1], now: 0)
        Self.add(side, partition: 0, offset: 0, #"{"ts": 100, "x": 1}"#)
        Self.add(side, partition: 0, offset: 1, #"{"ts": 200, "x": 2}"#)
        Self.add(side, partition: 0, offset: 2, #"{"ts": 1500, "x": 3}"#)
        Self.add(side, partition: 1, offset: 0, #"{"ts": 1700, "x": 4}"#)
        Self.add(side, partition: 0, offset: 3, #"{"ts": 1600, "x""#, kafkaTime: 10)  // malformed
        Self.add(side, partition: 0, offset: 4, #"{"ts"#, kafkaTime: 20)              // malformed, same window of arrival
        Self.profile(side)

        let letters = side.takeDeadLetters(now: 0)
        #expect(letters.count == 1, "one sample per window of arrival")
        let partials = side.closeReadyWindows(now: 0)
        // Window [0, 1000) closed (both partitions passed 1000): partition 0 with its two records,
        // partition 1 with none, so the aggregator need not wait for its timeout.
        #expect(partials.map(\.partitions) == [[0], [1]])
        #expect(partials.allSatisfy { $0.windowStart == 0 && $0.windowEnd == 1_000 && $0.partitionCount == 2 })
        let profiles = try partials.map { try WindowProfile(encoded: $0.profile) }
        #expect(profiles.map(\.recordCount) == [2, 0])
        // Open window [1000, 2000) still needs partition 0 from offset 2 and partition 1 from 0.
        #expect(side.commitPositions == [TopicPartition("orders", 0): 2, TopicPartition("orders", 1): 0])
        let counted = side.takeCounters()
        #expect(counted.records == 6 && counted.malformed.values.reduce(0, +) == 2 && counted.deadLetters == 1)
        #expect(side.takeCounters().records == 0, "counters are per batch")
    }

    @Test func aRevocationForgetsOpenWindowsAndKeepsWhatWasClosed() {
        let side = Self.side()
        side.assign([0, 1], now: 0)
        Self.add(side, partition: 0, offset: 0, #"{"ts": 100}"#)
        Self.add(side, partition: 1, offset: 0, #"{"ts": 2500}"#)
        Self.add(side, partition: 0, offset: 1, #"{"ts": 2600}"#)
        Self.profile(side)
        #expect(side.closeReadyWindows(now: 0).count == 2)
        side.revoke([TopicPartition("orders", 1)], now: 0)
        #expect(side.assigned == [0])
        // Open windows are rebuilt by re-reading from the committed positions: nothing is held here.
        #expect(side.commitPositions.isEmpty)
        // A window already closed is not closed (published) again after the reset.
        Self.add(side, partition: 0, offset: 0, #"{"ts": 100}"#)
        Self.profile(side)
        #expect(side.closeReadyWindows(now: 0).isEmpty)
    }
}

@Suite struct PlanningScheduleTests {
    @Test func plansEveryNWindowsAndOnceWhenAForecastCrosses() {
        var schedule = PlanningSchedule(everyWindows: 3, driftThreshold: 0.6, schemaThreshold: 0.5)
        func scored(_ forecast: Double, _ schema: (String, Double)? = nil) -> PlanningSchedule.Trigger? {
            let trigger = schedule.windowsScored(1, driftForecast: forecast, schemaChange: schema)
            if trigger != nil { schedule.started() }
            return trigger
        }
        #expect(scored(0.2) == nil)
        #expect(scored(0.3) == nil)
        #expect(scored(0.3) == .schedule)
        // Crossing plans at once; staying above does not plan again before the count does.
        #expect(scored(0.7) == .driftForecast(0.7))
        #expect(scored(0.8) == nil)
        #expect(scored(0.9) == nil)
        #expect(scored(0.9) == .schedule)
        // Falling below re-arms the trigger.
        #expect(scored(0.1) == nil)
        #expect(scored(0.65) == .driftForecast(0.65))
        #expect(scored(0.65, ("payload.coupon", 0.8)) == .schemaChange(path: "payload.coupon", confidence: 0.8))
        #expect(scored(0.65, ("payload.coupon", 0.9)) == nil)
    }

    /// A crossing while a run is going (or a command is in flight) is not lost: it stays due, also
    /// when no window is scored after it, until a run starts on it.
    @Test func aTriggerStaysDueUntilARunStarts() {
        var schedule = PlanningSchedule(everyWindows: 4, driftThreshold: 0.6, schemaThreshold: nil)
        for _ in 0..<3 { #expect(schedule.windowsScored(1, driftForecast: 0.1, schemaChange: nil) == nil) }
        #expect(schedule.windowsScored(1, driftForecast: 0.1, schemaChange: nil) == .schedule)
        // The schedule's run is going: the crossing that follows replaces the due schedule trigger…
        #expect(schedule.windowsScored(1, driftForecast: 0.8, schemaChange: nil) == .driftForecast(0.8))
        // …and stays due when asked again without new windows, and after more windows.
        #expect(schedule.windowsScored(0, driftForecast: 0.8, schemaChange: nil) == .driftForecast(0.8))
        #expect(schedule.windowsScored(1, driftForecast: 0.9, schemaChange: nil) == .driftForecast(0.8))
        schedule.started()
        #expect(schedule.windowsScored(0, driftForecast: 0.9, schemaChange: nil) == nil)
        #expect(schedule.due == nil)
        // A run that did not finish is abandoned: its trigger is due again.
        schedule.retry(.driftForecast(0.8))
        #expect(schedule.windowsScored(0, driftForecast: 0.9, schemaChange: nil) == .driftForecast(0.8))
    }

    /// The next owner of a source goes on from the stored progress: the windows counted, the
    /// thresholds' edges and a due trigger all survive the handover (through the JSON the state is
    /// stored as); a state stored before planning progress existed reads as none.
    @Test func progressSurvivesAHandover() throws {
        func handedOver(_ schedule: PlanningSchedule) throws -> PlanningSchedule {
            let state = AggregatorState(releasedThrough: 9, scorer: Data(), outbox: [], outputMarks: [:], planning: ["public.orders": schedule.progress])
            let stored = try JSONDecoder().decode(AggregatorState.self, from: JSONEncoder().encode(state))
            var next = PlanningSchedule(everyWindows: 8, driftThreshold: 0.6, schemaThreshold: nil)
            next.restore(try #require(stored.planning["public.orders"]))
            return next
        }
        var counting = PlanningSchedule(everyWindows: 8, driftThreshold: 0.6, schemaThreshold: nil)
        #expect(counting.windowsScored(5, driftForecast: 0.1, schemaChange: nil) == nil)
        var next = try handedOver(counting)
        #expect(next.windowsScored(3, driftForecast: 0.1, schemaChange: nil) == .schedule, "5 counted before the handover + 3 after")
        var crossed = PlanningSchedule(everyWindows: 8, driftThreshold: 0.6, schemaThreshold: nil)
        #expect(crossed.windowsScored(1, driftForecast: 0.7, schemaChange: nil) == .driftForecast(0.7))
        next = try handedOver(crossed)
        #expect(next.due == .driftForecast(0.7), "the due trigger is the next owner's to run")
        next.started()
        #expect(next.windowsScored(0, driftForecast: 0.7, schemaChange: nil) == nil, "still above: the edge was stored too")
        let old = #"{"releasedThrough": 1, "scorer": "", "outbox": [], "outputMarks": {}}"#
        #expect(try JSONDecoder().decode(AggregatorState.self, from: Data(old.utf8)).planning.isEmpty)
    }

    @Test func thresholdsOffAndCountOff() {
        var off = PlanningSchedule(everyWindows: 0, driftThreshold: nil, schemaThreshold: nil)
        for _ in 0..<50 { #expect(off.windowsScored(1, driftForecast: 1, schemaChange: ("x", 1)) == nil) }
        var countOnly = PlanningSchedule(everyWindows: 2, driftThreshold: nil, schemaThreshold: nil)
        #expect(countOnly.windowsScored(5, driftForecast: 1, schemaChange: nil) == .schedule)
    }

    @Test func theTrendForecastFollowsTheLine() throws {
        #expect(PlanningSchedule.trendForecast([0.1, 0.2, 0.3], ahead: 1) == nil)
        let rising = try #require(PlanningSchedule.trendForecast([0.1, 0.15, 0.2, 0.25, 0.3, 0.35], ahead: 4))
        #expect(abs(rising - 0.55) < 1e-9)
        #expect(PlanningSchedule.trendForecast([0.5, 0.6, 0.7, 0.8, 0.9, 1.0], ahead: 10) == 1)
        #expect(PlanningSchedule.trendForecast([0.5, 0.4, 0.3, 0.2, 0.1, 0.0], ahead: 10) == 0)
    }

    /// States stored before the closed loop (no `commands`) still load.
    @Test func anOlderStoredStateLoads() throws {
        let old = #"{"releasedThrough":5,"scorer":"","outbox":[],"outputMarks":{}}"#
        let state = try JSONDecoder().decode(AggregatorState.self, from: Data(old.utf8))
        #expect(state.releasedThrough == 5 && state.commands.isEmpty)
        var sent = state
        sent.commands["public.events"] = SentCommand(id: "c1", statusMarks: [0: 3], ended: nil)
        #expect(try JSONDecoder().decode(AggregatorState.self, from: JSONEncoder().encode(sent)) == sent)
    }
}
