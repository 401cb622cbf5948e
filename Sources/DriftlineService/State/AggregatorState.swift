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
}

struct OutboxMessage: Codable, Equatable {
    var topic: String
    var key: String
    var id: String
    var value: Data
}
