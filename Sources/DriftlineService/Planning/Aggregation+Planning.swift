import DriftlineDetector
import DriftlineExecutor
import DriftlineMessages
import DriftlineMetadata
import DriftlinePlanning
import Foundation

/// The closed loop, on the instance holding a source's aggregator lease: plan the tables the
/// source feeds when their schedule says so, and send a plan that says change as one repartition
/// command through the source's fenced outbox.
extension Aggregation {
    /// After windows of `source` were scored: start a planning run for each of its tables whose
    /// schedule fires, unless one is running or a command for the table is still in flight.
    func schedulePlanning(source: String, windows: Int) async throws {
        guard var runtime = aggregators[source], !runtime.planning.isEmpty else { return }
        let forecast = PlanningSchedule.trendForecast(runtime.recentScores, ahead: configuration.prediction.horizon)
        for table in configuration.tables where table.source == source {
            guard let trigger = runtime.planning[table.name]?.windowsScored(windows, driftForecast: forecast, schemaChange: runtime.schemaChange),
                  planningRuns[table.name] == nil else { continue }
            if let sent = runtime.commands[table.name], sent.ended == nil {
                if let ended = try finalState(of: sent) {
                    runtime.commands[table.name]?.ended = ended
                    logger.info("repartition command ended", metadata: ["table": "\(table.name)", "command": "\(sent.id)", "state": "\(ended)"])
                } else {
                    try await recordDecision(table.name, PlanDecisionRecord(
                        decision: "in_flight", reason: "command \(sent.id) has no final status yet", trigger: trigger.name,
                        strategy: nil, improvement: nil, commandID: sent.id, plannedAt: Date()))
                    continue
                }
            }
            logger.info("planning", metadata: ["table": "\(table.name)", "trigger": "\(trigger.name)"])
            let run = PlanningRun(table: table, trigger: trigger)
            run.start(repository: repository, on: planningExecutor)
            planningRuns[table.name] = run
        }
        aggregators[source]?.planning = runtime.planning
        aggregators[source]?.commands = runtime.commands
    }

    /// Each loop step: plans that finished are decided, and a change is sent.
    func collectPlans() async throws {
        for (name, run) in planningRuns.sorted(by: { $0.key < $1.key }) {
            guard let result = run.result else { continue }
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
            case let .success(plan):
                try await decide(plan, run: run)
            }
        }
    }

    private func decide(_ plan: PartitionPlan, run: PlanningRun) async throws {
        let table = run.table
        let improvement = plan.estimated.improvement
        func keep(_ reason: String) async throws {
            try await recordDecision(table.name, PlanDecisionRecord(decision: "keep", reason: reason, trigger: run.trigger.name,
                                                                    strategy: plan.strategy.summary, improvement: improvement, commandID: nil, plannedAt: Date()))
        }
        guard plan.decision == .repartition else { return try await keep(plan.reason) }
        let id = StableID.make(["repartition_command", table.name, plan.strategy.summary] + plan.ddl)
        guard let runtime = aggregators[table.source] else { return }
        if let sent = runtime.commands[table.name], sent.id == id {
            return try await keep("this plan was sent already as command \(id) (\(sent.ended ?? "no final status yet"))")
        }
        let current = try await repository.get(PartitionStrategyRecord.self, kind: MetadataKind.partitioningCurrent, source: table.name)
        if current?.value.parameters["summary"] == plan.strategy.summary {
            return try await keep("the table already has this layout (\(plan.strategy.summary))")
        }
        let command = RepartitionCommand(id: id, table: table.name, store: "postgres", expectedVersion: current?.version, plan: plan,
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
    /// `rolled_back`), nil while it has none. Reads only what came after the command was sent.
    private func finalState(of sent: SentCommand) throws -> String? {
        let statuses = try outputs.objects(from: [configuration.topics.repartitionStatus: sent.statusMarks])
        let finals: Set<String> = ["completed", "failed", "rejected", "rolled_back"]
        return statuses.last { ($0["commandId"] as? String) == sent.id && finals.contains($0["state"] as? String ?? "") }?["state"] as? String
    }

    private func recordDecision(_ table: String, _ record: PlanDecisionRecord) async throws {
        metrics.planned(table, decision: record.decision, improvement: record.improvement)
        _ = try await repository.append(record, kind: MetadataKind.planDecision, source: table, at: record.plannedAt)
    }
}
