import Foundation

/// Which model `Forecaster` uses.
public enum ForecastMethod: String, CaseIterable, Sendable {
    /// ARIMA, exponential smoothing and the baselines compete on a holdout; the winner is refitted on all data.
    case auto
    /// Automatic (seasonal) ARIMA in the manner of Hyndman–Khandakar.
    case arima
    /// The average of the automatic ARIMA and ETS forecasts (and of their interval bounds).
    case combination
    /// The ETS model with the smallest AICc.
    case ets
    /// Prophet's model (piecewise-linear trend with changepoints, Fourier seasonalities), its defaults.
    case prophet
    case naive
    case seasonalNaive = "snaive"
    case drift
}

public struct ForecastResult: Sendable {
    public var forecast: Forecast
    /// The season length used (given, or detected), if any.
    public var season: Int?
    /// What was done to the input or why a fallback was taken, for the user.
    public var notes: [String]
}

/// When the values were observed and when the forecast is for, in days (days since 1970-01-01 for
/// calendar dates: Prophet phases its yearly, weekly and daily terms on them).
public struct SeriesTimes: Equatable, Sendable {
    public var observed: [Double]
    public var future: [Double]
    public init(observed: [Double], future: [Double]) { self.observed = observed; self.future = future }
}

/// The front door: cleans the series, picks the season and the model, forecasts.
public enum Forecaster {
    /// `times`, when given, has a time for every raw value and for every step of the horizon; only
    /// Prophet uses it (the other models assume evenly spaced values).
    /// `prophet` sets Prophet's growth, prior scales and seasonality mode (its seasonalities still
    /// follow the times, or the season).
    public static func forecast(_ raw: [Double?], horizon: Int, season: Int? = nil, method: ForecastMethod = .auto,
                                times: SeriesTimes? = nil, prophet: Prophet.Settings = Prophet.Settings()) throws(ForecastError) -> ForecastResult {
        try forecast(raw, horizon: horizon, season: season, method: method, times: times, detectSeason: true, prophet: prophet)
    }

    /// `detectSeason` false: no season means none (the holdouts' candidates without one).
    static func forecast(_ raw: [Double?], horizon: Int, season: Int?, method: ForecastMethod, times: SeriesTimes?,
                         detectSeason: Bool, prophet settings: Prophet.Settings = Prophet.Settings()) throws(ForecastError) -> ForecastResult {
        guard horizon >= 1 else { throw .invalidHorizon(horizon) }
        if let season, season < 2 { throw .invalidSeason(season) }
        if let times {
            guard times.observed.count == raw.count, times.future.count == horizon else {
                throw .invalidTimes("\(times.observed.count) times for \(raw.count) values and \(times.future.count) for a horizon of \(horizon)")
            }
            let all = times.observed + times.future
            if let index = all.indices.dropFirst().first(where: { !(all[$0] > all[$0 - 1]) }) {
                throw .invalidTimes("time \(index + 1) is not after the one before it (times must increase)")
            }
        }
        let prepared = try PreparedSeries(raw)
        var notes: [String] = []
        if prepared.interpolated > 0 { notes.append("\(prepared.interpolated) missing values inside the series were interpolated linearly") }
        if prepared.dropped > 0 { notes.append("\(prepared.dropped) missing values at the ends were dropped") }
        let y = prepared.values
        guard y.count >= 2 else { throw .tooShort(needed: 2, got: y.count) }
        if y.allSatisfy({ $0 == y[0] }) {
            notes.append("the series is constant: forecasting it unchanged, with no uncertainty")
            let flat = Array(repeating: y[0], count: horizon)
            return ForecastResult(forecast: Forecast(model: "Naive", mean: flat, lower80: flat, upper80: flat, lower95: flat, upper95: flat,
                                                     parameters: ["sigma": 0]), season: nil, notes: notes)
        }
        var m = season
        if m == nil, detectSeason, method != .naive, method != .drift {
            m = detectSeasonLength(y)
            if let m { notes.append("season length \(m) detected from the autocorrelation") }
        }
        if let length = m, y.count < 2 * length + 2 {
            notes.append("too short for a season of \(length) (needs \(2 * length + 2) values): seasonality ignored")
            m = nil
        }

        switch method {
        case .naive: return ForecastResult(forecast: try Baseline.naive.forecast(y, horizon: horizon), season: m, notes: notes)
        case .drift:
            guard y.count >= 3 else { return try fallback(y, horizon, m, notes + ["drift needs 3 values: naive instead"]) }
            return ForecastResult(forecast: try Baseline.drift.forecast(y, horizon: horizon), season: m, notes: notes)
        case .seasonalNaive:
            guard let m else { return try fallback(y, horizon, nil, notes + ["no season given or detected: naive instead"]) }
            return ForecastResult(forecast: try Baseline.seasonalNaive.forecast(y, horizon: horizon, season: m), season: m, notes: notes)
        case .ets:
            guard let fit = ExponentialSmoothing.auto(y, season: m) else {
                return try fallback(y, horizon, m, notes + ["too short for exponential smoothing: naive instead"])
            }
            return ForecastResult(forecast: fit.forecast(horizon: horizon), season: m, notes: notes)
        case .arima:
            guard let fit = ARIMA.auto(y, season: m) else {
                return try fallback(y, horizon, m, notes + ["too short for ARIMA: naive instead"])
            }
            return ForecastResult(forecast: fit.forecast(horizon: horizon), season: m, notes: notes)
        case .prophet:
            return try prophet(raw, prepared: prepared, horizon: horizon, season: m, seasonGiven: season != nil, times: times, settings: settings, notes: notes)
        case .combination:
            guard let arima = ARIMA.auto(y, season: m), let ets = ExponentialSmoothing.auto(y, season: m) else {
                return try fallback(y, horizon, m, notes + ["too short for ARIMA and ETS: naive instead"])
            }
            return ForecastResult(forecast: combine(arima.forecast(horizon: horizon), ets.forecast(horizon: horizon)), season: m, notes: notes)
        case .auto:
            return try selectOnHoldout(y, horizon: horizon, season: m, notes: notes, times: times.map { prepared.trimmed($0) },
                                       seasonDetected: season == nil && m != nil)
        }
    }

    /// How much worse on the holdouts the combination may be than the better family and still be chosen.
    static let combinationTieMargin = 0.02
    /// How much better than every other candidate seasonal naive must do on the holdouts to be chosen
    /// for a season that was detected, not given: a detected cycle may not be a fixed period (the
    /// sunspots' ~11 years drift), and copying the last cycle then goes wrong as the phase slips.
    static let detectedSeasonNaiveMargin = 0.15
    /// How much better a candidate without the detected season must do than the best with it: the
    /// detection is evidence too, and a near tie on three holdouts is noise (ARIMA with and without
    /// a clear 12-month season: 0.805 vs 0.812).
    static let withoutDetectedSeasonMargin = 0.05

    /// One model family at one season length (nil: no seasonality).
    struct Candidate: Hashable {
        var method: ForecastMethod
        var season: Int?
        func label(seasonal m: Int?) -> String { method.rawValue + (season == nil && m != nil && method != .naive && method != .drift ? " (no season)" : "") }
    }

    /// Each family's best model forecasts the last `holdout` values from the rest, and again from
    /// up to two earlier origins (rolling forward by `holdout`); the family with the smallest mean
    /// MASE (the combination when it is within `combinationTieMargin` of the better of ARIMA and
    /// ETS) is refitted on the whole series. Several origins make the choice less of a coin toss
    /// than one short holdout. When the season was detected (`seasonDetected`), ARIMA and ETS also
    /// compete without it (and must win by `withoutDetectedSeasonMargin`), and seasonal naive must
    /// win by `detectedSeasonNaiveMargin`.
    static func selectOnHoldout(_ y: [Double], horizon: Int, season m: Int?, notes: [String], times: SeriesTimes? = nil,
                                seasonDetected: Bool = false) throws(ForecastError) -> ForecastResult {
        let holdout = min(horizon, max(1, y.count / 5))
        var candidates: [Candidate] = [.arima, .ets, .combination, .prophet, .naive, .drift].map { Candidate(method: $0, season: m) }
        if m != nil {
            candidates.append(Candidate(method: .seasonalNaive, season: m))
            if seasonDetected { candidates += [Candidate(method: .arima, season: nil), Candidate(method: .ets, season: nil)] }
        }
        var totals: [Candidate: (sum: Double, count: Int)] = [:]
        for origin in 0..<3 {
            let end = y.count - origin * holdout
            let training = Array(y.prefix(end - holdout)), actual = Array(y[(end - holdout)..<end])
            guard training.count >= max(10, 2 * (m ?? 1) + 2) else { break }
            var forecasts: [Candidate: Forecast] = [:]
            for candidate in candidates {
                if candidate.method == .combination {
                    // The average of this origin's ARIMA and ETS, not a second fit of each.
                    if let arima = forecasts[Candidate(method: .arima, season: m)], let ets = forecasts[Candidate(method: .ets, season: m)] {
                        forecasts[candidate] = combine(arima, ets)
                    }
                    continue
                }
                // The holdout's own times, when the series has them (Prophet reads them).
                let window = times.map { SeriesTimes(observed: Array($0.observed.prefix(end - holdout)), future: Array($0.observed[(end - holdout)..<end])) }
                // A candidate that cannot fit this origin (too short, failed) sits it out; one that
                // misses an origin the others had is not ranked (below).
                guard let result = try? forecast(training.map { $0 }, horizon: holdout, season: candidate.season, method: candidate.method,
                                                 times: window, detectSeason: false),
                      result.notes.allSatisfy({ !$0.contains("instead") }) else { continue }
                forecasts[candidate] = result.forecast
            }
            for (candidate, predicted) in forecasts {
                let mase = meanAbsoluteScaledError(forecast: predicted.mean, actual: actual, training: training, season: m ?? 1)
                if mase.isFinite { totals[candidate, default: (0, 0)].sum += mase; totals[candidate, default: (0, 0)].count += 1 }
            }
        }
        let rounds = totals.values.map(\.count).max() ?? 0
        let scores = totals.filter { $0.value.count == rounds }.map { (candidate: $0.key, mase: $0.value.sum / Double($0.value.count)) }
            .sorted { ($0.mase, candidates.firstIndex(of: $0.candidate)!) < ($1.mase, candidates.firstIndex(of: $1.candidate)!) }
        let winner = choose(scores, season: m, seasonDetected: seasonDetected)
        var result = try forecast(y.map { $0 }, horizon: horizon, season: winner.season, method: winner.method, times: times, detectSeason: false)
        result.notes = notes + result.notes.filter { !notes.contains($0) }
        if !scores.isEmpty {
            result.notes.append("chosen on \(rounds) holdout(s) of \(holdout) values: " + scores.map { "\($0.candidate.label(seasonal: m)) MASE \(String(format: "%.3f", $0.mase))" }.joined(separator: ", "))
        }
        if winner.season == nil, m != nil { result.notes.append("the detected season of \(m!) was not used: the non-seasonal \(winner.method.rawValue) did better on the holdouts") }
        return result
    }

    /// The candidate to refit, from the holdouts' mean MASE per candidate (best first): the best,
    /// except that seasonal naive on a detected season must win by `detectedSeasonNaiveMargin`,
    /// a candidate without a detected season by `withoutDetectedSeasonMargin`, and the ARIMA/ETS
    /// average is taken within `combinationTieMargin` of the better of the two.
    static func choose(_ scores: [(candidate: Candidate, mase: Double)], season m: Int?, seasonDetected: Bool) -> Candidate {
        var ranked = scores
        if seasonDetected, let best = ranked.first, best.candidate.method == .seasonalNaive, ranked.count > 1,
           best.mase > ranked[1].mase * (1 - detectedSeasonNaiveMargin) {
            ranked.removeFirst()
        }
        if seasonDetected, let best = ranked.first, best.candidate.season == nil, [.arima, .ets].contains(best.candidate.method),
           let seasonal = ranked.first(where: { $0.candidate.season == m && $0.candidate.method != .seasonalNaive }),
           best.mase > seasonal.mase * (1 - withoutDetectedSeasonMargin) {
            ranked.removeAll { $0.candidate.season == nil && [.arima, .ets].contains($0.candidate.method) }
        }
        var winner = ranked.first?.candidate ?? Candidate(method: .ets, season: m)
        // A few percent apart over three origins is within the holdouts' noise; there the average
        // of ARIMA and ETS is the safer bet (it is rarely far from the better of the two, while
        // picking the wrong one of two close families can cost a lot: CO2 0.143 vs 0.181).
        if let combination = ranked.first(where: { $0.candidate.method == .combination }), let best = ranked.first,
           [.arima, .ets].contains(best.candidate.method), best.candidate.season == m, combination.mase <= best.mase * (1 + combinationTieMargin) {
            winner = combination.candidate
        }
        return winner
    }

    /// Prophet with its defaults. With times, Prophet's own rules choose the yearly, weekly and daily
    /// terms; without, the values are one day apart and the season (given or detected), if any, is
    /// a custom seasonality of that many steps (Fourier order up to 10). Prophet skips missing
    /// values rather than filling them, so with times the raw values' present ones are fitted.
    static func prophet(_ raw: [Double?], prepared: PreparedSeries, horizon: Int, season m: Int?, seasonGiven: Bool,
                        times: SeriesTimes?, settings: Prophet.Settings, notes: [String]) throws(ForecastError) -> ForecastResult {
        var settings = settings
        var notes = notes
        let observed: [Double], values: [Double], future: [Double]
        if let times {
            let present = raw.indices.filter { raw[$0].map { !$0.isNaN } ?? false }
            observed = present.map { times.observed[$0] }
            values = present.map { raw[$0]! }
            future = times.future
            if m != nil, seasonGiven { notes.append("Prophet chooses its seasonalities from the times: the season length given is not used") }
        } else {
            values = prepared.values
            observed = values.indices.map(Double.init)
            future = (0..<horizon).map { Double(values.count + $0) }
            settings.yearly = .off; settings.weekly = .off; settings.daily = .off
            if let m { settings.extraSeasonalities = [Prophet.Seasonality(name: "season", period: Double(m), order: min(10, m / 2))] }
        }
        do {
            let fit = try Prophet.fit(times: observed, values: values, settings: settings)
            if !fit.converged { notes.append("Prophet's optimiser stopped after \(fit.iterations) iterations before converging") }
            return ForecastResult(forecast: fit.forecast(future), season: times == nil ? m : nil, notes: notes)
        } catch { throw .modelFailed("Prophet: \(error.description)") }
    }

    /// The average of an ARIMA and an ETS forecast. Averaged bounds are conservative next to the
    /// combination's true spread (the two forecasts' errors are positively correlated), never narrower.
    static func combine(_ a: Forecast, _ e: Forecast) -> Forecast {
        func average(_ x: [Double], _ y: [Double]) -> [Double] { zip(x, y).map { ($0 + $1) / 2 } }
        return Forecast(model: "Combination(\(a.model), \(e.model))", mean: average(a.mean, e.mean),
                        lower80: average(a.lower80, e.lower80), upper80: average(a.upper80, e.upper80),
                        lower95: average(a.lower95, e.lower95), upper95: average(a.upper95, e.upper95))
    }

    private static func fallback(_ y: [Double], _ horizon: Int, _ m: Int?, _ notes: [String]) throws(ForecastError) -> ForecastResult {
        ForecastResult(forecast: try Baseline.naive.forecast(y, horizon: horizon), season: m, notes: notes)
    }
}
