import DriftlineDrift
import DriftlineProfiling
import DriftlineSampleData
import Foundation
import Testing

/// Generated streams of windows with one kind of drift starting at a known window. Each must raise
/// the source alert within 2 windows of the onset; a stable stream must raise none in 200 windows.
@Suite struct ScenarioTests {
    enum Drift: String, CaseIterable {
        case none, meanShift, varianceDoubling, categoryMix, typeChange, missingRate, newField, removedField
        /// A record version that is 3 in every reference record becomes 4 in 2%, 10% or 50% of records.
        case version2Percent, version10Percent, version50Percent

        var versionBumpEvery: Int? {
            switch self {
            case .version2Percent: 50
            case .version10Percent: 10
            case .version50Percent: 2
            default: nil
            }
        }
    }

    static let windowSize = 1_000
    static let onset = 12

    /// One window of records; `drifted` applies the scenario's change.
    static func records(window: Int, drift: Drift, seed: UInt64) -> [String] {
        var random = SeededRandom(seed: seed &+ UInt64(window) &* 7919)
        let drifted = drift != .none && window >= onset
        return (0..<windowSize).map { index in
            var x = random.normal(mean: 50, deviation: 10)
            if drifted && drift == .meanShift { x = 50 + (x - 50) + 5 }
            if drifted && drift == .varianceDoubling { x = 50 + (x - 50) * 2.0.squareRoot() }
            let u = random.uniform()
            let category = drifted && drift == .categoryMix ? (u < 0.3 ? "a" : u < 0.6 ? "b" : "c") : (u < 0.5 ? "a" : u < 0.8 ? "b" : "c")
            let n = Int(random.next() % 100)
            let nText = drifted && drift == .typeChange && index % 50 == 0 ? "\"\(n)\"" : "\(n)"
            var fields = [
                #""x": \#(x)"#, #""cat": "\#(category)""#, #""n": \#(nText)"#,
                #""nullable": \#(random.uniform() < 0.1 ? "null" : String(random.uniform()))"#,
            ]
            if !(drifted && drift == .missingRate && index % 20 == 0) { fields.append(#""id": \#(random.next() % 1_000_000_000)"#) }
            if random.uniform() < 0.9 { fields.append(#""optional": \#(random.next() % 5)"#) }
            if !(drifted && drift == .removedField) { fields.append(#""flag": \#(random.next() % 2 == 0)"#) }
            if drifted && drift == .newField { fields.append(#""extra": "e\#(random.next() % 4)""#) }
            let bumped = drifted && drift.versionBumpEvery.map { index % $0 == 0 } == true
            fields.append(#""meta": {"ver": \#(bumped ? 4 : 3)}"#)
            return "{" + fields.joined(separator: ", ") + "}"
        }
    }

    /// Runs the stream and returns the windows at which the source alert fired, and the top field then.
    static func run(_ drift: Drift, windows: Int, seed: UInt64 = 1) -> [(window: Int, topField: String)] {
        let reference = WindowProfile()
        for window in 0..<5 { try! reference.merge(profileWindow(window, drift, seed)) }
        var scorer = DriftScorer()
        var alert = AlertState()
        let policy = AlertPolicy()
        var fired: [(Int, String)] = []
        for window in 5..<windows {
            let current = profileWindow(window, drift, seed)
            let score = scorer.score(DriftComparison(reference: reference, current: current))
            if case .fire = alert.event(score: score.score, policy: policy) {
                fired.append((window, score.fields.first?.path ?? ""))
            }
        }
        return fired
    }

    static func profileWindow(_ window: Int, _ drift: Drift, _ seed: UInt64) -> WindowProfile {
        let profile = WindowProfile()
        let scanner = JSONScanner()
        for record in records(window: window, drift: drift, seed: seed) {
            var bytes = Array(record.utf8)
            bytes.withUnsafeMutableBytes { _ = profile.add(UnsafeRawBufferPointer($0), scanner: scanner) }
        }
        return profile
    }

    static let expectedField: [Drift: String] = [
        .meanShift: "x", .varianceDoubling: "x", .categoryMix: "cat", .typeChange: "n",
        .missingRate: "id", .newField: "extra", .removedField: "flag",
        .version2Percent: "meta.ver", .version10Percent: "meta.ver", .version50Percent: "meta.ver",
    ]

    @Test(arguments: Drift.allCases.filter { $0 != .none })
    func driftAlertsWithinTwoWindowsOfOnset(drift: Drift) {
        let fired = Self.run(drift, windows: Self.onset + 6)
        let first = fired.first
        print("scenario \(drift): alert at window \(first.map { String($0.window) } ?? "-") (onset \(Self.onset)), top field \(first?.topField ?? "-")")
        #expect(first != nil, "\(drift): no alert")
        guard let first else { return }
        #expect((Self.onset...(Self.onset + 1)).contains(first.window), "\(drift): alert at window \(first.window), onset \(Self.onset)")
        #expect(first.topField == Self.expectedField[drift], "\(drift): top field \(first.topField)")
        #expect(fired.count == 1, "\(drift): one alert while the drift persists, not \(fired.count)")
    }

    @Test func twoHundredStableWindowsRaiseNoAlert() {
        let fired = Self.run(.none, windows: 205, seed: 99)
        #expect(fired.isEmpty, "false alerts at windows \(fired.map(\.window))")
    }
}

@Suite struct AlertStateTests {
    @Test func hysteresisAndCoolDown() {
        var policy = AlertPolicy()
        policy.fireAfter = 2
        policy.resolveAfter = 2
        policy.coolDown = 2
        var state = AlertState()
        let scores = [0.6, 0.2, 0.6, 0.65, 0.4, 0.95, 0.1, 0.45, 0.1, 0.2, 0.9, 0.9, 0.9, 0.9]
        let actions = scores.map { state.event(score: $0, policy: policy) }
        #expect(actions == [
            .none, .none,            // one high window is not enough, and the streak breaks
            .none, .fire(.info),     // two in a row fire
            .none,                   // 0.4 is above the resolve level: still firing
            .escalate(.critical),
            .none, .none,            // 0.45 interrupts the resolve streak
            .none, .resolve,         // two windows below 0.3 resolve
            .none, .none,            // cool-down swallows the next two windows
            .none, .fire(.critical), // then it takes two high windows again
        ])
    }
}
