import DriftlineDetector
import DriftlineKafka
import DriftlineMessages
import DriftlineProfiling
import DriftlineServiceRuntime
import Foundation

/// One watched source topic on this instance: the partitions it owns, their profiling lanes, the
/// dead-letter budget, and batch counters. No I/O: it takes assignments, revocations and records,
/// and returns what to publish (partials of closed windows, dead letters) and where each owned
/// partition may be committed; the loop sends, flushes and commits.
final class SourceSide {
    let source: DetectorConfiguration.Source
    let partitionCount: Int32
    /// Partition `p` is profiled by `lanes[p % lanes.count]`.
    let lanes: [ProfilingLane]
    private(set) var assigned: Set<Int32> = []
    private var deadLetterBudget: DeadLetterBudget
    private let makeWindowing: (_ closedThrough: Int64) -> SourceWindowing

    /// Counted since the last `takeCounters()`.
    struct Counters {
        var records: Int64 = 0
        var bytes: Int64 = 0
        var late: Int64 = 0
        var malformed: [String: Int64] = [:]
        var deadLetters = 0
        /// CPU seconds the lanes spent profiling, and closing windows and encoding their partials.
        var profileCPU = 0.0
        var encodeCPU = 0.0
    }
    private var counters = Counters()
    /// Since start, for the average record size.
    private var totalRecords: Int64 = 0
    private var totalBytes: Int64 = 0

    init(source: DetectorConfiguration.Source, partitionCount: Int32, workers: Int, deadLetterBudget: DeadLetterBudget,
         makeWindowing: @escaping (_ closedThrough: Int64) -> SourceWindowing) {
        self.source = source
        self.partitionCount = partitionCount
        self.deadLetterBudget = deadLetterBudget
        self.makeWindowing = makeWindowing
        lanes = (0..<max(workers, 1)).map { ProfilingLane(windowing: makeWindowing(.min), index: $0) }
    }

    func lane(_ partition: Int32) -> ProfilingLane { lanes[Int(partition) % lanes.count] }

    var averageRecordBytes: Double { totalRecords > 0 ? Double(totalBytes) / Double(totalRecords) : 0 }

    func assign(_ partitions: [Int32], now: Int64) {
        assigned.formUnion(partitions)
        for partition in partitions { lane(partition).windowing.assign([partition], now: now) }
    }

    /// Rebalances are eager: open windows hold records of partitions that may move, and sketches
    /// cannot subtract them, so every lane starts afresh (keeping what it closed) and the partitions
    /// still owned are re-read from their committed positions.
    func revoke(_ revoked: Set<TopicPartition>, now: Int64) {
        let lost = assigned.filter { revoked.contains(TopicPartition(source.topic, $0)) }
        guard !lost.isEmpty else { return }
        assigned.subtract(lost)
        for lane in lanes {
            lane.discard(lost)
            lane.windowing = makeWindowing(lane.windowing.closedThrough)
        }
        for partition in assigned { lane(partition).windowing.assign([partition], now: now) }
    }

    func enqueue(_ message: KafkaMessageView) {
        enqueue(partition: message.partition, offset: message.offset, timestamp: message.timestamp.milliseconds, value: message.value)
    }

    /// A record without a value (a tombstone) is counted, not profiled.
    func enqueue(partition: Int32, offset: Int64, timestamp: Int64?, value: UnsafeRawBufferPointer?) {
        counters.records += 1
        guard let value else { return }
        counters.bytes += Int64(value.count)
        lane(partition).enqueue(partition: partition, offset: offset, timestamp: timestamp, value: value)
    }

    /// After the lanes profiled a batch: the malformed records to sample to the dead-letter topic
    /// (at most the budget per window of arrival; all are counted).
    func takeDeadLetters(now: Int64) -> [DeadLetterMessage] {
        var letters: [DeadLetterMessage] = []
        for lane in lanes {
            let outcomes = lane.takeOutcomes()
            counters.late += outcomes.late
            counters.profileCPU += outcomes.cpu
            for bad in outcomes.malformed {
                counters.malformed[bad.error.reason.rawValue, default: 0] += 1
                guard deadLetterBudget.admit(arrivedAt: bad.timestamp ?? now) else { continue }
                letters.append(DeadLetterMessage(
                    topic: source.topic, partition: bad.partition, offset: bad.offset, reason: bad.error.reason.rawValue,
                    byteOffset: bad.error.offset, record: bad.record, emittedAt: now))
            }
        }
        counters.deadLetters += letters.count
        return letters
    }

    /// Partials of the windows the watermark passed: one per owned partition, empty for those
    /// without records (so the aggregator need not wait for its timeout), in lane then partition
    /// order. Each lane encodes its own on its core (encoding was a tenth of the detector's CPU, all
    /// on the loop's thread).
    func closeReadyWindows(now: Int64) -> [PartialProfileMessage] {
        let owned = assigned
        let lanes = lanes
        let (topic, partitionCount) = (source.topic, partitionCount)
        if lanes.count > 1, lanes.contains(where: { $0.windowing.hasReadyWindows(now: now) }) {
            DispatchQueue.concurrentPerform(iterations: lanes.count) { index in
                lanes[index].closeReadyWindows(now: now, topic: topic, partitionCount: partitionCount, owned: owned, lane: index, of: lanes.count)
            }
        } else {
            for (index, lane) in lanes.enumerated() {
                lane.closeReadyWindows(now: now, topic: topic, partitionCount: partitionCount, owned: owned, lane: index, of: lanes.count)
            }
        }
        var partials: [PartialProfileMessage] = []
        for lane in lanes {
            let closed = lane.takeClosed()
            partials += closed.partials
            counters.encodeCPU += closed.cpu
        }
        if !partials.isEmpty { deadLetterBudget.windowsClosed(now: now) }
        return partials
    }

    /// Owned partitions at the first offset an open window still needs (or past the last record).
    var commitPositions: [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        for lane in lanes {
            for (partition, offset) in lane.windowing.commitPositions where assigned.contains(partition) {
                result[TopicPartition(source.topic, partition)] = offset
            }
        }
        return result
    }

    func takeCounters() -> Counters {
        defer { counters = Counters() }
        totalRecords += counters.records
        totalBytes += counters.bytes
        return counters
    }
}
