import Foundation

/// What the aggregator of one source stores (fenced by its lease) each time it scores windows: the
/// last scored window, the scorer's snapshot, and an outbox of the messages those windows produced.
///
/// Delivery: the state with the outbox is written first, then the outbox is produced and flushed,
/// then the state is written again with an empty outbox. A restart that finds a non-empty outbox
/// reads the output topics from `outputMarks` (their ends before the outbox was produced) and
/// produces only the messages whose ids are not there yet — so a crash at any point neither loses
/// nor duplicates an alert or a drift event.
struct AggregatorState: Codable, Equatable {
    var releasedThrough: Int64
    /// `WindowScorer.snapshot()`.
    var scorer: Data
    var outbox: [OutboxMessage]
    /// Topic → partition → high watermark, taken before the outbox was produced.
    var outputMarks: [String: [Int32: Int64]]
    /// Table → the last repartition command the closed loop sent for it. Stored with the outbox
    /// that carries it, so a restart knows it was sent and does not send it again.
    var commands: [String: SentCommand] = [:]
    /// Table → its planning schedule's progress, including the windows this state scored.
    var planning: [String: PlanningSchedule.Progress] = [:]

    init(releasedThrough: Int64, scorer: Data, outbox: [OutboxMessage], outputMarks: [String: [Int32: Int64]], commands: [String: SentCommand] = [:],
         planning: [String: PlanningSchedule.Progress] = [:]) {
        self.releasedThrough = releasedThrough; self.scorer = scorer; self.outbox = outbox; self.outputMarks = outputMarks; self.commands = commands
        self.planning = planning
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        releasedThrough = try container.decode(Int64.self, forKey: .releasedThrough)
        scorer = try container.decode(Data.self, forKey: .scorer)
        outbox = try container.decode([OutboxMessage].self, forKey: .outbox)
        outputMarks = try container.decode([String: [Int32: Int64]].self, forKey: .outputMarks)
        // States stored before the closed loop have none.
        commands = try container.decodeIfPresent([String: SentCommand].self, forKey: .commands) ?? [:]
        planning = try container.decodeIfPresent([String: PlanningSchedule.Progress].self, forKey: .planning) ?? [:]
    }
}

/// A repartition command the closed loop sent: its id, and the status topic's ends before it was
/// sent (its statuses are all after them). `ended` once the status topic showed a final state.
struct SentCommand: Codable, Equatable {
    var id: String
    var statusMarks: [Int32: Int64]
    var ended: String?
}

struct OutboxMessage: Codable, Equatable {
    var topic: String
    var key: String
    var id: String
    var value: Data
}
