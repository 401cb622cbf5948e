import DriftlineDrift
import DriftlineProfiling

/// One instance's view of one source: records in, partial window profiles out. Pure (no Kafka):
/// the service feeds it what the consumer delivers and publishes what it returns.
public struct SourceWindowing {
    public let topic: String
    public let eventTime: DetectorConfiguration.EventTime
    public let profileConfiguration: ProfileConfiguration
    private(set) var windows: TumblingWindows
    /// Open windows, one profile per partition: a partition's part of a window is then the same
    /// whichever instance owns it, so partials merge identically across rebalances and restarts.
    private var open: [Int64: [Int32: Slot]] = [:]
    /// The slot the previous record went to: records come in runs of one partition and window,
    /// so most records skip the dictionary lookups.
    private var current: (start: Int64, partition: Int32, slot: Slot)?
    /// Indexed by partition number: the offset after the last one ingested, -1 for a partition
    /// with none (an array: a dictionary lookup per record showed in the lanes' profile).
    private var nextOffsets: [Int64] = []
    private let scanner: JSONScanner
    /// The event-time field's path as the scanner spells it (compared without building strings).
    private let eventTimePath: [UInt8]
    /// Per field path hash, the most registers its distinct sketch set in the windows closed last:
    /// the next windows' sketches start at that size (replaced at every close, so bounded by the
    /// configuration's fields, not by history).
    private var distinctHints: [UInt64: Int] = [:]
    /// Records that could not be scanned, by reason (also counted in each window's profile).
    public private(set) var malformed: [ScanErrorReason: Int64] = [:]
    /// Records whose event time could not be read (missing or unparsable time field).
    public private(set) var missingEventTime: Int64 = 0

    /// One partition's part of one open window, and the offsets it covers.
    private final class Slot {
        let profile: WindowProfile
        let first: Int64
        var last: Int64
        init(_ profile: WindowProfile, offset: Int64) {
            self.profile = profile
            first = offset
            last = offset
        }
    }

    public enum Outcome: Equatable {
        case profiled(windowStart: Int64)
        case late(windowStart: Int64)
        /// Count it and sample it to the dead-letter topic.
        case malformed(ScanError)
    }

    /// A window this instance closed: one partial profile per partition it owns that had records.
    public struct ClosedWindow {
        public var start: Int64
        public var end: Int64
        /// Ascending by partition.
        public var partitions: [(partition: Int32, profile: WindowProfile)]

        /// All partitions merged in partition order.
        public var profile: WindowProfile {
            do { return try .merging(partitions.map(\.profile), configuration: partitions[0].profile.configuration) } catch {
                preconditionFailure("one SourceWindowing profiles every partition with one configuration: \(error)")
            }
        }
    }

    public init(topic: String, eventTime: DetectorConfiguration.EventTime, windows: TumblingWindows, profile: ProfileConfiguration = ProfileConfiguration()) {
        self.topic = topic
        self.eventTime = eventTime
        self.windows = windows
        profileConfiguration = profile
        scanner = JSONScanner(options: profile.scannerOptions)
        if case let .field(path, _) = eventTime { eventTimePath = Array(path.utf8) } else { eventTimePath = [] }
    }

    public mutating func ingest(_ record: UnsafeRawBufferPointer, partition: Int32, offset: Int64, kafkaTimestamp: Int64?, now: Int64) -> Outcome {
        let index = Int(partition)
        nextOffsets.extend(toInclude: index, with: -1)
        if offset + 1 > nextOffsets[index] { nextOffsets[index] = offset + 1 }
        let scanned: ScanError?
        do { try scanner.scan(record); scanned = nil } catch { scanned = error }
        let time: Int64
        switch eventTime {
        case .processing: time = now
        case .kafka: time = kafkaTimestamp ?? now
        case let .field(_, unit):
            if scanned == nil, let value = Self.time(in: scanner, path: eventTimePath, unit: unit) {
                time = value
            } else {
                // No event time of its own: count it in the partition's current window. Kafka time
                // may be far from the field's time and would move the watermark.
                if scanned == nil { missingEventTime += 1 }
                time = windows.watermark(of: partition) ?? kafkaTimestamp ?? now
            }
        }
        let start: Int64
        switch windows.place(partition: partition, time: time, now: now) {
        case let .late(windowStart): return .late(windowStart: windowStart)
        case let .window(windowStart): start = windowStart
        }
        let slot: Slot
        if let current, current.start == start, current.partition == partition {
            slot = current.slot
        } else if let existing = open[start]?[partition] {
            slot = existing
        } else {
            let profile = WindowProfile(configuration: profileConfiguration)
            profile.distinctHints = distinctHints
            slot = Slot(profile, offset: offset)
            open[start, default: [:]][partition] = slot
        }
        current = (start, partition, slot)
        slot.last = max(slot.last, offset)
        let window = slot.profile
        if let scanned {
            malformed[scanned.reason, default: 0] += 1
            window.countMalformed(scanned)
            return .malformed(scanned)
        }
        window.addScanned(scanner, eventTime: time)
        return .profiled(windowStart: start)
    }

    /// Whether `closeReady(now:)` would close a window.
    public func hasReadyWindows(now: Int64) -> Bool { windows.hasReady(now: now) }

    /// Windows the watermark has passed, with their partial profiles, oldest first.
    public mutating func closeReady(now: Int64) -> [ClosedWindow] {
        let closed: [ClosedWindow] = windows.closeReady(now: now).compactMap { start in
            open.removeValue(forKey: start).map { parts in
                ClosedWindow(start: start, end: start + windows.size, partitions: parts.sorted { $0.key < $1.key }.map { partition, slot in
                    slot.profile.cover(topic: topic, partition: partition, offset: slot.first)
                    slot.profile.cover(topic: topic, partition: partition, offset: slot.last)
                    return (partition, slot.profile)
                })
            }
        }
        if let current, open[current.start] == nil { self.current = nil }
        if !closed.isEmpty {
            var hints: [UInt64: Int] = [:]
            for window in closed {
                for (_, profile) in window.partitions {
                    for size in profile.distinctSizes { hints[size.pathHash] = max(hints[size.pathHash] ?? 0, size.registers) }
                }
            }
            distinctHints = hints
        }
        return closed
    }

    /// Where each partition may be committed: the first offset still needed by an open window, or
    /// just past the last record when none is open. Committing there (with the outputs of closed
    /// windows, in one transaction) means a restart re-reads exactly the records of open windows.
    public var commitPositions: [Int32: Int64] {
        var positions: [Int32: Int64] = [:]
        for (partition, next) in nextOffsets.enumerated() where next >= 0 { positions[Int32(partition)] = next }
        for parts in open.values {
            for (partition, slot) in parts { positions[partition] = min(positions[partition] ?? slot.first, slot.first) }
        }
        return positions
    }

    /// Everything ending at or before this is closed; store it with the outputs to resume after a restart.
    public var closedThrough: Int64 { windows.closedThrough }

    /// The partitions this instance owns. After a rebalance the service starts a fresh
    /// `SourceWindowing` (keeping `closedThrough`) and re-reads from the committed positions: open
    /// windows hold records of partitions that may have moved, and sketches cannot subtract them.
    public mutating func assign(_ partitions: [Int32], now: Int64) { windows.assign(partitions, now: now) }

    /// Windows still open here (their records are re-read after a restart).
    public var openWindowCount: Int { open.count }

    public var lateRecords: Int64 { windows.lateRecords }

    static func time(in scanner: JSONScanner, path: [UInt8], unit: DetectorConfiguration.TimeUnit) -> Int64? {
        for index in 0..<scanner.count {
            let leaf = scanner[index]
            guard scanner.path(of: leaf).elementsEqual(path) else { continue }
            switch (leaf.type, unit) {
            case (.integer, .milliseconds), (.float, .milliseconds): return Int64(leaf.number)
            case (.integer, .seconds), (.float, .seconds): return Int64((leaf.number * 1000).rounded())
            case (.string, .rfc3339): return RFC3339.epochMilliseconds(scanner.string(of: leaf))
            default: return nil
            }
        }
        return nil
    }
}
