import DriftlineDetector
import DriftlineDrift
import DriftlineMessages
import DriftlineMetadata
import DriftlineProfiling

/// One watched source topic on this instance: its profiling lanes, the partitions it owns, and
/// batch-local counters the loop flushes to metrics once per batch.
final class SourceRuntime {
    let source: DetectorConfiguration.Source
    let partitionCount: Int32
    /// Partition `p` is profiled by `lanes[p % lanes.count]`.
    var lanes: [ProfilingLane]
    var assigned: Set<Int32> = []
    var deadLetterBudget: DeadLetterBudget
    // Batch-local counters, flushed to metrics once per batch.
    var records: Int64 = 0
    var bytes: Int64 = 0
    var late: Int64 = 0
    var malformed: [String: Int64] = [:]
    var deadLetters = 0
    /// Since start, for the average record size.
    var totalRecords: Int64 = 0
    var totalBytes: Int64 = 0

    init(source: DetectorConfiguration.Source, partitionCount: Int32, lanes: [ProfilingLane], deadLetterBudget: DeadLetterBudget) {
        self.source = source
        self.partitionCount = partitionCount
        self.lanes = lanes
        self.deadLetterBudget = deadLetterBudget
    }

    func lane(_ partition: Int32) -> ProfilingLane { lanes[Int(partition) % lanes.count] }

    var averageRecordBytes: Double { totalRecords > 0 ? Double(totalBytes) / Double(totalRecords) : 0 }
}

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
    /// Partials of windows this source had already scored (a new consumer group, or a reset
    /// offset, re-reads them): counted, and logged once.
    var skippedRecords: Int64 = 0
    var skippedWindows: Set<Int64> = []
}

/// A window scored in this batch, kept until its metadata is written.
struct ScoredWindow {
    var start: Int64
    var profile: WindowProfile
    var score: SourceScore?
    var events: [DriftEventMessage]
    var complete: Bool
}
