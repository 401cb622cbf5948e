import DriftlineDrift
import DriftlineProfiling
import Foundation

/// One instance's view of one source: records in, partial window profiles out. Pure (no Kafka):
/// the service feeds it what the consumer delivers and publishes what it returns.
public struct SourceWindowing {
    public let topic: String
    public let eventTime: DetectorConfiguration.EventTime
    public let profileConfiguration: ProfileConfiguration
    private(set) var windows: TumblingWindows
    private var open: [Int64: WindowProfile] = [:]
    /// Per open window, the first offset of each partition that contributed to it.
    private var firstOffsets: [Int64: [Int32: Int64]] = [:]
    /// Per partition, the offset after the last one ingested.
    private var nextOffsets: [Int32: Int64] = [:]
    private let scanner: JSONScanner
    /// Records that could not be scanned, by reason (also counted in each window's profile).
    public private(set) var malformed: [ScanErrorReason: Int64] = [:]
    /// Records whose event time could not be read (missing or unparsable time field).
    public private(set) var missingEventTime: Int64 = 0

    public enum Outcome: Equatable {
        case profiled(windowStart: Int64)
        case late(windowStart: Int64)
        /// Count it and sample it to the dead-letter topic.
        case malformed(ScanError)
    }

    /// A window this instance closed: the partial profile of the partitions it owns.
    public struct ClosedWindow {
        public var start: Int64
        public var end: Int64
        public var profile: WindowProfile
    }

    public init(topic: String, eventTime: DetectorConfiguration.EventTime, windows: TumblingWindows, profile: ProfileConfiguration = ProfileConfiguration()) {
        self.topic = topic
        self.eventTime = eventTime
        self.windows = windows
        profileConfiguration = profile
        scanner = JSONScanner(options: profile.scannerOptions)
    }

    public mutating func ingest(_ record: UnsafeRawBufferPointer, partition: Int32, offset: Int64, kafkaTimestamp: Int64?, now: Int64) -> Outcome {
        nextOffsets[partition] = max(nextOffsets[partition] ?? 0, offset + 1)
        let scanned: ScanError?
        do { try scanner.scan(record); scanned = nil } catch { scanned = error }
        // Malformed records still advance the partition's time (by Kafka time) so windows keep closing.
        let time: Int64
        switch eventTime {
        case .processing: time = now
        case .kafka: time = kafkaTimestamp ?? now
        case let .field(path, unit):
            if scanned == nil, let value = Self.time(in: scanner, path: path, unit: unit) {
                time = value
            } else {
                if scanned == nil { missingEventTime += 1 }
                time = kafkaTimestamp ?? now
            }
        }
        let start: Int64
        switch windows.place(partition: partition, time: time, now: now) {
        case let .late(windowStart): return .late(windowStart: windowStart)
        case let .window(windowStart): start = windowStart
        }
        let window = open[start] ?? WindowProfile(configuration: profileConfiguration)
        open[start] = window
        if firstOffsets[start, default: [:]][partition] == nil { firstOffsets[start, default: [:]][partition] = offset }
        window.cover(topic: topic, partition: partition, offset: offset)
        if let scanned {
            malformed[scanned.reason, default: 0] += 1
            window.countMalformed(scanned)
            return .malformed(scanned)
        }
        window.addScanned(scanner, eventTime: time)
        return .profiled(windowStart: start)
    }

    /// Windows the watermark has passed, with their partial profiles, oldest first.
    public mutating func closeReady(now: Int64) -> [ClosedWindow] {
        windows.closeReady(now: now).compactMap { start in
            firstOffsets.removeValue(forKey: start)
            return open.removeValue(forKey: start).map { ClosedWindow(start: start, end: start + windows.size, profile: $0) }
        }
    }

    /// Where each partition may be committed: the first offset still needed by an open window, or
    /// just past the last record when none is open. Committing there (with the outputs of closed
    /// windows, in one transaction) means a restart re-reads exactly the records of open windows.
    public var commitPositions: [Int32: Int64] {
        var positions = nextOffsets
        for offsets in firstOffsets.values {
            for (partition, offset) in offsets { positions[partition] = min(positions[partition] ?? offset, offset) }
        }
        return positions
    }

    /// Everything ending at or before this is closed; store it with the outputs to resume after a restart.
    public var closedThrough: Int64 { windows.closedThrough }

    public mutating func revoke(_ partitions: [Int32]) { windows.revoke(partitions) }

    public var lateRecords: Int64 { windows.lateRecords }

    static func time(in scanner: JSONScanner, path: String, unit: DetectorConfiguration.TimeUnit) -> Int64? {
        for index in 0..<scanner.count {
            let leaf = scanner[index]
            guard scanner.pathString(of: leaf) == path else { continue }
            switch (leaf.type, unit) {
            case (.integer, .milliseconds), (.float, .milliseconds): return Int64(leaf.number)
            case (.integer, .seconds), (.float, .seconds): return Int64((leaf.number * 1000).rounded())
            case (.string, .rfc3339):
                let text = String(decoding: scanner.string(of: leaf), as: UTF8.self)
                let formatter = ISO8601DateFormatter()
                formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
                formatter.formatOptions = [.withInternetDateTime]
                return formatter.date(from: text).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
            default: return nil
            }
        }
        return nil
    }
}
