import ArgumentParser
import DriftlineForecast
import DriftlineSampleData
import Foundation

struct ForecastBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forecast",
        abstract: "Time to fit and forecast one series with each method (release build).",
        discussion: """
            Generates a --length series with a trend, a season of --season and noise (seeded), then times \
            fit + forecast of --horizon steps for auto, arima, ets, prophet and naive, best of --repeats, in this \
            process. naive is the floor every method pays (input checks, interval arithmetic).
            """
    )

    @Option(help: "Values in the series.") var length = 500
    @Option(help: "Season length of the generated series (and given to the forecaster).") var season = 12
    @Option(help: "Steps to forecast.") var horizon = 24
    @Option(help: "Repetitions; the best is reported.") var repeats = 3

    func validate() throws {
        guard length >= 10, season >= 2, horizon >= 1, repeats >= 1 else {
            throw ValidationError("--length ≥ 10, --season ≥ 2, --horizon ≥ 1 and --repeats ≥ 1")
        }
    }

    func run() throws {
        var random = SeededRandom(seed: 500)
        var series: [Double?] = []
        for t in 0..<length {
            let phase = 2 * Double.pi * Double(t) / Double(season)
            let value: Double = 100 + 0.3 * Double(t) + 10 * sin(phase) + random.normal(deviation: 2)
            series.append(value)
        }
        print("series: \(length) values, season \(season), horizon \(horizon), best of \(repeats)")
        for method in [ForecastMethod.auto, .arima, .ets, .prophet, .naive] {
            var best = Double.infinity
            var model = ""
            for _ in 0..<repeats {
                let start = DispatchTime.now()
                let result = try Forecaster.forecast(series, horizon: horizon, season: season, method: method)
                best = min(best, seconds(since: start))
                model = result.forecast.model
            }
            print(String(format: "%-6@ %8.1f ms  %@", method.rawValue as NSString, best * 1000, model as NSString))
        }
    }
}

struct ProphetBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prophet",
        abstract: "Time to fit the prophet model on the reference series (scripts/golden/prophet_reference.py runs it next to Prophet 1.5.0).",
        discussion: """
            Reads the reference file the script writes (each series' times, values and horizon) and fits \
            the training part of each --repeats times in this process; prints `name seconds` (the median) \
            per series, the lines the script reads.
            """
    )

    @Option(help: "The reference file (Tests/DriftlineForecastTests/Golden/prophet_reference.json).") var golden: String
    @Option(help: "Fits per series; the median is reported.") var repeats = 3

    struct Series: Decodable { var name: String; var horizon: Int; var times: [Double]; var values: [Double] }

    func run() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: golden)) } catch { throw ValidationError("cannot read \(golden): \(error.localizedDescription)") }
        for series in try JSONDecoder().decode([Series].self, from: data) {
            let n = series.values.count - series.horizon
            var timings: [Double] = []
            for _ in 0..<repeats {
                let start = DispatchTime.now()
                _ = try Prophet.fit(times: Array(series.times.prefix(n)), values: Array(series.values.prefix(n)))
                timings.append(seconds(since: start))
            }
            print("\(series.name) \(timings.sorted()[timings.count / 2])")
        }
    }
}
