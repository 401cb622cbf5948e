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
}
