import Foundation

/// An exponential smoothing state space model, ETS(error, trend, season), as in Hyndman, Koehler,
/// Ord & Snyder (2008) and FPP3 chapter 8. Trend is none, additive or additive damped
/// (multiplicative trend is left out, as `forecast::ets` does by default).
public struct ETSModel: Hashable, Sendable, CustomStringConvertible {
    public enum Component: String, Sendable { case none = "N", additive = "A", damped = "Ad", multiplicative = "M" }

    public var error: Component
    public var trend: Component
    public var season: Component

    public init(error: Component, trend: Component, season: Component) {
        self.error = error
        self.trend = trend
        self.season = season
    }

    public var description: String { "ETS(\(error.rawValue),\(trend.rawValue),\(season.rawValue))" }

    /// The models `auto` chooses among: additive or multiplicative errors (the latter for positive
    /// data), no / additive / damped trend, and with a season of length ≥ 2 no / additive /
    /// multiplicative season (multiplicative needs positive data; additive error with a
    /// multiplicative season is numerically unstable and left out, as in `forecast::ets`).
    public static func candidates(positive: Bool, seasonal: Bool) -> [ETSModel] {
        var models: [ETSModel] = []
        for error in positive ? [Component.additive, .multiplicative] : [.additive] {
            for trend in [Component.none, .additive, .damped] {
                for season in seasonal ? (positive ? [Component.none, .additive, .multiplicative] : [.none, .additive]) : [.none] {
                    if error == .additive, season == .multiplicative { continue }
                    models.append(ETSModel(error: error, trend: trend, season: season))
                }
            }
        }
        return models
    }
}

/// A fitted ETS model: smoothing parameters, states at the end of the data, and its likelihood.
public struct ETSFit: Sendable {
    public let model: ETSModel
    public let season: Int
    public let alpha: Double
    /// The trend smoothing parameter (0 without trend); β ≤ α.
    public let beta: Double
    /// The seasonal smoothing parameter (0 without season); γ ≤ 1 − α.
    public let gamma: Double
    /// Damping (1 without damping).
    public let phi: Double
    /// Standard deviation of the innovations (relative ones for multiplicative errors).
    public let sigma: Double
    public let aicc: Double
    public let parameterCount: Int
    /// One-step-ahead errors y − ŷ over the data.
    public let residuals: [Double]
    let level: Double
    let slope: Double
    /// The last `season` seasonal states, oldest first.
    let seasonal: [Double]

    public var parameters: [String: Double] {
        var result = ["alpha": alpha, "sigma": sigma]
        if model.trend != .none { result["beta"] = beta }
        if model.trend == .damped { result["phi"] = phi }
        if model.season != .none { result["gamma"] = gamma }
        return result
    }

    /// Point forecasts, and 80% / 95% intervals from simulated sample paths (deterministic seed).
    public func forecast(horizon: Int, paths: Int = 4_000, seed: UInt64 = 0x5EED) -> Forecast {
        var mean: [Double] = []
        var state = State(level: level, slope: slope, seasonal: seasonal)
        for _ in 0..<horizon {
            let point = state.prediction(model, phi: phi)
            mean.append(point)
            state.update(model, y: point, alpha: alpha, beta: beta, gamma: gamma, phi: phi)
        }
        var random = GaussianRandom(seed: seed)
        var samples = [[Double]](repeating: [], count: horizon)
        for _ in 0..<paths {
            var path = State(level: level, slope: slope, seasonal: seasonal)
            for step in 0..<horizon {
                let point = path.prediction(model, phi: phi)
                let shock = sigma * random.next()
                let y = model.error == .multiplicative ? point * (1 + shock) : point + shock
                samples[step].append(y)
                path.update(model, y: y, alpha: alpha, beta: beta, gamma: gamma, phi: phi)
            }
        }
        func quantile(_ sorted: [Double], _ q: Double) -> Double {
            let position = q * Double(sorted.count - 1)
            let low = Int(position.rounded(.down)), high = min(low + 1, sorted.count - 1)
            return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
        }
        let sorted = samples.map { $0.sorted() }
        return Forecast(
            model: model.description, mean: mean,
            lower80: sorted.map { quantile($0, 0.10) }, upper80: sorted.map { quantile($0, 0.90) },
            lower95: sorted.map { quantile($0, 0.025) }, upper95: sorted.map { quantile($0, 0.975) },
            parameters: parameters, aicc: aicc)
    }
}

/// The states l, b and the last m seasonal terms, and the one recursion every ETS variant shares:
/// with raw error r = y − ŷ, the additive- and multiplicative-error forms update the states the
/// same way (they differ in the likelihood and in how errors are simulated).
struct State {
    var level: Double
    var slope: Double
    var seasonal: [Double]
    var position = 0

    func prediction(_ model: ETSModel, phi: Double) -> Double {
        let base = level + (model.trend == .none ? 0 : phi * slope)
        switch model.season {
        case .additive: return base + seasonal[position]
        case .multiplicative: return base * seasonal[position]
        default: return base
        }
    }

    mutating func update(_ model: ETSModel, y: Double, alpha: Double, beta: Double, gamma: Double, phi: Double) {
        let trendPart = model.trend == .none ? 0 : phi * slope
        let base = level + trendPart
        let error = y - prediction(model, phi: phi)
        switch model.season {
        case .multiplicative:
            let s = seasonal[position]
            level = base + alpha * error / s
            if model.trend != .none { slope = trendPart + beta * error / s }
            seasonal[position] = s + gamma * error / base
            position = (position + 1) % seasonal.count
        case .additive:
            level = base + alpha * error
            if model.trend != .none { slope = trendPart + beta * error }
            seasonal[position] += gamma * error
            position = (position + 1) % seasonal.count
        default:
            level = base + alpha * error
            if model.trend != .none { slope = trendPart + beta * error }
        }
    }
}

public enum ExponentialSmoothing {
    /// Fits `model` by maximum likelihood (Nelder–Mead over the smoothing parameters, damping and
    /// initial level and slope; initial seasonal states from a classical decomposition). Nil when the
    /// series cannot carry the model (too short, or not positive for multiplicative components).
    public static func fit(_ y: [Double], model: ETSModel, season: Int = 1) -> ETSFit? {
        let m = model.season == .none ? 1 : season
        let n = y.count
        if model.season != .none, m < 2 || n < 2 * m + 2 { return nil }
        if (model.error == .multiplicative || model.season == .multiplicative), y.contains(where: { $0 <= 0 }) { return nil }
        let initial = initialStates(y, model: model, season: m)
        let hasTrend = model.trend != .none
        let hasSeason = model.season != .none
        let damped = model.trend == .damped
        // Parameters counted as R's ets does: smoothing, damping, initial states, and sigma.
        let count = 1 + (hasTrend ? 2 : 0) + (damped ? 1 : 0) + (hasSeason ? 1 + (m - 1) : 0) + 1 + 1
        guard n - count - 1 > 0 else { return nil }
        let scale = max(y.map(abs).max() ?? 1, 1e-9)

        func logistic(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
        func unpack(_ u: [Double]) -> (alpha: Double, beta: Double, gamma: Double, phi: Double, level: Double, slope: Double) {
            let alpha = 0.0001 + 0.9998 * logistic(u[0])
            let beta = hasTrend ? 0.0001 + (alpha - 0.0001) * logistic(u[1]) : 0
            let gamma = hasSeason ? 0.0001 + (0.9999 - alpha - 0.0001) * logistic(u[2]) : 0
            let phi = damped ? 0.8 + 0.18 * logistic(u[3]) : 1
            return (alpha, beta, gamma, phi, initial.level + u[4] * scale, hasTrend ? initial.slope + u[5] * scale : 0)
        }
        /// The fit's −2 log-likelihood without the constants every model of `y` shares:
        /// n log(Σ r²/n) for additive errors, n log(Σ (r/ŷ)²/n) + 2 Σ log|ŷ| for multiplicative.
        func run(_ u: [Double]) -> (criterion: Double, residuals: [Double], sse: Double, state: State) {
            let p = unpack(u)
            var state = State(level: p.level, slope: p.slope, seasonal: initial.seasonal)
            var residuals: [Double] = []
            residuals.reserveCapacity(n)
            var sumSquares = 0.0, sumLogs = 0.0
            for value in y {
                let point = state.prediction(model, phi: p.phi)
                guard point.isFinite, model.error == .additive || point > 0 else { return (.infinity, [], .infinity, state) }
                let error = value - point
                residuals.append(error)
                if model.error == .multiplicative {
                    sumSquares += (error / point) * (error / point)
                    sumLogs += log(abs(point))
                } else {
                    sumSquares += error * error
                }
                state.update(model, y: value, alpha: p.alpha, beta: p.beta, gamma: p.gamma, phi: p.phi)
            }
            // A perfect fit (a constant or exactly linear series): the smallest criterion there is.
            let criterion = Double(n) * log(max(sumSquares, 1e-300) / Double(n)) + 2 * sumLogs
            return (criterion.isFinite ? criterion : .infinity, residuals, sumSquares, state)
        }
        let start = [0.0, -1.0, -1.0, 1.0, 0.0, 0.0]
        let best = NelderMead.minimize(start, step: [1, 1, 1, 1, 0.05, 0.01]) { run($0).criterion }
        let result = run(best)
        guard result.criterion.isFinite else { return nil }
        let p = unpack(best)
        let sigma = (result.sse / Double(n)).squareRoot()
        let k = Double(count)
        let aicc = result.criterion + 2 * k + 2 * k * (k + 1) / (Double(n) - k - 1)
        return ETSFit(model: model, season: m, alpha: p.alpha, beta: p.beta, gamma: p.gamma, phi: p.phi, sigma: sigma,
                      aicc: aicc, parameterCount: count, residuals: result.residuals,
                      level: result.state.level, slope: result.state.slope, seasonal: rotated(result.state))
    }

    /// The model with the smallest AICc among `ETSModel.candidates`.
    public static func auto(_ y: [Double], season: Int? = nil) -> ETSFit? {
        let m = season ?? 1
        let candidates = ETSModel.candidates(positive: !y.contains { $0 <= 0 }, seasonal: m >= 2 && y.count >= 2 * m + 2)
        return candidates.compactMap { fit(y, model: $0, season: m) }.min { $0.aicc < $1.aicc }
    }

    /// Seasonal states in the order they will be used next.
    private static func rotated(_ state: State) -> [Double] {
        Array(state.seasonal[state.position...] + state.seasonal[..<state.position])
    }

    /// Hyndman et al. (2008) §2.6.1: seasonal indices from a 2×m moving average over the first
    /// seasons, then level and slope from a regression on the first seasonally adjusted values.
    static func initialStates(_ y: [Double], model: ETSModel, season m: Int) -> (level: Double, slope: Double, seasonal: [Double]) {
        var seasonal = [Double](repeating: model.season == .multiplicative ? 1 : 0, count: max(m, 1))
        var adjusted = y
        if model.season != .none, y.count >= 2 * m {
            let span = Array(y.prefix(4 * m))
            var sums = [Double](repeating: 0, count: m), counts = [Double](repeating: 0, count: m)
            for (t, trend) in centredMovingAverage(span, season: m).enumerated() {
                guard let trend else { continue }
                sums[t % m] += model.season == .multiplicative ? span[t] / trend : span[t] - trend
                counts[t % m] += 1
            }
            for index in 0..<m { seasonal[index] = counts[index] > 0 ? sums[index] / counts[index] : seasonal[index] }
            if model.season == .multiplicative {
                let mean = seasonal.reduce(0, +) / Double(m)
                seasonal = seasonal.map { $0 / mean }
                adjusted = y.enumerated().map { $0.element / seasonal[$0.offset % m] }
            } else {
                let mean = seasonal.reduce(0, +) / Double(m)
                seasonal = seasonal.map { $0 - mean }
                adjusted = y.enumerated().map { $0.element - seasonal[$0.offset % m] }
            }
        }
        let window = Array(adjusted.prefix(max(10, 2 * m)))
        let count = Double(window.count)
        let meanX = (count - 1) / 2, meanY = window.reduce(0, +) / count
        var sxy = 0.0, sxx = 0.0
        for (x, value) in window.enumerated() {
            sxy += (Double(x) - meanX) * (value - meanY)
            sxx += (Double(x) - meanX) * (Double(x) - meanX)
        }
        let slope = model.trend == .none || sxx == 0 ? 0 : sxy / sxx
        let level = model.trend == .none ? meanY : meanY - slope * meanX - slope
        return (level, slope, seasonal)
    }
}
