import DriftlineForecast
import Foundation
import Testing

/// Accuracy against statsforecast 2.1.1 (AutoARIMA, AutoETS) on public series, from
/// `scripts/golden/forecast_reference.py`: MASE on the held-out tail of each series.
@Suite struct ReferenceValidationTests {
    struct Reference: Decodable {
        var name: String
        var season: Int
        var horizon: Int
        var values: [Double]
        var auto_arima_mase: Double
        var auto_ets_mase: Double
    }

    static let references: [Reference] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/forecast_reference.json")
        return (try? JSONDecoder().decode([Reference].self, from: Data(contentsOf: url))) ?? []
    }()

    func mase(_ reference: Reference, _ method: ForecastMethod) throws -> Double {
        let training = Array(reference.values.dropLast(reference.horizon)), actual = Array(reference.values.suffix(reference.horizon))
        let result = try Forecaster.forecast(training.map { $0 }, horizon: reference.horizon,
                                             season: reference.season > 1 ? reference.season : nil, method: method)
        return meanAbsoluteScaledError(forecast: result.forecast.mean, actual: actual, training: training, season: reference.season)
    }

    @Test func accuracyTable() throws {
        #expect(Self.references.count == 8)
        var rows: [String] = []
        for reference in Self.references {
            let auto = try mase(reference, .auto), arima = try mase(reference, .arima), ets = try mase(reference, .ets)
            rows.append(String(format: "%-24@ auto %.3f  arima %.3f (ref %.3f)  ets %.3f (ref %.3f)", reference.name as NSString,
                               auto, arima, reference.auto_arima_mase, ets, reference.auto_ets_mase))
        }
        print(rows.joined(separator: "\n"))
    }
}
