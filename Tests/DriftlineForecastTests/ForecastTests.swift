@testable import DriftlineForecast
import Foundation
import Testing

/// Simulates ETS(A,·,·) series with known parameters from a seeded generator.
func simulate(n: Int, alpha: Double, beta: Double = 0, gamma: Double = 0, season: Int = 1, level: Double = 50, slope: Double = 0,
              amplitude: Double = 0, sigma: Double = 1, seed: UInt64) -> [Double] {
    var random = GaussianRandom(seed: seed)
    var l = level, b = slope
    var s = (0..<max(season, 1)).map { amplitude * sin(2 * .pi * Double($0) / Double(max(season, 1))) }
    var y: [Double] = []
    for t in 0..<n {
        let index = t % max(season, 1)
        let point = l + b + (season > 1 ? s[index] : 0)
        let error = sigma * random.next()
        y.append(point + error)
        l = l + b + alpha * error
        b = b + beta * error
        if season > 1 { s[index] += gamma * error }
    }
    return y
}

@Suite struct BaselineTests {
    @Test func naiveSeasonalNaiveAndDriftFollowTheirDefinitions() throws {
        let y: [Double] = [1, 3, 2, 4, 3, 5, 4, 6]
        let naive = try Baseline.naive.forecast(y, horizon: 3)
        #expect(naive.mean == [6, 6, 6])
        // Residuals are the differences (2, -1, 2, -1, 2, -1, 2): σ = sqrt(mean of squares).
        let sigma = ((4.0 * 4 + 1 * 3) / 7).squareRoot()
        #expect(abs(naive.upper95[1] - (6 + 1.959963984540054 * sigma * 2.0.squareRoot())) < 1e-12)
        let seasonal = try Baseline.seasonalNaive.forecast(y, horizon: 3, season: 2)
        #expect(seasonal.mean == [4, 6, 4], "the last season (4, 6) repeated")
        let drift = try Baseline.drift.forecast(y, horizon: 2)
        #expect(abs(drift.mean[0] - (6 + 5.0 / 7)) < 1e-12 && abs(drift.mean[1] - (6 + 10.0 / 7)) < 1e-12)
        #expect(throws: ForecastError.tooShort(needed: 3, got: 2)) { try Baseline.seasonalNaive.forecast([1, 2], horizon: 1, season: 2) }
    }
}

@Suite struct ExponentialSmoothingTests {
    @Test func simpleExponentialSmoothingRecoversAlpha() throws {
        for (seed, alpha) in [(UInt64(1), 0.2), (2, 0.5), (3, 0.8)] {
            let y = simulate(n: 600, alpha: alpha, seed: seed)
            let fit = try #require(ExponentialSmoothing.fit(y, model: ETSModel(error: .additive, trend: .none, season: .none)))
            #expect(abs(fit.alpha - alpha) < 0.08, "α \(alpha) fitted as \(fit.alpha)")
            #expect(abs(fit.sigma - 1) < 0.1, "σ fitted as \(fit.sigma)")
        }
    }

    @Test func holtRecoversAlphaAndBeta() throws {
        let y = simulate(n: 800, alpha: 0.5, beta: 0.1, slope: 0.3, seed: 11)
        let fit = try #require(ExponentialSmoothing.fit(y, model: ETSModel(error: .additive, trend: .additive, season: .none)))
        #expect(abs(fit.alpha - 0.5) < 0.1 && abs(fit.beta - 0.1) < 0.06, "α \(fit.alpha), β \(fit.beta)")
    }

    @Test func seasonalSeriesGetsASeasonalModelThatBeatsSeasonalNaive() throws {
        let y = simulate(n: 240, alpha: 0.2, gamma: 0.05, season: 12, level: 100, amplitude: 10, seed: 21)
        let training = Array(y.prefix(216)), test = Array(y.suffix(24))
        let fit = try #require(ExponentialSmoothing.auto(training, season: 12))
        #expect(fit.model.season != .none, "chosen: \(fit.model)")
        let ets = meanAbsoluteScaledError(forecast: fit.forecast(horizon: 24).mean, actual: test, training: training, season: 12)
        let snaive = meanAbsoluteScaledError(forecast: try Baseline.seasonalNaive.forecast(training, horizon: 24, season: 12).mean, actual: test, training: training, season: 12)
        #expect(ets < snaive, "ETS MASE \(ets) vs seasonal naive \(snaive)")
    }

    @Test func aiccPrefersTheModelThatGeneratedTheData() throws {
        let level = simulate(n: 300, alpha: 0.3, seed: 5)
        #expect(ExponentialSmoothing.auto(level)?.model.trend == ETSModel.Component.none)
        let trended = simulate(n: 300, alpha: 0.3, beta: 0.05, slope: 1, seed: 6)
        #expect(ExponentialSmoothing.auto(trended)?.model.trend != ETSModel.Component.none)
    }

    /// Over many simulated futures the 80% and 95% intervals hold the truth about that often.
    @Test func intervalsHaveTheirNominalCoverage() throws {
        var inside80 = 0, inside95 = 0, total = 0
        for seed in 0..<150 {
            let y = simulate(n: 160, alpha: 0.4, seed: UInt64(1_000 + seed))
            let training = Array(y.prefix(150)), future = Array(y.suffix(10))
            guard let fit = ExponentialSmoothing.fit(training, model: ETSModel(error: .additive, trend: .none, season: .none)) else { continue }
            let forecast = fit.forecast(horizon: 10, paths: 1_000, seed: UInt64(seed))
            for step in 0..<10 {
                total += 1
                if forecast.lower80[step] <= future[step], future[step] <= forecast.upper80[step] { inside80 += 1 }
                if forecast.lower95[step] <= future[step], future[step] <= forecast.upper95[step] { inside95 += 1 }
            }
        }
        let coverage80 = Double(inside80) / Double(total), coverage95 = Double(inside95) / Double(total)
        #expect((0.74...0.86).contains(coverage80), "80% interval covers \(coverage80)")
        #expect((0.91...0.98).contains(coverage95), "95% interval covers \(coverage95)")
    }
}

@Suite struct ForecasterTests {
    @Test func constantShortMissingAndInfiniteSeries() throws {
        let constant = try Forecaster.forecast([5, 5, 5, 5], horizon: 3)
        #expect(constant.forecast.mean == [5, 5, 5] && constant.forecast.lower95 == [5, 5, 5])
        #expect(constant.notes.contains { $0.contains("constant") })
        #expect(throws: ForecastError.tooShort(needed: 2, got: 1)) { try Forecaster.forecast([nil, 3, nil], horizon: 2) }
        #expect(throws: ForecastError.nonFinite(index: 2)) { try Forecaster.forecast([1, 2, .infinity, 4], horizon: 2) }
        #expect(throws: ForecastError.invalidHorizon(0)) { try Forecaster.forecast([1, 2, 3], horizon: 0) }
        let gaps = try PreparedSeries([nil, 1, nil, 3, .nan, 7, nil])
        #expect(gaps.values == [1, 2, 3, 5, 7] && gaps.interpolated == 2 && gaps.dropped == 2)
    }

    @Test func seasonLengthIsDetected() {
        let y = simulate(n: 200, alpha: 0.1, season: 7, amplitude: 8, sigma: 0.5, seed: 9)
        #expect(detectSeasonLength(y) == 7)
        #expect(detectSeasonLength(simulate(n: 200, alpha: 0.3, seed: 10)) == nil)
    }

    @Test func autoPicksSomethingBetterThanNaiveOnASeasonalSeries() throws {
        let y = simulate(n: 192, alpha: 0.2, gamma: 0.05, season: 12, level: 100, amplitude: 10, seed: 31)
        let training = Array(y.prefix(180)), future = Array(y.suffix(12))
        let result = try Forecaster.forecast(training.map { $0 }, horizon: 12)
        #expect(result.season == 12, "\(result.notes)")
        #expect(result.forecast.mean.count == 12 && zip(result.forecast.lower95, result.forecast.upper95).allSatisfy { $0 < $1 })
        // Whichever family wins, it must have found the season: it beats the naive forecast by far
        // on the future the simulation went on to produce.
        let naive = try Baseline.naive.forecast(training, horizon: 12)
        let chosen = meanAbsoluteScaledError(forecast: result.forecast.mean, actual: future, training: training, season: 12)
        let flat = meanAbsoluteScaledError(forecast: naive.mean, actual: future, training: training, season: 12)
        #expect(chosen < 0.5 * flat, "\(result.forecast.model): \(chosen) vs naive \(flat)")
    }
}

/// Simulates an ARMA(1,1) around `mean` (ε ~ N(0, 1)), optionally integrated once.
func simulateARMA(n: Int, phi: Double, theta: Double, mean: Double = 0, integrated: Bool = false, seed: UInt64) -> [Double] {
    var random = GaussianRandom(seed: seed)
    var previous = 0.0, previousError = 0.0
    var series: [Double] = []
    for _ in 0..<(n + 100) {
        let error = random.next()
        let value = phi * previous + error + theta * previousError
        series.append(value)
        previous = value
        previousError = error
    }
    let stationary = series.suffix(n).map { $0 + mean }
    guard integrated else { return stationary }
    var total = 0.0
    return stationary.map { total += $0; return total }
}

@Suite struct ARIMATests {
    @Test func recoversARAndMACoefficients() throws {
        let ar = try #require(ARIMA.fit(simulateARMA(n: 800, phi: 0.6, theta: 0, mean: 10, seed: 41), order: ARIMAOrder(p: 1, d: 0, q: 0, constant: true)))
        #expect(abs(ar.ar[0] - 0.6) < 0.07 && abs(ar.constant - 10) < 0.4, "φ \(ar.ar), mean \(ar.constant)")
        let ma = try #require(ARIMA.fit(simulateARMA(n: 800, phi: 0, theta: 0.5, seed: 42), order: ARIMAOrder(p: 0, d: 0, q: 1)))
        #expect(abs(ma.ma[0] - 0.5) < 0.08, "θ \(ma.ma)")
        let arma = try #require(ARIMA.fit(simulateARMA(n: 1_000, phi: 0.7, theta: -0.3, seed: 43), order: ARIMAOrder(p: 1, d: 0, q: 1)))
        #expect(abs(arma.ar[0] - 0.7) < 0.1 && abs(arma.ma[0] + 0.3) < 0.12, "φ \(arma.ar), θ \(arma.ma)")
    }

    /// The KPSS choice of d is a test at 5%: judged over many series, not one. Its power against a
    /// random walk of 300 values is about 0.9 (a walk that wanders back looks level), so 2 of these 20
    /// walks keep d = 0 (with a near-unit-root AR part instead).
    @Test func autoDifferencesRandomWalksAndRarelyStationarySeries() throws {
        var walksDifferenced = 0, stationaryKept = 0
        for seed in 0..<20 {
            if (ARIMA.auto(simulateARMA(n: 300, phi: 0.3, theta: 0, integrated: true, seed: UInt64(500 + seed)))?.order.d ?? 0) >= 1 { walksDifferenced += 1 }
            if ARIMA.auto(simulateARMA(n: 300, phi: 0.5, theta: 0, mean: 5, seed: UInt64(600 + seed)))?.order.d == 0 { stationaryKept += 1 }
        }
        #expect(walksDifferenced >= 17, "random walks differenced: \(walksDifferenced)/20")
        #expect(stationaryKept >= 15, "stationary AR(1) left undifferenced: \(stationaryKept)/20")
    }

    @Test func seasonalSeriesGetsASeasonalDifference() throws {
        let y = simulate(n: 144, alpha: 0.3, season: 12, level: 100, slope: 0.5, amplitude: 15, sigma: 1, seed: 46)
        let fit = try #require(ARIMA.auto(y, season: 12))
        #expect(fit.order.seasonalD == 1, "\(fit.order)")
        let forecast = fit.forecast(horizon: 24)
        #expect(forecast.mean.count == 24 && zip(forecast.lower95, forecast.upper95).allSatisfy { $0 < $1 })
        // Intervals widen with the horizon for an integrated model.
        #expect(forecast.upper95[23] - forecast.lower95[23] > forecast.upper95[0] - forecast.lower95[0])
    }

    /// statsmodels' SARIMAX (exact likelihood, `scripts/golden/arima_likelihood.py`) on the CO2 series:
    /// the same maximised AICc and the same forecasts, also for orders whose seasonal MA root sits
    /// near the unit circle, where CSS estimates and CSS-residual forecasts go wrong.
    @Test func exactLikelihoodMatchesStatsmodels() throws {
        struct Reference: Decodable {
            var p: Int, d: Int, q: Int, P: Int, D: Int, Q: Int, season: Int
            var constant: Bool
            var aicc: Double
            var forecast: [Double]
        }
        struct Series: Decodable { var name: String, horizon: Int, values: [Double] }
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
        let references = try JSONDecoder().decode([Reference].self, from: Data(contentsOf: golden.appendingPathComponent("arima_likelihood.json")))
        let co2 = try #require(try JSONDecoder().decode([Series].self, from: Data(contentsOf: golden.appendingPathComponent("forecast_reference.json")))
            .first { $0.name == "co2_monthly" })
        let training = Array(co2.values.dropLast(co2.horizon))
        #expect(references.count == 4)
        for reference in references {
            let order = ARIMAOrder(p: reference.p, d: reference.d, q: reference.q, seasonalP: reference.P, seasonalD: reference.D,
                                   seasonalQ: reference.Q, season: reference.season, constant: reference.constant)
            let fit = try #require(ARIMA.fit(training, order: order, method: .maximumLikelihood))
            #expect(fit.aicc < reference.aicc + 0.05 && fit.aicc > reference.aicc - 0.5, "\(order): AICc \(fit.aicc) vs \(reference.aicc)")
            let worst = zip(fit.forecast(horizon: 24).mean, reference.forecast).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst < 0.03, "\(order): forecasts differ by up to \(worst)")
        }
    }

    /// The closed-form stationary state covariance against the defining sum Σ Tᵏ R Rᵀ Tᵀᵏ.
    @Test func stationaryCovarianceSolvesTheLyapunovEquation() throws {
        for (phi, theta) in [([0.5], [Double]()), ([0.5, 0.2], [0.3]), ([0.6, 0.1, 0.15], [0, 0, 0.4, 0.2]), ([0, 0, 0, 0.8], [-0.5])] {
            let r = max(phi.count, theta.count + 1)
            let column = (0..<r).map { $0 < phi.count ? phi[$0] : 0 }
            let noise = [1.0] + (1..<r).map { $0 - 1 < theta.count ? theta[$0 - 1] : 0 }
            let closedForm = try #require(ARIMA.stationaryCovariance(column, noise))
            var sum = [Double](repeating: 0, count: r * r)
            var vector = noise  // Tᵏ R
            for _ in 0..<2_000 {
                for i in 0..<r { for j in 0..<r { sum[i * r + j] += vector[i] * vector[j] } }
                let first = vector[0]
                vector = (0..<r).map { column[$0] * first + ($0 + 1 < r ? vector[$0 + 1] : 0) }
            }
            let worst = zip(closedForm, sum).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst < 1e-9, "φ \(phi) θ \(theta): differs by \(worst)")
        }
    }

    /// Counting every model's likelihood over the same observations: before, each AR lag dropped one
    /// CSS residual and so "improved" the AICc, and the search ended at AR(5) for ARMA(1,1) data.
    @Test func stepwiseSearchDoesNotInflateTheAROrder() {
        var small = 0
        for seed in 0..<6 {
            let order = ARIMA.auto(simulateARMA(n: 400, phi: 0.7, theta: 0.3, mean: 10, seed: UInt64(700 + seed)))?.order
            if let order, order.p <= 2, order.q <= 2 { small += 1 }
        }
        #expect(small >= 5, "ARMA(1,1) data given p, q ≤ 2 in \(small) of 6")
    }

    @Test func ar1ForecastsRevertToTheMean() throws {
        let y = simulateARMA(n: 500, phi: 0.8, theta: 0, mean: 20, seed: 47)
        let fit = try #require(ARIMA.fit(y, order: ARIMAOrder(p: 1, d: 0, q: 0, constant: true)))
        let forecast = fit.forecast(horizon: 60)
        #expect(abs(forecast.mean[59] - fit.constant) < 0.05)
        // h = 1 interval is ±1.96σ.
        #expect(abs((forecast.upper95[0] - forecast.mean[0]) - 1.959963984540054 * fit.sigma2.squareRoot()) < 1e-9)
    }

    /// The ranking rules on the holdouts' scores: the sunspot case (seasonal naive 0.907 on a
    /// detected 10-year season against ARIMA 0.953) goes to ARIMA, the same scores with the season
    /// given go to seasonal naive, and a clear win keeps it; a candidate without the detected season
    /// needs a clear win too.
    @Test func aDetectedSeasonNeedsAClearWinToBeCopiedOrDropped() {
        typealias C = Forecaster.Candidate
        let snaive = C(method: .seasonalNaive, season: 10), arima = C(method: .arima, season: 10), flat = C(method: .arima, season: nil)
        #expect(Forecaster.choose([(snaive, 0.907), (arima, 0.953), (flat, 0.97)], season: 10, seasonDetected: true) == arima)
        #expect(Forecaster.choose([(snaive, 0.907), (arima, 0.953), (flat, 0.97)], season: 10, seasonDetected: false) == snaive)
        #expect(Forecaster.choose([(snaive, 0.70), (arima, 0.953)], season: 10, seasonDetected: true) == snaive)
        let arima12 = C(method: .arima, season: 12)
        #expect(Forecaster.choose([(flat, 0.805), (arima12, 0.812)], season: 12, seasonDetected: true) == arima12)
        #expect(Forecaster.choose([(flat, 0.70), (arima12, 0.812)], season: 12, seasonDetected: true) == flat)
        // Seasonal naive set aside, the next rule still applies to what is left.
        #expect(Forecaster.choose([(snaive, 0.80), (flat, 0.81), (arima, 0.83)], season: 10, seasonDetected: true) == arima)
    }
}
