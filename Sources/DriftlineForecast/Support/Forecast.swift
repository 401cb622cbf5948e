/// A point forecast with 80% and 95% prediction intervals, and what produced it.
public struct Forecast: Equatable, Sendable {
    /// e.g. "ETS(A,Ad,N)", "Naive", "SeasonalNaive(12)".
    public var model: String
    public var mean: [Double]
    public var lower80: [Double]
    public var upper80: [Double]
    public var lower95: [Double]
    public var upper95: [Double]
    /// Fitted parameters by name (alpha, beta, gamma, phi, sigma, …).
    public var parameters: [String: Double]
    /// Corrected Akaike information criterion, when the model has a likelihood.
    public var aicc: Double?

    public init(model: String, mean: [Double], lower80: [Double], upper80: [Double], lower95: [Double], upper95: [Double],
                parameters: [String: Double] = [:], aicc: Double? = nil) {
        self.model = model
        self.mean = mean
        self.lower80 = lower80
        self.upper80 = upper80
        self.lower95 = lower95
        self.upper95 = upper95
        self.parameters = parameters
        self.aicc = aicc
    }

    /// Symmetric normal intervals around `mean` with standard deviations `sd`.
    init(model: String, mean: [Double], sd: [Double], parameters: [String: Double] = [:], aicc: Double? = nil) {
        let z80 = 1.2815515655446004, z95 = 1.959963984540054
        self.init(model: model, mean: mean,
                  lower80: zip(mean, sd).map { $0 - z80 * $1 }, upper80: zip(mean, sd).map { $0 + z80 * $1 },
                  lower95: zip(mean, sd).map { $0 - z95 * $1 }, upper95: zip(mean, sd).map { $0 + z95 * $1 },
                  parameters: parameters, aicc: aicc)
    }
}

public enum ForecastError: Error, Equatable, CustomStringConvertible {
    case tooShort(needed: Int, got: Int)
    case nonFinite(index: Int)
    case invalidHorizon(Int)
    case invalidSeason(Int)
    case invalidTimes(String)
    case modelFailed(String)

    public var description: String {
        switch self {
        case let .tooShort(needed, got): "the series has \(got) usable values; at least \(needed) are needed"
        case let .nonFinite(index): "value \(index) is not finite (infinite values cannot be forecast; use an empty cell or null for missing)"
        case let .invalidHorizon(h): "the horizon must be at least 1 (got \(h))"
        case let .invalidSeason(m): "the season length must be at least 2 (got \(m))"
        case let .invalidTimes(reason): "invalid times: \(reason)"
        case let .modelFailed(reason): reason
        }
    }
}

/// Mean absolute scaled error of `forecast` against `actual`, scaled by the in-sample MAE of the
/// seasonal naive method with period `season` (1: naive) on `training` (Hyndman & Koehler 2006).
public func meanAbsoluteScaledError(forecast: [Double], actual: [Double], training: [Double], season: Int = 1) -> Double {
    let m = max(1, season)
    guard training.count > m, !actual.isEmpty else { return .nan }
    var scale = 0.0
    for index in m..<training.count { scale += abs(training[index] - training[index - m]) }
    scale /= Double(training.count - m)
    let error = zip(forecast, actual).reduce(0.0) { $0 + abs($1.0 - $1.1) } / Double(min(forecast.count, actual.count))
    return error / scale
}
