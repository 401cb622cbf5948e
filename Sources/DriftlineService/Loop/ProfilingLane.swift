import DriftlineDetector
import DriftlineKafka
import DriftlineProfiling
import DriftlineServiceRuntime
import Foundation

/// One worker's share of a source: the partitions `partition % lanes == index`, windowed and
/// profiled on its own core. The loop copies a batch's records into the lanes' incoming buffers,
/// then hands that batch to the lanes (`startProcessing`) and polls the next one while they
/// profile it: polling and profiling overlap instead of taking turns.
///
/// `@unchecked Sendable`: while a batch is in flight the lane's worker owns `windowing`, the
/// batch being processed and the outcomes; the loop touches only the incoming buffers, and waits
/// for the lane's group before it reads anything else (`DetectorLoop.finishProfiling`).
final class ProfilingLane: @unchecked Sendable {
    var windowing: SourceWindowing
    /// The next batch, filled by the loop while the previous one is processed.
    private var buffer: [UInt8] = []
    private var entries: [Entry] = []
    /// The batch in flight (swapped with the incoming buffers, so neither reallocates).
    private var processingBuffer: [UInt8] = []
    private var processingEntries: [Entry] = []
    private var processingNow: Int64 = 0
    /// The batch's entries in processing order: grouped by partition, each partition's in offset order.
    private var order: [Int32] = []
    /// Indexed by partition number (partitions are 0 ..< count, so arrays, not dictionaries: four
    /// hash lookups per record were a percent of the lane's CPU): each partition's records in the
    /// batch, then where its run continues in `order`; -1 before its first record (reused).
    private var partitionCounts: [Int] = []
    private var runStarts: [Int] = []
    private let queue: DispatchQueue
    /// Outcomes of `process` not yet taken.
    private var late: Int64 = 0
    private var malformed: [Malformed] = []
    /// CPU seconds `process` has used on whichever core ran it, since the last `takeOutcomes`.
    private var profileCPU = 0.0
    /// Partials `closeReadyWindows` made and the CPU seconds it took, until `takeClosed`.
    private var closed: [PartialProfileMessage] = []
    private var closeCPU = 0.0

    struct Entry {
        var partition: Int32
        var offset: Int64
        var timestamp: Int64?
        var start: Int
        var count: Int
    }

    struct Malformed {
        var partition: Int32
        var offset: Int64
        var timestamp: Int64?
        var error: ScanError
        var record: [UInt8]
        /// Where it was in its batch.
        var position: Int
    }

    init(windowing: SourceWindowing, index: Int) {
        self.windowing = windowing
        // Its own serial queue on Dispatch's threads, never Swift's cooperative pool: profiling a
        // batch is tens of milliseconds of CPU.
        queue = DispatchQueue(label: "driftline.lane.\(index)", qos: .userInitiated)
    }

    var isEmpty: Bool { entries.isEmpty }

    /// Copies the record out of librdkafka's buffer (the view is only valid during the poll).
    func enqueue(partition: Int32, offset: Int64, timestamp: Int64?, value: UnsafeRawBufferPointer) {
        entries.append(Entry(partition: partition, offset: offset, timestamp: timestamp, start: buffer.count, count: value.count))
        buffer.append(contentsOf: value)
    }

    /// Forgets queued records of revoked partitions: their new owner re-reads them. Only with no
    /// batch in flight.
    func discard(_ partitions: Set<Int32>) {
        entries.removeAll { partitions.contains($0.partition) }
    }

    /// Late records, malformed records and the profiling CPU seconds since the last call.
    func takeOutcomes() -> (late: Int64, malformed: [Malformed], cpu: Double) {
        defer {
            late = 0
            malformed.removeAll(keepingCapacity: true)
            profileCPU = 0
        }
        return (late, malformed, profileCPU)
    }

    /// Closes the windows the watermark passed and encodes their partials: one per partition of
    /// `owned` this lane (`lane` of `count`) profiles, empty for those without records, by partition.
    func closeReadyWindows(now: Int64, topic: String, partitionCount: Int32, owned: Set<Int32>, lane: Int, of count: Int) {
        let start = threadCPUSeconds()
        defer { closeCPU += threadCPUSeconds() - start }
        for window in windowing.closeReady(now: now) {
            var parts = Dictionary(uniqueKeysWithValues: window.partitions.map { ($0.partition, $0.profile) })
            for partition in owned where Int(partition) % count == lane && parts[partition] == nil {
                parts[partition] = WindowProfile(configuration: windowing.profileConfiguration)
            }
            for (partition, profile) in parts.sorted(by: { $0.key < $1.key }) {
                closed.append(PartialProfileMessage(
                    source: topic, windowStart: window.start, windowEnd: window.end,
                    partitionCount: partitionCount, partitions: [partition], profile: profile.encoded()))
            }
        }
    }

    func takeClosed() -> (partials: [PartialProfileMessage], cpu: Double) {
        defer {
            closed = []
            closeCPU = 0
        }
        return (closed, closeCPU)
    }

    /// Hands the incoming batch to the lane's worker; `group` is left when it is profiled.
    func startProcessing(now: Int64, group: DispatchGroup) {
        swap(&buffer, &processingBuffer)
        swap(&entries, &processingEntries)
        processingNow = now
        queue.async(group: group) { self.process() }
    }

    /// Orders the batch by partition, keeping each partition's records in their order. A batch
    /// interleaves partitions (librdkafka hands over fetched message sets as they arrive); profiling
    /// one partition's run at a time keeps that partition's open-window sketches in cache instead of
    /// touching another partition's on nearly every record. Per partition nothing changes: windows,
    /// watermarks and lateness depend on a partition's own records and on what closed before the
    /// batch, never on how partitions interleave within it.
    private func groupByPartition() {
        order.removeAll(keepingCapacity: true)
        let partitions = Int(processingEntries.lazy.map(\.partition).max() ?? -1) + 1
        partitionCounts.removeAll(keepingCapacity: true)
        partitionCounts.append(contentsOf: repeatElement(0, count: partitions))
        runStarts.removeAll(keepingCapacity: true)
        runStarts.append(contentsOf: repeatElement(-1, count: partitions))
        // Counting sort, partitions in order of first appearance.
        for entry in processingEntries { partitionCounts[Int(entry.partition)] += 1 }
        var next = 0
        for entry in processingEntries where runStarts[Int(entry.partition)] < 0 {
            runStarts[Int(entry.partition)] = next
            next += partitionCounts[Int(entry.partition)]
        }
        order.append(contentsOf: repeatElement(0, count: processingEntries.count))
        for (index, entry) in processingEntries.enumerated() {
            let slot = runStarts[Int(entry.partition)]
            order[slot] = Int32(index)
            runStarts[Int(entry.partition)] = slot + 1
        }
    }

    private func process() {
        let start = threadCPUSeconds()
        defer { profileCPU += threadCPUSeconds() - start }
        let now = processingNow
        groupByPartition()
        let firstMalformed = malformed.count
        processingBuffer.withUnsafeBytes { bytes in
            for position in order {
                let entry = processingEntries[Int(position)]
                let record = UnsafeRawBufferPointer(rebasing: bytes[entry.start..<entry.start + entry.count])
                switch windowing.ingest(record, partition: entry.partition, offset: entry.offset, kafkaTimestamp: entry.timestamp, now: now) {
                case .profiled: break
                case .late: late += 1
                case let .malformed(error):
                    malformed.append(Malformed(partition: entry.partition, offset: entry.offset, timestamp: entry.timestamp, error: error, record: Array(record),
                                               position: Int(position)))
                }
            }
        }
        // Back in the order they were consumed, so dead letters are sampled as if nothing was grouped.
        malformed[firstMalformed...].sort { $0.position < $1.position }
        processingEntries.removeAll(keepingCapacity: true)
        processingBuffer.removeAll(keepingCapacity: true)
    }
}
