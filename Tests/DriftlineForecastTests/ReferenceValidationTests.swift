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

    @Test func automaticModelIsWithinTenPercentOfTheReference() throws {
        #expect(Self.references.count == 8)
        var rows: [String] = []
        for reference in Self.references {
            let auto = try mase(reference, .auto), arima = try mase(reference, .arima), ets = try mase(reference, .ets)
            let best = min(reference.auto_arima_mase, reference.auto_ets_mase)
            rows.append(String(format: "%-24@ auto %.3f | ARIMA %.3f vs AutoARIMA %.3f | ETS %.3f vs AutoETS %.3f", reference.name as NSString,
                               auto, arima, reference.auto_arima_mase, ets, reference.auto_ets_mase))
            #expect(auto <= 1.1 * best, "\(reference.name): auto \(auto) vs best reference \(best)")
            // Each family on its own stays in the reference's league (within 25%) or better.
            #expect(arima <= 1.25 * reference.auto_arima_mase, "\(reference.name): ARIMA \(arima) vs \(reference.auto_arima_mase)")
            #expect(ets <= 1.3 * reference.auto_ets_mase, "\(reference.name): ETS \(ets) vs \(reference.auto_ets_mase)")
        }
        print(rows.joined(separator: "\n"))
    }
}
