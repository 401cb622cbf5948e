import DriftlineDetector
import DriftlineExecutor
import DriftlineMessages
import DriftlineMetadata
import DriftlinePlanning
import DriftlineTargets
import Foundation

/// The closed loop, on the instance holding a source's aggregator lease: plan the tables the
/// source feeds when their schedule says so, and send a plan that says change as one repartition
/// command through the source's fenced outbox.
extension Aggregation {
    /// After windows of `source` were scored (`windows` of them, already counted by the schedules
    /// when they were scored; 0: asking again whether a due trigger can start now): start a
    /// planning run for each of its tables whose schedule has a trigger due (the schema prediction,
    /// refreshed since, may add one), unless one is running or a command for the table is still in
    /// flight — then the trigger stays due and is tried again (`retryDuePlanning`).
    func schedulePlanning(source: String, windows: Int) async throws {
        guard var runtime = aggregators[source], !runtime.planning.isEmpty else { return }
        let forecast = PlanningSchedule.trendForecast(runtime.recentScores, ahead: configuration.prediction.horizon)
        for table in configuration.tables where table.source == source {
            guard let trigger = runtime.planning[table.name]?.windowsScored(0, driftForecast: forecast, schemaChange: runtime.schemaChange),
                  planningRuns[table.name] == nil else { continue }
            if let sent = runtime.commands[table.name], sent.ended == nil {
                let (ended, read) = finalState(of: sent)
                runtime.commands[table.name]?.statusMarks = read
                if let ended {
                    runtime.commands[table.name]?.ended = ended
                    logger.info("repartition command ended", metadata: ["table": "\(table.name)", "command": "\(sent.id)", "state": "\(ended)"])
                } else {
                    // Recorded once per command and instance: a copy of hours would add one per window.
                    if windows > 0, deferralsRecorded.insert(sent.id).inserted {
                        try await recordDecision(table.name, PlanDecisionRecord(
                            decision: "in_flight", reason: "command \(sent.id) has no final status yet; planning when it ends", trigger: trigger.name,
                            strategy: nil, improvement: nil, commandID: sent.id, plannedAt: Date()))
                    }
                    continue
                }
            }
            logger.info("planning", metadata: ["table": "\(table.name)", "trigger": "\(trigger.name)"])
            runtime.planning[table.name]?.started()
            let run = PlanningRun(table: table, trigger: trigger)
            run.start(repository: repository, client: outputs.client, on: planningExecutor)
            planningRuns[table.name] = run
        }
        aggregators[source]?.planning = runtime.planning
        aggregators[source]?.commands = runtime.commands
    }

    /// Each loop step: a trigger left due (a run was going, or a command in flight) is tried again,
    /// at most every `planningRetry`, also when no more windows come.
    func retryDuePlanning(now: ContinuousClock.Instant) async throws {
        guard now - lastPlanningRetry >= Self.planningRetry else { return }
        lastPlanningRetry = now
        for (source, runtime) in aggregators.sorted(by: { $0.key < $1.key }) where runtime.delivery.isIdle {
            let due = configuration.tables.contains { $0.source == source && runtime.planning[$0.name]?.due != nil && planningRuns[$0.name] == nil }
            if due { try await schedulePlanning(source: source, windows: 0) }
        }
    }

    /// Each loop step: plans that finished are decided, and a change is sent.
    func collectPlans() async throws {
        for (name, run) in planningRuns.sorted(by: { $0.key < $1.key }) {
            guard let result = run.result else {
                guard ContinuousClock.now - run.startedAt > Self.planningRunLimit else { continue }
                // Abandoned: whatever it still does is ignored, the trigger is due again.
                planningRuns.removeValue(forKey: name)
                aggregators[run.table.source]?.planning[name]?.retry(run.trigger)
                logger.warning("planning did not finish in \(Self.planningRunLimit); trying again", metadata: ["table": "\(name)"])
                try await recordDecision(name, PlanDecisionRecord(decision: "failed", reason: "the planning run did not finish in \(Self.planningRunLimit); tried again",
                                                                  trigger: run.trigger.name, strategy: nil, improvement: nil, commandID: nil, plannedAt: Date()))
                continue
            }
            // The source's aggregator must be ours and idle to send through its outbox; a run whose
            // source moved to another instance is dropped (that instance plans on its own schedule).
            guard let runtime = aggregators[run.table.source] else { planningRuns.removeValue(forKey: name); continue }
            guard runtime.delivery.isIdle else { continue }
            planningRuns.removeValue(forKey: name)
            switch result {
            case let .failure(error):
                logger.warning("planning failed: \(error)", metadata: ["table": "\(name)"])
                try await recordDecision(name, PlanDecisionRecord(decision: "failed", reason: error.description, trigger: run.trigger.name,
                                                                  strategy: nil, improvement: nil, commandID: nil, plannedAt: Date()))
            case let .success(.plan(plan)):
                try await decide(plan, run: run)
            case let .success(.keep(reason)):
                try await recordDecision(name, PlanDecisionRecord(decision: "keep", reason: reason, trigger: run.trigger.name,
                                                                  strategy: nil, improvement: nil, commandID: nil, plannedAt: Date()))
            }
        }
        try await retryDuePlanning(now: .now)
    }

    private func decide(_ plan: PartitionPlan, run: PlanningRun) async throws {
        let table = run.table
        let improvement = plan.estimated.improvement
        func keep(_ reason: String) async throws {
            try await recordDecision(table.name, PlanDecisionRecord(decision: "keep", reason: reason, trigger: run.trigger.name,
                                                                    strategy: plan.strategy.summary, improvement: improvement, commandID: nil, plannedAt: Date()))
        }
        guard plan.decision == .repartition else { return try await keep(plan.reason) }
        guard let runtime = aggregators[table.source] else { return }
        // A command may have gone out while this run was going (another instance's, restored with
        // the state after a rebalance): never a second one while one is in flight.
        if let sent = runtime.commands[table.name], sent.ended == nil {
            return try await recordDecision(table.name, PlanDecisionRecord(
                decision: "in_flight", reason: "command \(sent.id) has no final status yet", trigger: run.trigger.name,
                strategy: plan.strategy.summary, improvement: improvement, commandID: sent.id, plannedAt: Date()))
        }
        let current = try await repository.get(PartitionStrategyRecord.self, kind: MetadataKind.partitioningCurrent, source: table.name)
        if current?.value.parameters["summary"] == plan.strategy.summary {
            return try await keep("the table already has this layout (\(plan.strategy.summary))")
        }
        // The same plan against the same partitioning record (and the same dry-run setting) is the
        // same command, so a restart re-planning it is recognised; after the table changed (its
        // record's version moved) the same layout is a new command, not one the executor skips as done.
        let id = StableID.make(["repartition_command", table.name, plan.strategy.summary, "\(current?.version ?? 0)", "\(configuration.planning.dryRun)"] + plan.ddl)
        if let sent = runtime.commands[table.name], sent.id == id {
            return try await keep("this plan was sent already as command \(id) (it ended \(sent.ended ?? "?"))")
        }
        let command = RepartitionCommand(id: id, table: table.name, store: TargetStores.storeName(of: table.target), expectedVersion: current?.version, plan: plan,
                                         dryRun: configuration.planning.dryRun, createdAt: WireTime.format(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)))
        let commandsTopic = configuration.topics.repartitionCommands
        let statusTopic = configuration.topics.repartitionStatus
        let marks = try outputs.ends(of: [commandsTopic, statusTopic])
        var commands = runtime.commands
        commands[table.name] = SentCommand(id: id, statusMarks: marks[statusTopic] ?? [:], ended: nil)
        let message = OutboxMessage(topic: commandsTopic, key: table.name, id: id, value: try WireJSON.encode(command))
        let state = AggregatorState(releasedThrough: runtime.aggregator.releasedThrough, scorer: try runtime.scorer.snapshot(), outbox: [message],
                                    outputMarks: [commandsTopic: marks[commandsTopic] ?? [:]], commands: commands)
        try await perform(aggregators[table.source]!.delivery.windowsScored(state), source: table.source)
        guard aggregators[table.source]?.delivery.isIdle == true else { return }  // the source was lost meanwhile; its new owner decides
        aggregators[table.source]?.commands = commands
        metrics.commandSent(table.name)
        logger.notice("repartition command sent", metadata: [
            "table": "\(table.name)", "command": "\(id)", "strategy": "\(plan.strategy.summary)", "improvement": "\(improvement)",
            "dryRun": "\(command.dryRun)", "trigger": "\(run.trigger.name)"])
        try await recordDecision(table.name, PlanDecisionRecord(decision: "repartition", reason: plan.reason, trigger: run.trigger.name,
                                                                strategy: plan.strategy.summary, improvement: improvement, commandID: id, plannedAt: Date()))
    }

    /// The final state of a sent command on the status topic (`completed`, `failed`, `rejected`,
    /// `rolled_back`), nil while it has none; and the marks to read from next time (the next check
    /// reads only what came since). A status topic that cannot be read now counts as no final state
    /// yet: planning waits, detection goes on.
    private func finalState(of sent: SentCommand) -> (state: String?, marks: [Int32: Int64]) {
        let topic = configuration.topics.repartitionStatus
        do {
            let ends = try outputs.ends(of: [topic])[topic] ?? sent.statusMarks
            let statuses = try outputs.objects(from: [topic: sent.statusMarks], timeout: .seconds(5))
            let finals: Set<String> = ["completed", "failed", "rejected", "rolled_back"]
            let state = statuses.last { ($0["commandId"] as? String) == sent.id && finals.contains($0["state"] as? String ?? "") }?["state"] as? String
            return (state, ends)
        } catch {
            logger.warning("cannot read the status topic to see whether command \(sent.id) ended: \(error)")
            return (nil, sent.statusMarks)
        }
    }

    private func recordDecision(_ table: String, _ record: PlanDecisionRecord) async throws {
        metrics.planned(table, decision: record.decision, improvement: record.improvement)
        _ = try await repository.append(record, kind: MetadataKind.planDecision, source: table, at: record.plannedAt)
    }
}
