import Foundation

/// The benchmark methods every fitted model must beat (Hyndman & Athanasopoulos, FPP3 §5.2, §5.5):
/// intervals from the residual standard deviation under normal errors.
public enum Baseline: String, CaseIterable, Sendable {
    /// Every forecast is the last value.
    case naive
    /// Every forecast is the value one season earlier.
    case seasonalNaive
    /// The last value plus the average change (a random walk with drift).
    case drift

    public func forecast(_ y: [Double], horizon: Int, season: Int = 1) throws(ForecastError) -> Forecast {
        guard horizon >= 1 else { throw .invalidHorizon(horizon) }
        let n = y.count
        switch self {
        case .naive:
            guard n >= 2 else { throw .tooShort(needed: 2, got: n) }
            let sigma = Self.sigma(residuals: (1..<n).map { y[$0] - y[$0 - 1] }, parameters: 0)
            return Forecast(model: "Naive", mean: Array(repeating: y[n - 1], count: horizon),
                            sd: (1...horizon).map { sigma * Double($0).squareRoot() }, parameters: ["sigma": sigma])
        case .seasonalNaive:
            guard season >= 2 else { throw .invalidSeason(season) }
            guard n > season else { throw .tooShort(needed: season + 1, got: n) }
            let sigma = Self.sigma(residuals: (season..<n).map { y[$0] - y[$0 - season] }, parameters: 0)
            let mean = (1...horizon).map { h in y[n - season + (h - 1) % season] }
            let sd = (1...horizon).map { h in sigma * Double((h - 1) / season + 1).squareRoot() }
            return Forecast(model: "SeasonalNaive(\(season))", mean: mean, sd: sd, parameters: ["sigma": sigma])
        case .drift:
            guard n >= 3 else { throw .tooShort(needed: 3, got: n) }
            let slope = (y[n - 1] - y[0]) / Double(n - 1)
            let sigma = Self.sigma(residuals: (1..<n).map { y[$0] - y[$0 - 1] - slope }, parameters: 1)
            let mean = (1...horizon).map { y[n - 1] + slope * Double($0) }
            let sd = (1...horizon).map { h in sigma * (Double(h) * (1 + Double(h) / Double(n - 1))).squareRoot() }
            return Forecast(model: "Drift", mean: mean, sd: sd, parameters: ["slope": slope, "sigma": sigma])
        }
    }

    static func sigma(residuals: [Double], parameters: Int) -> Double {
        let count = residuals.count - parameters
        guard count > 0 else { return 0 }
        return (residuals.reduce(0) { $0 + $1 * $1 } / Double(count)).squareRoot()
    }
}
