import DriftlineDetector
import DriftlineProfiling
import DriftlineSampleData
import Foundation
import Testing

/// A crash between two batches, then a restart from what the last transaction committed (input
/// commit positions, the profiles log and its commit position, the closed and released markers):
/// the windows released after the restart are exactly those of an uninterrupted run, none twice.
@Suite(.timeLimit(.minutes(10)))
struct RestartTests {
    struct Record { var partition: Int32; var offset: Int64; var bytes: [UInt8] }

    static let records: [Record] = {
        var result: [Record] = []
        var offsets = [Int64](repeating: 0, count: 3)
        var random = SeededRandom(seed: 9)
        DriftDataset(records: 9_000).forEachRecord { index, record in
            let partition = Int32(random.next() % 3)
            result.append(Record(partition: partition, offset: offsets[Int(partition)], bytes: Array(record)))
            offsets[Int(partition)] += 1
        }
        return result
    }()

    /// What a committed transaction leaves behind.
    struct Committed {
        var inputPositions: [Int32: Int64] = [:]
        var profilesLog: [(window: Int64, bytes: [UInt8])] = []
        var profilesPosition = 0
        var closedThrough: Int64 = .min
        var releasedThrough: Int64 = .min
        var released: [(start: Int64, bytes: [UInt8])] = []
    }

    /// Runs from `state` to the end, or until `crashAfter` batches; returns the committed state.
    static func run(from state: Committed, crashAfter: Int? = nil) throws -> Committed {
        var committed = state
        var windowing = SourceWindowing(topic: "orders", eventTime: .field(path: "ts", unit: .milliseconds),
                                        windows: TumblingWindows(size: 5_000, allowedLateness: 500, closedThrough: state.closedThrough))
        var aggregator = PartialAggregator(partitionCount: 3, timeout: 60_000, releasedThrough: state.releasedThrough)
        // Partials produced but not yet released are re-read from the profiles log.
        for entry in state.profilesLog[state.profilesPosition...] {
            try aggregator.add(windowStart: entry.window, partial: WindowProfile(encoded: entry.bytes), partitions: [0, 1, 2], now: 0)
        }
        var profilesLog = state.profilesLog
        var released = state.released
        // Input is re-read from the committed positions.
        let pending = records.filter { $0.offset >= (state.inputPositions[$0.partition] ?? 0) }
        var batches = 0
        for batch in stride(from: 0, to: pending.count, by: 400).map({ Array(pending[$0..<min($0 + 400, pending.count)]) }) {
            for record in batch {
                _ = record.bytes.withUnsafeBytes { windowing.ingest($0, partition: record.partition, offset: record.offset, kafkaTimestamp: nil, now: 0) }
            }
            for closed in windowing.closeReady(now: 0) {
                let bytes = closed.profile.encoded()
                profilesLog.append((closed.start, bytes))
                try aggregator.add(windowStart: closed.start, partial: WindowProfile(encoded: bytes), partitions: [0, 1, 2], now: 0)
            }
            for window in aggregator.ready(now: 0) { released.append((window.start, window.profile.encoded())) }
            // The transaction commits: outputs, input positions, profiles position, markers.
            batches += 1
            committed.inputPositions = windowing.commitPositions
            committed.profilesLog = profilesLog
            committed.profilesPosition = profilesLog.firstIndex { $0.window > aggregator.releasedThrough } ?? profilesLog.count
            committed.closedThrough = windowing.closedThrough
            committed.releasedThrough = aggregator.releasedThrough
            committed.released = released
            if let crashAfter, batches == crashAfter { return committed }
        }
        return committed
    }

    @Test(arguments: [1, 4, 9, 13])
    func restartAfterACrashReleasesEveryWindowOnce(crashAfter: Int) throws {
        let uninterrupted = try Self.run(from: Committed())
        #expect(uninterrupted.released.count >= 15, "\(uninterrupted.released.count) windows")
        let beforeCrash = try Self.run(from: Committed(), crashAfter: crashAfter)
        #expect(beforeCrash.released.count < uninterrupted.released.count, "the crash happens mid-stream")
        let afterRestart = try Self.run(from: beforeCrash)
        #expect(afterRestart.released.map(\.start) == uninterrupted.released.map(\.start), "every window once, in order")
        for (restarted, original) in zip(afterRestart.released, uninterrupted.released) {
            #expect(restarted.bytes == original.bytes, "window \(restarted.start) has the same profile")
        }
    }
}

/// The scorer's state (reference, history, alert states) survives a restart through `snapshot()`:
/// a scorer restored mid-stream emits exactly what an uninterrupted one does.
@Suite(.timeLimit(.minutes(10)))
struct ScorerSnapshotTests {
    static func windows() -> [WindowProfile] {
        var windowing = SourceWindowing(topic: "orders", eventTime: .field(path: "ts", unit: .milliseconds),
                                        windows: TumblingWindows(size: 5_000))
        var result: [WindowProfile] = []
        DriftDataset(records: 12_000, driftFraction: 0.4).forEachRecord { _, record in
            _ = windowing.ingest(record, partition: 0, offset: 0, kafkaTimestamp: nil, now: 0)
            result += windowing.closeReady(now: 0).map(\.profile)
        }
        return result
    }

    @Test(arguments: [3, 7, 14, 18, 21])
    func restoredScorerContinuesExactly(restartAt: Int) throws {
        var source = DetectorConfiguration.Source(topic: "orders")
        source.weights = ["ts": [.distribution: 0], "event_id": [.distribution: 0]]
        let profiles = Self.windows()
        #expect(profiles.count >= 20)
        func score(_ scorer: inout WindowScorer, _ index: Int) throws -> [String] {
            let start = Int64(index) * 5_000
            let result = try scorer.score(windowStart: start, windowEnd: start + 5_000, profile: profiles[index], now: start + 6_000)
            return result.alerts.map(\.id) + result.events.map(\.id) + [result.score.map { String($0.score) } ?? "warm-up"]
        }
        var uninterrupted = WindowScorer(source: source, reference: .first(windows: 5))
        let expected = try profiles.indices.flatMap { try score(&uninterrupted, $0) }
        #expect(expected.contains { $0.count == 32 }, "the stream produces alerts or events")

        var first = WindowScorer(source: source, reference: .first(windows: 5))
        var outputs = try (0..<restartAt).flatMap { try score(&first, $0) }
        var restored = try WindowScorer(source: source, reference: .first(windows: 5), restoring: first.snapshot())
        outputs += try (restartAt..<profiles.count).flatMap { try score(&restored, $0) }
        #expect(outputs == expected)
    }

    /// Restored after every window of a longer stream (change detectors fire and reset, holding
    /// infinities): every snapshot encodes, and the chain of restores emits what one scorer does.
    @Test func snapshotAfterEveryWindowIncludingDetectorResets() throws {
        var windowing = SourceWindowing(topic: "orders", eventTime: .field(path: "ts", unit: .milliseconds), windows: TumblingWindows(size: 10_000))
        var profiles: [WindowProfile] = []
        DriftDataset(records: 24_000, driftFraction: 0.4).forEachRecord { _, record in
            _ = windowing.ingest(record, partition: 0, offset: 0, kafkaTimestamp: nil, now: 0)
            profiles += windowing.closeReady(now: 0).map(\.profile)
        }
        var source = DetectorConfiguration.Source(topic: "orders")
        source.weights = ["ts": [.distribution: 0], "event_id": [.distribution: 0]]
        var uninterrupted = WindowScorer(source: source, reference: .first(windows: 5))
        var chained = WindowScorer(source: source, reference: .first(windows: 5))
        for (index, profile) in profiles.enumerated() {
            let start = Int64(index) * 10_000
            let expected = try uninterrupted.score(windowStart: start, windowEnd: start + 10_000, profile: profile, now: 0)
            let actual = try chained.score(windowStart: start, windowEnd: start + 10_000, profile: profile, now: 0)
            #expect(actual.alerts == expected.alerts, "window \(index)")
            #expect(actual.events == expected.events, "window \(index): \(actual.events.map(\.id)) vs \(expected.events.map(\.id)) \(zip(actual.events, expected.events).filter { $0 != $1 }.map { "\($0.metrics) vs \($1.metrics)" })")
            #expect(actual.score?.score == expected.score?.score, "window \(index)")
            chained = try WindowScorer(source: source, reference: .first(windows: 5), restoring: chained.snapshot())
        }
    }
}
