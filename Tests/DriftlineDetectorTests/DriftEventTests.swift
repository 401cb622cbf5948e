import DriftlineDetector
import DriftlineDrift
import DriftlineMessages
import DriftlineProfiling
import DriftlineSampleData
import Testing

/// Drift events say something drifted: none for a component the field's weights switch off.
@Suite struct DriftEventTests {
    /// A stable stream whose `id` and `ts` advance with every record (so their distributions move
    /// in every window, by nature); `x`, `cat` and `meta.ver` are stable until `onset`, when `ver`
    /// becomes 4 in half of the records.
    static func window(_ index: Int, onset: Int) -> WindowProfile {
        var random = SeededRandom(seed: 7 &+ UInt64(index) &* 104_729)
        let profile = WindowProfile()
        let scanner = JSONScanner()
        for record in 0..<1_000 {
            let id = index * 1_000 + record
            let ver = index >= onset && record % 2 == 0 ? 4 : 3
            let u = random.uniform()
            let text = #"{"id": \#(id), "ts": \#(1_764_000_000_000 + Int64(id) * 10), "x": \#(random.normal(mean: 50, deviation: 10)), "# +
                #""cat": "\#(u < 0.5 ? "a" : u < 0.8 ? "b" : "c")", "meta": {"ver": \#(ver)}}"#
            var bytes = Array(text.utf8)
            bytes.withUnsafeMutableBytes { _ = profile.add(UnsafeRawBufferPointer($0), scanner: scanner) }
        }
        return profile
    }

    static func run(windows: Int, onset: Int) -> [DriftEventMessage] {
        let reference = WindowProfile()
        for index in 0..<5 { try! reference.merge(window(index, onset: onset)) }
        var configuration = ScoringConfiguration()
        configuration.fieldWeights = ["id": [.distribution: 0], "ts": [.distribution: 0]]
        var scorer = DriftScorer(configuration: configuration)
        var builder = OutputBuilder(source: "orders")
        var events: [DriftEventMessage] = []
        for index in 5..<windows {
            let comparison = DriftComparison(reference: reference, current: window(index, onset: onset))
            let score = scorer.score(comparison)
            let start = 1_764_000_000_000 + Int64(index) * 10_000
            events += builder.messages(for: score, comparison: comparison,
                                       window: .init(start: start, end: start + 10_000, referenceStart: 1_764_000_000_000, referenceEnd: 1_764_000_050_000),
                                       now: start + 11_000).events
        }
        return events
    }

    @Test func noEventForZeroWeightedFieldsInTwoHundredStableWindows() {
        let events = Self.run(windows: 205, onset: .max)
        #expect(events.isEmpty, "events: \(events.prefix(5).map { "\($0.field) \($0.kind) score \($0.score)" })")
    }

    @Test func aConstantFieldThatChangesIsTheOnlyEvent() {
        let events = Self.run(windows: 12, onset: 8)
        #expect(Set(events.map(\.field)) == ["meta.ver"], "events: \(events.map { "\($0.field) \($0.kind)" })")
        #expect(events.allSatisfy { $0.score > 0 && $0.currentWindow.start >= WireTime.format(milliseconds: 1_764_000_000_000 + 8 * 10_000) })
        #expect(events.filter { $0.kind == .distributionShift }.count == 4, "one distribution shift per drifted window")
        // Half the values are new; the quantile sketch (compacting at 1000 values) estimates the share.
        #expect(abs((events.first?.metrics["unseen_values"] ?? 0) - 0.5) < 0.02)
    }
}

/// A window profiled with other sketch settings than the reference cannot be merged into it: the
/// scorer refuses it and stays as it was (the loop logs the window as not scored).
@Suite struct WindowScorerRefusalTests {
    @Test func aWindowWithOtherSketchSettingsIsRefusedAndChangesNothing() throws {
        var other = ProfileConfiguration()
        other.quantileK = 100
        let source = DetectorConfiguration.Source(topic: "orders")
        var refused = WindowScorer(source: source, reference: .first(windows: 3))
        var untouched = WindowScorer(source: source, reference: .first(windows: 3))
        var outputs: [[String]] = [[], []]
        for index in 0..<12 {
            let start = Int64(index) * 10
            let window = DriftEventTests.window(index, onset: 8)
            if index == 1 {
                #expect(throws: ProfileConfigurationError.self) {
                    try refused.score(windowStart: start, windowEnd: start + 10, profile: WindowProfile(configuration: other), now: 0)
                }
            }
            for (slot, scored) in [try refused.score(windowStart: start, windowEnd: start + 10, profile: window, now: 0),
                                   try untouched.score(windowStart: start, windowEnd: start + 10, profile: window, now: 0)].enumerated() {
                outputs[slot] += scored.events.map(\.id) + [scored.score.map { "\($0.score)" } ?? "warm-up"]
            }
        }
        #expect(outputs[0] == outputs[1], "the refused window left no trace")
        #expect(outputs[0].contains { $0.count == 32 }, "the stream has drift events to compare")
    }
}
