import DriftlineDetector
import DriftlineKafka
import DriftlineProfiling
import DriftlineServiceRuntime

/// One worker's share of a source: the partitions `partition % lanes == index`, windowed and
/// profiled on its own core. The loop copies each batch's records into the lanes, runs the lanes
/// concurrently, then reads their outcomes back on its own thread.
///
/// `@unchecked Sendable`: a lane is touched by exactly one thread at a time — the loop between
/// batches, one worker of `DispatchQueue.concurrentPerform` during `process`.
final class ProfilingLane: @unchecked Sendable {
    var windowing: SourceWindowing
    private var buffer: [UInt8] = []
    private var entries: [Entry] = []
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
    }

    init(windowing: SourceWindowing) { self.windowing = windowing }

    var isEmpty: Bool { entries.isEmpty }

    /// Copies the record out of librdkafka's buffer (the view is only valid during the poll).
    func enqueue(partition: Int32, offset: Int64, timestamp: Int64?, value: UnsafeRawBufferPointer) {
        entries.append(Entry(partition: partition, offset: offset, timestamp: timestamp, start: buffer.count, count: value.count))
        buffer.append(contentsOf: value)
    }

    /// Forgets queued records of revoked partitions: their new owner re-reads them.
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

    func process(now: Int64) {
        let start = threadCPUSeconds()
        defer { profileCPU += threadCPUSeconds() - start }
        buffer.withUnsafeBytes { bytes in
            for entry in entries {
                let record = UnsafeRawBufferPointer(rebasing: bytes[entry.start..<entry.start + entry.count])
                switch windowing.ingest(record, partition: entry.partition, offset: entry.offset, kafkaTimestamp: entry.timestamp, now: now) {
                case .profiled: break
                case .late: late += 1
                case let .malformed(error):
                    malformed.append(Malformed(partition: entry.partition, offset: entry.offset, timestamp: entry.timestamp, error: error, record: Array(record)))
                }
            }
        }
        entries.removeAll(keepingCapacity: true)
        buffer.removeAll(keepingCapacity: true)
    }
}
