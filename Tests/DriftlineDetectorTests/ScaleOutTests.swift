import DriftlineDetector
import DriftlineMessages
import DriftlineProfiling
import DriftlineSampleData
import Foundation
import Testing

/// The same input through 1, 2 or 3 instances (each owning some partitions, partial profiles merged
/// by the aggregator) must give the same window scores and the same alerts, each exactly once.
@Suite(.timeLimit(.minutes(10)))
struct ScaleOutTests {
    struct Record { var partition: Int32; var offset: Int64; var time: Int64; var bytes: [UInt8] }

    /// 4 partitions, 10-second windows, the drift dataset's records spread by key, event time in `ts`.
    static let records: [Record] = {
        var result: [Record] = []
        var offsets = [Int64](repeating: 0, count: 4)
        DriftDataset(records: 24_000, driftFraction: 0.4).forEachRecord { index, record in
            let partition = Int32(index % 4)
            // ts in the dataset advances 10 ms per record: 24k records span 240 s = 24 windows.
            result.append(Record(partition: partition, offset: offsets[Int(partition)], time: 1_764_000_000_000 + Int64(index) * 10, bytes: Array(record)))
            offsets[Int(partition)] += 1
        }
        return result
    }()

    static func run(instances: Int) throws -> (scores: [Int64: Double], alerts: [AlertMessage], events: [DriftEventMessage], windows: Int) {
        var source = DetectorConfiguration.Source(topic: "orders")
        source.eventTime = .field(path: "ts", unit: .milliseconds)
        source.weights = ["ts": [.distribution: 0], "event_id": [.distribution: 0]]  // they advance by nature
        var members = (0..<instances).map { _ in
            SourceWindowing(topic: "orders", eventTime: source.eventTime, windows: TumblingWindows(size: 10_000, allowedLateness: 1_000))
        }
        var aggregator = PartialAggregator(partitionCount: 4, timeout: 60_000)
        var scorer = WindowScorer(source: source, reference: .first(windows: 5))
        var scores: [Int64: Double] = [:]
        var alerts: [AlertMessage] = []
        var events: [DriftEventMessage] = []
        var scored = 0
        let owner = { (partition: Int32) in Int(partition) % instances }
        func drain(_ now: Int64) throws {
            for index in members.indices {
                for closed in members[index].closeReady(now: now) {
                    // A member reports every partition it owns for the window, even empty ones.
                    let owned = Set((0..<4).map(Int32.init).filter { owner($0) == index })
                    try aggregator.add(windowStart: closed.start, partial: WindowProfile(encoded: closed.profile.encoded()), partitions: owned, now: now)
                }
            }
            for window in aggregator.ready(now: now) {
                #expect(window.complete, "every partition reported")
                let result = try scorer.score(windowStart: window.start, windowEnd: window.start + 10_000, profile: window.profile, now: window.start + 20_000)
                if let score = result.score { scores[window.start] = score.score; scored += 1 }
                alerts += result.alerts
                events += result.events
            }
        }
        for (index, record) in records.enumerated() {
            let member = owner(record.partition)
            let outcome = record.bytes.withUnsafeBytes {
                members[member].ingest($0, partition: record.partition, offset: record.offset, kafkaTimestamp: nil, now: 0)
            }
            guard case .profiled = outcome else { Issue.record("\(outcome)"); return ([:], [], [], 0) }
            if index % 500 == 0 { try drain(0) }
        }
        try drain(0)
        return (scores, alerts, events, scored)
    }

    @Test func oneTwoAndThreeInstancesAgree() throws {
        let single = try Self.run(instances: 1)
        #expect(single.windows >= 15, "windows scored after the 5-window reference: \(single.windows)")
        #expect(single.alerts.contains { $0.field == nil && $0.state == "firing" }, "the drift (last 40%) raises the source alert")
        #expect(single.alerts.filter { $0.field == nil && $0.state == "firing" }.count == 1, "exactly one source alert")
        for instances in [2, 3] {
            let split = try Self.run(instances: instances)
            #expect(split.windows == single.windows)
            for (start, score) in single.scores {
                #expect(abs((split.scores[start] ?? -1) - score) < 1e-9, "\(instances) instances, window \(start)")
            }
            #expect(split.alerts.map(\.id) == single.alerts.map(\.id), "\(instances) instances: same alerts, once each")
            #expect(Set(split.events.map(\.id)) == Set(single.events.map(\.id)))
        }
    }
}
