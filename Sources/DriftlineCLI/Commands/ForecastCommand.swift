import ArgumentParser
import DriftlineDrift
import DriftlineForecast
import DriftlineProfiling
import Foundation

struct ForecastCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forecast",
        abstract: "Forecast a numeric series (ARIMA, exponential smoothing, Prophet or a baseline) with 80% and 95% intervals.",
        discussion: """
            FILE is the same CSV or JSON array as for `detect-changes` ('-' for stdin). Missing values inside \
            the series are interpolated, missing ends dropped; infinite values are an error. Without --season \
            a season length is looked for in the autocorrelation. Models: auto (ARIMA, ETS and the baselines \
            compete on a holdout of the last values, the winner is refitted), arima (Hyndman–Khandakar \
            stepwise search on AICc), ets (the ETS model with the smallest AICc), prophet (Prophet's model and \
            defaults: piecewise-linear trend with 25 potential changepoints, Fourier seasonalities chosen from \
            the times), naive, snaive, drift. A CSV column named ds, date, time or timestamp gives the values \
            their times (Prophet reads them; the forecast's times follow the same calendar step); without one, \
            values are taken as evenly spaced. Intervals of ETS and Prophet come from simulated paths (fixed seed).
            """
    )

    @Option(help: "Series file (CSV or JSON array); '-' for stdin.")
    var series: String

    @Option(help: "Steps to forecast.")
    var horizon: Int

    @Option(help: "Season length (e.g. 24 for hourly data with a daily cycle); default: detected.")
    var season: Int?

    @Option(help: "Model: \(ForecastMethod.allCases.map(\.rawValue).joined(separator: ", ")).")
    var model: ForecastMethod = .auto

    @Option(help: "Prophet's trend: linear, logistic (needs --capacity) or flat.")
    var growth: String = "linear"

    @Option(help: "Prophet's logistic capacity, above every value (e.g. 1 for a share).")
    var capacity: Double?

    @Option(help: "Prophet's seasonality mode: additive or multiplicative.")
    var seasonalityMode: String = "additive"

    @Option(help: "Prophet's changepoint prior scale (larger: a more flexible trend).")
    var changepointPriorScale: Double = 0.05

    @Option(help: "Output format: json or text.")
    var format: OutputFormat = .json

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case json, text }

    func validate() throws {
        guard horizon >= 1 else { throw ValidationError("--horizon must be at least 1") }
        if let season, season < 2 { throw ValidationError("--season must be at least 2") }
        _ = try prophetSettings()
    }

    func prophetSettings() throws -> Prophet.Settings {
        var settings = Prophet.Settings()
        switch (growth, capacity) {
        case ("linear", nil): settings.growth = .linear
        case ("flat", nil): settings.growth = .flat
        case let ("logistic", capacity?): settings.growth = .logistic(capacity: capacity)
        case ("logistic", nil): throw ValidationError("--growth logistic needs --capacity")
        case ("linear", _), ("flat", _): throw ValidationError("--capacity is for --growth logistic")
        default: throw ValidationError("--growth must be linear, logistic or flat (got '\(growth)')")
        }
        guard let mode = Prophet.SeasonalityMode(rawValue: seasonalityMode) else {
            throw ValidationError("--seasonality-mode must be additive or multiplicative (got '\(seasonalityMode)')")
        }
        settings.seasonalityMode = mode
        guard changepointPriorScale > 0 else { throw ValidationError("--changepoint-prior-scale must be above 0") }
        settings.changepointPriorScale = changepointPriorScale
        return settings
    }

    func run() throws {
        let file = try SeriesFile(contentsOf: series)
        let result: ForecastResult
        let times = file.times.flatMap { observed in file.futureTimes(horizon).map { SeriesTimes(observed: observed, future: $0) } }
        let settings = try prophetSettings()
        do { result = try Forecaster.forecast(file.values, horizon: horizon, season: season, method: model, times: times, prophet: settings) } catch {
            throw ValidationError("\(series): \(error.description)")
        }
        for note in result.notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        let forecast = result.forecast
        switch format {
        case .json:
            struct Output: Encodable {
                var model: String
                var season: Int?
                /// The forecast's times (RFC 3339), when the series had times.
                var times: [String]?
                var forecast, lower_80, upper_80, lower_95, upper_95: [Double]
                var parameters: [String: Double]
                var aicc: Double?
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let output = Output(model: forecast.model, season: result.season,
                                times: times?.future.map { RFC3339.string(milliseconds: Int64(($0 * 86_400_000).rounded())) }, forecast: forecast.mean,
                                lower_80: forecast.lower80, upper_80: forecast.upper80, lower_95: forecast.lower95, upper_95: forecast.upper95,
                                parameters: forecast.parameters, aicc: forecast.aicc)
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
        case .text:
            print("model \(forecast.model)\(result.season.map { ", season \($0)" } ?? "")"
                  + (forecast.parameters.isEmpty ? "" : " — " + forecast.parameters.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.4g", $0.value))" }.joined(separator: ", ")))
            print("step  forecast        80% interval                95% interval")
            for step in forecast.mean.indices {
                print(String(format: "%4d  %-14.6g  [%.6g, %.6g]  [%.6g, %.6g]", step + 1, forecast.mean[step],
                             forecast.lower80[step], forecast.upper80[step], forecast.lower95[step], forecast.upper95[step]))
            }
        }
    }
}

extension ForecastMethod: ExpressibleByArgument {}
