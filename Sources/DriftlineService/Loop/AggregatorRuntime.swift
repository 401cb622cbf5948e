import DriftlineDetector
import DriftlineDrift
import DriftlineMessages
import DriftlineMetadata
import DriftlineProfiling

/// The aggregator of one source on the instance that holds its lease: the delivery machine, the
/// merge of partials, the scorer, and what the profiles topic may be committed to.
struct AggregatorRuntime {
    var delivery: AggregatorDelivery
    var aggregator: PartialAggregator
    var scorer: WindowScorer
    var prediction: PredictionSchedule
    var profilesPartition: Int32
    /// Window start → offsets (on `profilesPartition`) of the partials merged into it.
    var pendingOffsets: [Int64: [Int64]] = [:]
    var schema: [InferredField]?
    /// Records in partials of windows this source had already scored (a new consumer group, or a
    /// reset offset, re-reads them): counted, and logged the first time.
    var skippedRecords: Int64 = 0
    /// The closed loop, per table this source feeds: when to plan it.
    var planning: [String: PlanningSchedule] = [:]
    /// The last source scores, oldest first (the drift forecast's input).
    var recentScores: [Double] = []
    /// The most confident change of the last schema prediction.
    var schemaChange: (path: String, confidence: Double)?
    /// Table → the last command sent for it (stored with the state).
    var commands: [String: SentCommand] = [:]
}

/// A window scored in this batch, kept until its metadata is written.
struct ScoredWindow {
    var start: Int64
    var profile: WindowProfile
    var score: SourceScore?
    var events: [DriftEventMessage]
    var complete: Bool
}
