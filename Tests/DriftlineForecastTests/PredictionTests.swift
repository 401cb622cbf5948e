@testable import DriftlineForecast
import Foundation
import Testing

@Suite struct PredictionTests {
    /// 30 hourly windows: a field arriving, one leaving, one turning into strings, one stable.
    static let history: [WindowShape] = (0..<30).map { index in
        let t = Double(index)
        let wobble = 0.01 * sin(t)
        return WindowShape(
            time: 1_764_000_000 + t * 3_600, records: 1_000 + 10 * t, bytes: (1_000 + 10 * t) * 200,
            presence: ["amount": 1, "coupon": 0.015 * t + wobble, "legacy": 1 - 0.028 * t + wobble, "quantity": 1],
            types: ["amount": ["float": 1], "quantity": ["integer": 1 - 0.015 * t - wobble, "string": 0.015 * t + wobble]])
    }

    @Test func risingFallingAndShiftingFieldsArePredicted() throws {
        let changes = SchemaEvolutionPredictor(horizon: 24).predict(Self.history)
        let last = Self.history.last!.time
        let coupon = try #require(changes.first { $0.path == "coupon" })
        #expect(coupon.kind == .appear)
        // Linear extrapolation reaches 0.5 near window 33 (4 windows after the last): allow some slack.
        #expect(abs((coupon.expectedAt - last) / 3_600 - 4) <= 3, "coupon expected \((coupon.expectedAt - last) / 3_600) windows ahead")
        #expect(coupon.confidence > 0.5)
        let legacy = try #require(changes.first { $0.path == "legacy" })
        #expect(legacy.kind == .vanish)
        let quantity = try #require(changes.first { $0.path == "quantity" })
        #expect(quantity.kind == .changeType && quantity.type == "string")
        #expect(!changes.contains { $0.path == "amount" }, "a stable field is not predicted to change")
    }

    @Test func tooLittleHistoryPredictsNothing() {
        #expect(SchemaEvolutionPredictor().predict(Array(Self.history.prefix(5))).isEmpty)
    }

    @Test func growthSumsTheForecastRecordsAndBytes() throws {
        let growth = try #require(GrowthPrediction(history: Self.history, horizon: 10))
        let truth = (30..<40).reduce(0.0) { $0 + 1_000 + 10 * Double($1) }
        #expect(abs(growth.records - truth) / truth < 0.03, "\(growth.records) vs \(truth)")
        #expect(growth.recordsLower95 <= growth.records && growth.records <= growth.recordsUpper95)
        #expect(abs(growth.bytes - growth.records * 200) < 1e-6 * growth.bytes)
    }

    /// Hourly windows of one field's presence (and a type share), from `values`.
    static func shapes(_ presence: [Double], share: [Double]? = nil) -> [WindowShape] {
        presence.enumerated().map { index, value in
            var types: [String: [String: Double]] = [:]
            if let share { types["f"] = ["string": share[index], "integer": 1 - share[index]] }
            return WindowShape(time: Double(index) * 3_600, records: 1_000, bytes: 200_000, presence: ["f": value], types: types)
        }
    }

    /// Windows ahead of the last one at which a change is expected.
    static func ahead(_ change: PredictedChange, _ history: [WindowShape]) -> Double { (change.expectedAt - history.last!.time) / 3_600 }

    /// The case: after 29 windows, presence rising 1.6 points a window, another falling 3,
    /// a type's share rising 1.25 — each crossing dated within a window of the truth (the damped
    /// trend dated them 0.3, 3.0 and 4.4 windows late).
    @Test func steadyRampsCrossWhenTheyReachTheThreshold() throws {
        // 29 windows (indices 0...28); each ramp starts at window 5 (the field was steady before).
        let wobble = { (t: Double) in 0.004 * sin(1.7 * t) }
        func ramp(from level: Double, slope: Double) -> [Double] {
            (0..<29).map { index in level + slope * Double(max(0, index - 5)) + wobble(Double(index)) }
        }
        let cases: [(series: [Double], threshold: Double, kind: PredictedChange.Kind, truth: Double)] = [
            (ramp(from: 0, slope: 0.016), 0.5, .appear, 5 + 0.5 / 0.016 - 28),          // 8.25 windows ahead
            (ramp(from: 1, slope: -0.03), 0.05, .vanish, 5 + 0.95 / 0.03 - 28),         // 8.67 ahead
        ]
        for (series, _, kind, truth) in cases {
            let history = Self.shapes(series)
            let change = try #require(SchemaEvolutionPredictor(horizon: 24).predict(history).first { $0.kind == kind }, "\(kind)")
            // The step is the first whole window at or past the crossing.
            #expect(abs(Self.ahead(change, history) - truth.rounded(.up)) <= 1, "\(kind): \(Self.ahead(change, history)) windows ahead, truth \(truth)")
            #expect(change.confidence > 0.95, "a steady ramp: \(change.confidence)")
        }
        let share = (0..<29).map { 0.0125 * Double($0) + wobble(Double($0) + 2) }    // 0.5 at window 40: 12 ahead
        let history = Self.shapes(Array(repeating: 1, count: 29), share: share)
        let change = try #require(SchemaEvolutionPredictor(horizon: 24).predict(history).first { $0.kind == .changeType && $0.type == "string" })
        #expect(abs(Self.ahead(change, history) - 12) <= 1, "\(Self.ahead(change, history))")
    }

    @Test func aStepThatLevelledOffCrossesNothing() {
        // Absent for 20 windows, then present in 30% of records and flat: no appearance predicted,
        // though a line through the whole history would reach 50% within the horizon.
        let step = (0..<32).map { $0 < 20 ? 0.0 : 0.3 + 0.003 * sin(Double($0)) }
        #expect(SchemaEvolutionPredictor(horizon: 24).predict(Self.shapes(step)).isEmpty)
        // The same step, then a ramp: dated from the ramp alone.
        let ramp = (0..<32).map { $0 < 20 ? 0.0 : 0.2 + 0.02 * Double($0 - 20) }   // 0.5 at t = 35
        let history = Self.shapes(ramp)
        let change = SchemaEvolutionPredictor(horizon: 24).predict(history).first
        #expect(change.map { abs(Self.ahead($0, history) - (35 - 31)) <= 1 } == true, "\(String(describing: change))")
    }

    @Test func anSCurveIsDatedFromItsCurrentSlope() throws {
        // A logistic adoption (midpoint at window 40, scale 4). A line lags a curve that still
        // accelerates, so the date errs late, never early: seen up to 38% (window 38) within two
        // windows of the truth; seen up to 18% (window 34), 6 windows out, it says 17 (known limit).
        let curve = (0..<60).map { 1 / (1 + exp(-(Double($0) - 40) / 4)) }
        for (seen, slack) in [(39, 2.0), (35, 12.0)] {
            let history = Self.shapes(Array(curve.prefix(seen)))
            let change = try #require(SchemaEvolutionPredictor(horizon: 24).predict(history).first, "seen to window \(seen - 1)")
            let ahead = Self.ahead(change, history), truth = Double(40 - (seen - 1))
            #expect(ahead >= truth && ahead <= truth + slack, "seen to window \(seen - 1): \(ahead) windows ahead, truth \(truth)")
        }
    }

    /// Crossings said to be p likely happen about p of the time: 3,000 simulated ramps (seeded):
    /// a level of 10–40%, noise of 2–8 points, and a slope drawn uniformly from flat to twice the
    /// one that reaches 50% at the horizon's end (24 windows), so about half of them get there.
    /// The event is the ramp's level past 0.5 by the horizon's end. (The stated confidence is
    /// frequentist: it is calibrated for slopes spread evenly like these; a prior with more mass
    /// just below the threshold than above it — crossing times spread evenly — makes it read high.)
    @Test func confidenceIsCalibrated() {
        var random = SplitMix(seed: 7)
        var buckets: [Int: (stated: Double, happened: Double, count: Double)] = [:]
        let horizon = 24, n = 30
        for _ in 0..<3_000 {
            let levelNow = 0.1 + 0.3 * random.uniform(), noise = 0.02 + 0.06 * random.uniform()
            let slope = 2 * (0.5 - levelNow) / Double(horizon) * random.uniform()
            let series = (0..<n).map { levelNow + slope * Double($0 - (n - 1)) + noise * random.normal() }
            guard let change = SchemaEvolutionPredictor(horizon: horizon).predict(Self.shapes(series)).first(where: { $0.kind == .appear }) else { continue }
            let happened = levelNow + slope * Double(horizon) >= 0.5
            let bucket = min(4, Int(change.confidence * 10) - 5)
            buckets[bucket, default: (0, 0, 0)].stated += change.confidence
            buckets[bucket, default: (0, 0, 0)].happened += happened ? 1 : 0
            buckets[bucket, default: (0, 0, 0)].count += 1
        }
        for (bucket, value) in buckets.sorted(by: { $0.key < $1.key }) where value.count >= 50 {
            let stated = value.stated / value.count, observed = value.happened / value.count
            print("calibration: confidence \(Double(bucket + 5) / 10)…: stated \(stated), happened \(observed) of \(Int(value.count))")
            #expect(abs(stated - observed) <= 0.1, "confidence \(bucket): stated \(stated), happened \(observed) of \(Int(value.count))")
        }
        #expect(buckets.values.filter { $0.count >= 50 }.count >= 3, "\(buckets.mapValues(\.count))")
    }
}

/// A seeded generator for the simulations (SplitMix64).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func normal() -> Double { (-2 * log(max(uniform(), 1e-300))).squareRoot() * cos(2 * .pi * uniform()) }
}
