/// Tumbling event-time windows with per-partition watermarks. A pure state machine: the detector
/// feeds it each record's partition and time and asks which windows can close.
///
/// A partition's watermark is the largest event time it has delivered. The source's watermark is the
/// smallest of the watermarks of partitions that delivered within `idleTimeout` (processing time), so
/// one quiet partition does not hold every window open forever, and a slow one holds them exactly as
/// long as it can still deliver on time. Window [s, s + size) closes once the watermark reaches
/// s + size + allowedLateness; a record for a window that already closed is late: counted, not profiled.
public struct TumblingWindows: Sendable, Equatable {
    public let size: Int64
    public let allowedLateness: Int64
    public let idleTimeout: Int64

    /// Per partition: its watermark (nil until assigned or on time; `.min` while assigned but
    /// silent) and when it last delivered; indexed by partition number, nil for partitions not
    /// seen or revoked (an array: placing a record is an index, not a hash lookup).
    private var partitions: [PartitionClock?] = []
    /// The window the previous record opened: consecutive records mostly share one.
    private var lastOpened: Int64?

    private struct PartitionClock: Sendable, Equatable {
        var watermark: Int64?
        var lastDelivery: Int64
    }
    /// Windows that received records and have not closed, by start.
    public private(set) var openWindows: Set<Int64> = []
    /// Everything before this (exclusive end of the last closed window) is closed.
    public private(set) var closedThrough: Int64 = .min
    public private(set) var lateRecords: Int64 = 0

    public enum Placement: Equatable, Sendable {
        /// Profile the record into the window starting here.
        case window(start: Int64)
        /// Its window already closed: count it as late.
        case late(windowStart: Int64)
    }

    /// All times in milliseconds. `closedThrough` resumes after a restart: windows ending at or
    /// before it were closed (and published) by a previous run.
    public init(size: Int64, allowedLateness: Int64 = 0, idleTimeout: Int64 = 60_000, closedThrough: Int64 = .min) {
        precondition(size > 0 && allowedLateness >= 0 && idleTimeout > 0)
        self.size = size
        self.allowedLateness = allowedLateness
        self.idleTimeout = idleTimeout
        self.closedThrough = closedThrough
    }

    public func windowStart(_ time: Int64) -> Int64 {
        let remainder = time % size
        return remainder >= 0 ? time - remainder : time - remainder - size
    }

    /// Places one record delivered at processing time `now`.
    public mutating func place(partition: Int32, time: Int64, now: Int64) -> Placement {
        let start = windowStart(time)
        let late = start + size <= closedThrough
        let index = Int(partition)
        partitions.extend(toInclude: index, with: nil)
        if partitions[index] == nil { partitions[index] = PartitionClock(watermark: nil, lastDelivery: now) }
        Self.deliver(&partitions[index]!, time: late ? nil : time, now: now)
        if late {
            lateRecords += 1
            return .late(windowStart: start)
        }
        if lastOpened != start {
            openWindows.insert(start)
            lastOpened = start
        }
        return .window(start: start)
    }

    /// In place (through the dictionary's default subscript): one lookup per record.
    private static func deliver(_ clock: inout PartitionClock, time: Int64?, now: Int64) {
        clock.lastDelivery = now
        if let time { clock.watermark = max(clock.watermark ?? .min, time) }
    }

    /// The largest event time `partition` has delivered, if any.
    public func watermark(of partition: Int32) -> Int64? {
        clock(partition)?.watermark.flatMap { $0 == .min ? nil : $0 }
    }

    /// The source's watermark at processing time `now` (nil before any partition delivered).
    public func watermark(now: Int64) -> Int64? {
        let watermarks = partitions.compactMap { $0 }.filter { $0.watermark != nil }
        let active = watermarks.filter { now - $0.lastDelivery <= idleTimeout }
        // Every partition idle: the freshest watermark is all there is to go on.
        return (active.isEmpty ? watermarks : active).compactMap(\.watermark).min()
    }

    /// Whether `closeReady(now:)` would close a window.
    public func hasReady(now: Int64) -> Bool {
        guard let watermark = watermark(now: now), watermark > .min else { return false }
        return openWindows.contains { $0 + size + allowedLateness <= watermark }
    }

    /// Closes and returns (ascending) the windows the watermark has passed, lateness included.
    public mutating func closeReady(now: Int64) -> [Int64] {
        guard let watermark = watermark(now: now) else { return [] }
        guard watermark > .min else { return [] }
        let ready = openWindows.filter { $0 + size + allowedLateness <= watermark }.sorted()
        for start in ready { openWindows.remove(start) }
        lastOpened = nil
        // Every window ending at or before watermark − lateness is closed, with or without records.
        closedThrough = max(closedThrough, windowStart(watermark - allowedLateness))
        return ready
    }

    /// Newly assigned partitions hold the watermark back until they deliver (or go idle), so a first
    /// batch from one partition cannot close windows that the others still have records for.
    public mutating func assign(_ partitions: [Int32], now: Int64) {
        for partition in partitions where clock(partition)?.watermark == nil {
            self.partitions.extend(toInclude: Int(partition), with: nil)
            self.partitions[Int(partition)] = PartitionClock(watermark: .min, lastDelivery: now)
        }
    }

    /// Partitions moved to another instance stop holding the watermark back.
    public mutating func revoke(_ partitions: [Int32]) {
        for partition in partitions where Int(partition) < self.partitions.count {
            self.partitions[Int(partition)] = nil
        }
        // No trailing empty entries: equal states compare equal however they were reached.
        while let last = self.partitions.last, last == nil { self.partitions.removeLast() }
    }

    private func clock(_ partition: Int32) -> PartitionClock? {
        Int(partition) < partitions.count ? partitions[Int(partition)] : nil
    }
}
