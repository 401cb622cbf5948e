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

/// The front door: cleans the series, picks the season and the model, forecasts.
public enum Forecaster {
    public static func forecast(_ raw: [Double?], horizon: Int, season: Int? = nil, method: ForecastMethod = .auto) throws(ForecastError) -> ForecastResult {
        guard horizon >= 1 else { throw .invalidHorizon(horizon) }
        if let season, season < 2 { throw .invalidSeason(season) }
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
        if m == nil, method != .naive, method != .drift {
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
        case .combination:
            guard let arima = ARIMA.auto(y, season: m), let ets = ExponentialSmoothing.auto(y, season: m) else {
                return try fallback(y, horizon, m, notes + ["too short for ARIMA and ETS: naive instead"])
            }
            return ForecastResult(forecast: combine(arima.forecast(horizon: horizon), ets.forecast(horizon: horizon)), season: m, notes: notes)
        case .auto:
            return try selectOnHoldout(y, horizon: horizon, season: m, notes: notes)
        }
    }

    /// How much worse on the holdouts the combination may be than the better family and still be chosen.
    static let combinationTieMargin = 0.02

    /// Each family's best model forecasts the last `holdout` values from the rest, and again from
    /// up to two earlier origins (rolling forward by `holdout`); the family with the smallest mean
    /// MASE (the combination when it is within `combinationTieMargin` of the better of ARIMA and
    /// ETS) is refitted on the whole series. Several origins make the choice less of a coin toss
    /// than one short holdout.
    static func selectOnHoldout(_ y: [Double], horizon: Int, season m: Int?, notes: [String]) throws(ForecastError) -> ForecastResult {
        let holdout = min(horizon, max(1, y.count / 5))
        var families: [ForecastMethod] = [.arima, .ets, .combination, .naive, .drift]
        if m != nil { families.append(.seasonalNaive) }
        var totals: [ForecastMethod: (sum: Double, count: Int)] = [:]
        for origin in 0..<3 {
            let end = y.count - origin * holdout
            let training = Array(y.prefix(end - holdout)), actual = Array(y[(end - holdout)..<end])
            guard training.count >= max(10, 2 * (m ?? 1) + 2) else { break }
            var forecasts: [ForecastMethod: Forecast] = [:]
            for family in families {
                if family == .combination {
                    // The average of this origin's ARIMA and ETS, not a second fit of each.
                    if let arima = forecasts[.arima], let ets = forecasts[.ets] { forecasts[family] = combine(arima, ets) }
                    continue
                }
                guard let result = try? forecast(training.map { $0 }, horizon: holdout, season: m, method: family),
                      result.notes.allSatisfy({ !$0.contains("instead") }) else { continue }
                forecasts[family] = result.forecast
            }
            for (family, predicted) in forecasts {
                let mase = meanAbsoluteScaledError(forecast: predicted.mean, actual: actual, training: training, season: m ?? 1)
                if mase.isFinite { totals[family, default: (0, 0)].sum += mase; totals[family, default: (0, 0)].count += 1 }
            }
        }
        let rounds = totals.values.map(\.count).max() ?? 0
        let scores = totals.filter { $0.value.count == rounds }.map { (method: $0.key, mase: $0.value.sum / Double($0.value.count)) }
            .sorted { ($0.mase, families.firstIndex(of: $0.method)!) < ($1.mase, families.firstIndex(of: $1.method)!) }
        var winner = scores.first?.method ?? .ets
        // A few percent apart over three origins is within the holdouts' noise; there the average
        // of ARIMA and ETS is the safer bet (it is rarely far from the better of the two, while
        // picking the wrong one of two close families can cost a lot: CO2 0.143 vs 0.181).
        if let combination = scores.first(where: { $0.method == .combination }), let best = scores.first,
           [.arima, .ets].contains(best.method), combination.mase <= best.mase * (1 + combinationTieMargin) {
            winner = .combination
        }
        var result = try forecast(y.map { $0 }, horizon: horizon, season: m, method: winner)
        result.notes = notes + result.notes.filter { !notes.contains($0) }
        if !scores.isEmpty {
            result.notes.append("chosen on \(rounds) holdout(s) of \(holdout) values: " + scores.map { "\($0.method.rawValue) MASE \(String(format: "%.3f", $0.mase))" }.joined(separator: ", "))
        }
        return result
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
