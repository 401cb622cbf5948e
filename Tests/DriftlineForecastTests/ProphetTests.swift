@testable import DriftlineForecast
import Foundation
import Testing

/// The `prophet` model against Prophet 1.5.0 itself (`scripts/golden/prophet_reference.py`: its
/// forecasts, intervals and fitted parameters on public and simulated series), and on its own:
/// parameters recovered from simulated series, interval coverage, the optimiser.
@Suite struct ProphetTests {
    struct Reference: Decodable {
        var name: String
        var season: Int
        var horizon: Int
        var times: [Double]
        var values: [Double]
        var yhat: [Double]
        var lower_80: [Double]
        var upper_80: [Double]
        var lower_95: [Double]
        var upper_95: [Double]
        var k: Double
        var m: Double
        var sigma_obs: Double
        var delta: [Double]
        var beta: [Double]
        var changepoints_t: [Double]
        var y_scale: Double
        var seasonalities: [String: Int]
        var prophet_mase: Double
    }

    static let references: [Reference] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/prophet_reference.json")
        do { return try JSONDecoder().decode([Reference].self, from: Data(contentsOf: url)) } catch {
            Issue.record("cannot read \(url.path): \(error)")
            return []
        }
    }()

    func fitted(_ reference: Reference) throws -> (Prophet.Fit, Forecast) {
        let n = reference.values.count - reference.horizon
        let fit = try Prophet.fit(times: Array(reference.times.prefix(n)), values: Array(reference.values.prefix(n)))
        return (fit, fit.forecast(Array(reference.times.suffix(reference.horizon))))
    }

    @Test func forecastsMatchProphetWithinAFewPercentOfTheSeriesRange() throws {
        #expect(Self.references.count == 7)
        var rows: [String] = []
        for reference in Self.references {
            let (fit, forecast) = try fitted(reference)
            let training = reference.values.dropLast(reference.horizon)
            let range = training.max()! - training.min()!
            let worst = zip(forecast.mean, reference.yhat).map { abs($0 - $1) }.max()! / range
            let names = Dictionary(uniqueKeysWithValues: fit.seasonalities.map { ($0.name, $0.order) })
            #expect(names == reference.seasonalities, "\(reference.name): seasonalities \(names) vs Prophet's \(reference.seasonalities)")
            #expect(fit.changepoints.count == reference.changepoints_t.count)
            for (ours, theirs) in zip(fit.changepoints, reference.changepoints_t) { #expect(abs(ours - theirs) < 1e-9, "\(reference.name): changepoint \(ours) vs \(theirs)") }
            #expect(worst <= 0.03, "\(reference.name): forecasts differ by \(worst * 100)% of the range")
            let mase = meanAbsoluteScaledError(forecast: forecast.mean, actual: Array(reference.values.suffix(reference.horizon)),
                                               training: Array(training), season: reference.season)
            #expect(abs(mase - reference.prophet_mase) <= 0.05 * reference.prophet_mase + 0.01, "\(reference.name): MASE \(mase) vs Prophet's \(reference.prophet_mase)")
            rows.append(String(format: "%-20@ largest forecast difference %.2f%% of the range; MASE %.3f vs Prophet's %.3f", reference.name as NSString,
                               worst * 100, mase, reference.prophet_mase))
        }
        print(rows.joined(separator: "\n"))
    }

    /// Prophet's fitted parameters as a vector in our parameterisation.
    func prophetParameters(_ reference: Reference) -> [Double] {
        [reference.k, reference.m] + reference.delta + [log(reference.sigma_obs)] + reference.beta
    }

    @Test func fittedParametersAgreeWithProphets() throws {
        var rows: [String] = []
        for reference in Self.references {
            let (fit, _) = try fitted(reference)
            let n = reference.values.count - reference.horizon
            let history = Array(reference.times.prefix(n))
            let training = reference.values.prefix(n)
            let range = training.max()! - training.min()!
            // Both optimisers end near the same posterior mode (neither exactly at it: the Laplace
            // prior's kink stalls L-BFGS; for fewer than 100 values Prophet runs Newton's method):
            // the log posteriors of the two fits, both evaluated on our model, differ by less than
            // 0.01 per observation.
            let model = try Prophet.model(times: history, values: Array(training))
            let ours = model.value([fit.k, fit.m] + fit.deltas + [log(fit.sigma)] + fit.betas)
            let theirs = model.value(prophetParameters(reference))
            #expect(abs(ours - theirs) <= 0.01 * Double(n), "\(reference.name): our optimum \(ours) vs Prophet's \(theirs)")
            #expect(abs(fit.sigma - reference.sigma_obs) / reference.sigma_obs < 0.05, "\(reference.name): σ \(fit.sigma) vs \(reference.sigma_obs)")
            // The trend and the seasonal component over the history: what the parameters mean where
            // the data pin them. (Coefficient by coefficient they need not agree when the data are
            // sparse for the terms: on monthly or quarterly values yearly harmonics of order 10 alias
            // one another, and on annual values — Nile — the yearly terms are nearly constant.)
            var theirFit = fit
            theirFit.k = reference.k; theirFit.m = reference.m; theirFit.deltas = reference.delta; theirFit.betas = reference.beta
            let (ourTrend, ourSeasonal) = fit.components(history), (theirTrend, theirSeasonal) = theirFit.components(history)
            let fittedGap = zip(fit.predict(history), theirFit.predict(history)).map { abs($0 - $1) }.max()! / range
            let trendGap = zip(ourTrend, theirTrend).map { abs($0 - $1) }.max()! / range
            let seasonalGap = zip(ourSeasonal, theirSeasonal).map { abs($0 - $1) }.max()! / range
            #expect(fittedGap <= 0.03, "\(reference.name): fitted values differ by \(fittedGap * 100)% of the range")
            #expect(trendGap <= 0.03, "\(reference.name): trends differ by \(trendGap * 100)% of the range")
            #expect(seasonalGap <= 0.03, "\(reference.name): seasonal components differ by \(seasonalGap * 100)% of the range")
            // Densely sampled seasonalities (daily and hourly values) pin every coefficient.
            if reference.name.hasPrefix("simulated_daily") || reference.name.hasPrefix("simulated_hourly") {
                let difference = zip(fit.betas, reference.beta).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
                let size = reference.beta.map { $0 * $0 }.reduce(0, +).squareRoot()
                #expect(difference <= 0.05 * size, "\(reference.name): seasonal coefficients differ by \(difference) (size \(size))")
            }
            rows.append(String(format: "%-20@ log posterior %.2f vs %.2f; over the history, fitted values differ by %.2f%% of the range, trends %.2f%%, seasonal terms %.2f%%",
                               reference.name as NSString, -ours, -theirs, fittedGap * 100, trendGap * 100, seasonalGap * 100))
        }
        print(rows.joined(separator: "\n"))
    }

    @Test func intervalsAreAsWideAsProphets() throws {
        for reference in Self.references {
            let (_, forecast) = try fitted(reference)
            // Both simulate 1000 paths (different generators): widths agree within the simulation's
            // noise and the fits' small differences.
            let ours80 = zip(forecast.upper80, forecast.lower80).map { $0 - $1 }.reduce(0, +)
            let theirs80 = zip(reference.upper_80, reference.lower_80).map { $0 - $1 }.reduce(0, +)
            let ours95 = zip(forecast.upper95, forecast.lower95).map { $0 - $1 }.reduce(0, +)
            let theirs95 = zip(reference.upper_95, reference.lower_95).map { $0 - $1 }.reduce(0, +)
            #expect(abs(ours80 / theirs80 - 1) < 0.15, "\(reference.name): 80% widths \(ours80) vs \(theirs80)")
            #expect(abs(ours95 / theirs95 - 1) < 0.15, "\(reference.name): 95% widths \(ours95) vs \(theirs95)")
        }
    }

    /// A daily series with known trend changes and seasonal amplitudes, made here (not Prophet's).
    @Test func recoversTrendChangesAndSeasonalAmplitudes() throws {
        var random = GaussianRandom(seed: 41)
        let times = (0..<900).map { 19_000 + Double($0) }  // days since 1970: mid-2022 onwards
        let values = times.map { day -> Double in
            let t = day - 19_000
            let trend = 200 + 0.1 * t + (t > 300 ? -0.25 * (t - 300) : 0) + (t > 600 ? 0.3 * (t - 600) : 0)
            return trend + 5 * sin(2 * .pi * day / 7) + 12 * cos(2 * .pi * day / 365.25) + 1.5 * random.next()
        }
        let fit = try Prophet.fit(times: times, values: values)
        #expect(fit.converged)
        #expect(fit.seasonalities.map(\.name) == ["yearly", "weekly"])
        // Trend slopes per day in each segment, away from the changes.
        func slope(at day: Double) -> Double {
            let f = fit.predict([day - 7, day + 7]).map { $0 }
            let seasonalFree = zip(f, [day - 7, day + 7].map { fit.seasonal($0) }).map { $0 - ($1.additive * fit.scale) }
            return (seasonalFree[1] - seasonalFree[0]) / 14
        }
        #expect(abs(slope(at: 19_150) - 0.1) < 0.03, "first segment \(slope(at: 19_150))")
        #expect(abs(slope(at: 19_450) - -0.15) < 0.03, "second segment \(slope(at: 19_450))")
        #expect(abs(slope(at: 19_700) - 0.15) < 0.04, "third segment \(slope(at: 19_700))")
        // Amplitudes of the seasonal terms (first harmonic), back in the series' units.
        let weekly = fit.seasonalities.firstIndex { $0.name == "weekly" }!
        let offset = fit.seasonalities[..<weekly].map { 2 * $0.order }.reduce(0, +)
        let weeklyAmplitude = (fit.betas[offset] * fit.betas[offset] + fit.betas[offset + 1] * fit.betas[offset + 1]).squareRoot() * fit.scale
        let yearlyAmplitude = (fit.betas[0] * fit.betas[0] + fit.betas[1] * fit.betas[1]).squareRoot() * fit.scale
        #expect(abs(weeklyAmplitude - 5) < 0.5, "weekly amplitude \(weeklyAmplitude)")
        #expect(abs(yearlyAmplitude - 12) < 2.5, "yearly amplitude \(yearlyAmplitude)")
        #expect(abs(fit.sigma * fit.scale - 1.5) < 0.15, "noise \(fit.sigma * fit.scale)")
    }

    /// On series from Prophet's own generative assumptions (a steady trend, noise), the 80% and 95%
    /// intervals cover the truth about as often as they say. A little less is Prophet's design: its
    /// intervals come from the posterior mode, so the error in the fitted slope is not in them (the
    /// simulated future changepoints add some width back).
    @Test func intervalsCoverAsStated() throws {
        var random = GaussianRandom(seed: 7)
        var inside80 = 0, inside95 = 0, total = 0
        for _ in 0..<60 {
            let slope = random.next() * 0.5, noise = 1 + abs(random.next())
            let all = (0..<130).map { 20 + slope * Double($0) + noise * random.next() }
            var settings = Prophet.Settings()
            settings.uncertaintySamples = 400
            let fit = try Prophet.fit(times: (0..<120).map(Double.init), values: Array(all.prefix(120)), settings: settings)
            let forecast = fit.forecast((120..<130).map(Double.init))
            for step in 0..<10 {
                let actual = all[120 + step]
                if forecast.lower80[step] <= actual, actual <= forecast.upper80[step] { inside80 += 1 }
                if forecast.lower95[step] <= actual, actual <= forecast.upper95[step] { inside95 += 1 }
                total += 1
            }
        }
        let coverage80 = Double(inside80) / Double(total), coverage95 = Double(inside95) / Double(total)
        #expect((0.74...0.9).contains(coverage80), "80% intervals covered \(coverage80)")
        #expect((0.9...0.985).contains(coverage95), "95% intervals covered \(coverage95)")
        print(String(format: "coverage of 80%% intervals %.3f, of 95%% intervals %.3f (600 forecasts)", coverage80, coverage95))
    }

    @Test func logisticGrowthStaysBelowItsCapacityAndFlatStaysLevel() throws {
        var random = GaussianRandom(seed: 3)
        let times = (0..<150).map(Double.init)
        let values = times.map { 0.9 / (1 + exp(-($0 - 70) / 12)) + 0.01 * random.next() }
        var settings = Prophet.Settings()
        settings.growth = .logistic(capacity: 1)
        settings.weekly = .off  // the trend alone: a seasonal term may lift a forecast over the capacity
        let logistic = try Prophet.fit(times: times, values: values, settings: settings)
        let ahead = logistic.predict((150..<400).map(Double.init))
        #expect(ahead.allSatisfy { $0 < 1 && $0 > 0.85 }, "logistic forecasts \(ahead.min()!)…\(ahead.max()!)")
        #expect(zip(ahead.dropFirst(), ahead).allSatisfy { $0 >= $1 }, "a rising logistic trend keeps rising towards its capacity")
        settings.growth = .flat
        let flat = try Prophet.fit(times: times, values: values, settings: settings)
        let level = flat.predict([500, 1_000])
        #expect(abs(level[0] - level[1]) < 1e-9)
        #expect(throws: Prophet.FitError.invalidCapacity(0.5)) {
            var capped = Prophet.Settings()
            capped.growth = .logistic(capacity: 0.5)
            _ = try Prophet.fit(times: times, values: values, settings: capped)
        }
    }

    @Test func badInputIsRefusedWithTheReason() {
        #expect(throws: Prophet.FitError.tooShort(1)) { _ = try Prophet.fit(times: [0], values: [1]) }
        #expect(throws: Prophet.FitError.unsorted(index: 2)) { _ = try Prophet.fit(times: [0, 1, 1, 2], values: [1, 2, 3, 4]) }
        #expect(throws: Prophet.FitError.mismatched(times: 3, values: 2)) { _ = try Prophet.fit(times: [0, 1, 2], values: [1, 2]) }
        #expect(throws: ForecastError.self) {
            _ = try Forecaster.forecast([1, 2, 3, 4, 5], horizon: 2, method: .prophet, times: SeriesTimes(observed: [0, 1, 2, 3, 4], future: [5]))
        }
    }

    @Test func lbfgsFindsTheMinimumOfRosenbrocksFunction() {
        let result = LBFGS.minimize([-1.2, 1]) { x in
            let a = 1 - x[0], b = x[1] - x[0] * x[0]
            return (a * a + 100 * b * b, [-2 * a - 400 * x[0] * b, 200 * b])
        }
        #expect(result.converged)
        #expect(abs(result.x[0] - 1) < 1e-4 && abs(result.x[1] - 1) < 1e-4, "\(result.x)")
    }
}
