import Foundation

/// Prophet's model (Taylor & Letham 2018, as `facebook/prophet` 1.5 fits it): a piecewise-linear
/// (or logistic, or flat) trend whose rate changes at potential changepoints, plus Fourier
/// seasonalities, fitted at the posterior mode under Prophet's priors — k, m ~ N(0, 5),
/// changepoint deltas ~ Laplace(0, `changepointPriorScale`), σ ~ N⁺(0, 0.5), seasonal
/// coefficients ~ N(0, `seasonalityPriorScale`) — by L-BFGS on the scaled data (y / max|y|, time on
/// [0, 1]), from Prophet's starting point. Intervals simulate future trend changes at the history's
/// rate and size, plus noise, as Prophet's `predict` does.
public enum Prophet {
    public enum Growth: Equatable, Sendable {
        case linear
        /// Logistic growth towards a constant capacity (in the series' units).
        case logistic(capacity: Double)
        case flat
    }

    public enum SeasonalityMode: String, Equatable, Sendable, CaseIterable { case additive, multiplicative }

    /// A built-in seasonality's switch: Prophet's rule on the history's span and spacing, on with a
    /// Fourier order, or off.
    public enum Toggle: Equatable, Sendable {
        case auto
        case order(Int)
        case off
    }

    public struct Seasonality: Equatable, Sendable {
        public var name: String
        /// In days (the time unit of Prophet's Fourier terms).
        public var period: Double
        public var order: Int
        public var priorScale: Double
        public var mode: SeasonalityMode
        public init(name: String, period: Double, order: Int, priorScale: Double = 10, mode: SeasonalityMode = .additive) {
            self.name = name; self.period = period; self.order = order; self.priorScale = priorScale; self.mode = mode
        }
    }

    /// Prophet's defaults.
    public struct Settings: Equatable, Sendable {
        public var growth: Growth = .linear
        public var changepoints = 25
        /// The share of the history (from its start) where changepoints may be.
        public var changepointRange = 0.8
        public var changepointPriorScale = 0.05
        public var seasonalityPriorScale = 10.0
        public var seasonalityMode: SeasonalityMode = .additive
        public var yearly: Toggle = .auto
        public var weekly: Toggle = .auto
        public var daily: Toggle = .auto
        public var extraSeasonalities: [Seasonality] = []
        public var uncertaintySamples = 1_000
        public var seed: UInt64 = 0x5EED
        public init() {}
    }

    public enum FitError: Error, Equatable, CustomStringConvertible {
        case tooShort(Int)
        case unsorted(index: Int)
        case mismatched(times: Int, values: Int)
        case invalidCapacity(Double)
        case invalidSetting(String)

        public var description: String {
            switch self {
            case let .tooShort(n): "Prophet needs at least 2 values at 2 different times (got \(n))"
            case let .unsorted(index): "time \(index) is not after the one before it (times must increase)"
            case let .mismatched(times, values): "\(times) times for \(values) values"
            case let .invalidCapacity(capacity): "the logistic capacity must be above every value (got \(capacity))"
            case let .invalidSetting(reason): reason
            }
        }
    }

    /// Fits the model to `values` observed at `times` (days; Prophet's seasonal terms are phased on
    /// days since 1970-01-01, so pass real dates that way when there are any).
    public static func fit(times: [Double], values: [Double], settings: Settings = Settings()) throws(FitError) -> Fit {
        let model = try model(times: times, values: values, settings: settings)
        let t = model.t, y = model.y
        // Prophet's starting point: the line (or logistic curve) through the first and last values,
        // no changes, no seasonality, σ = 1.
        var k = 0.0, m = 0.0
        switch settings.growth {
        case .linear:
            k = (y[y.count - 1] - y[0]) / (t[t.count - 1] - t[0])
            m = y[0] - k * t[0]
        case .flat:
            m = y.reduce(0, +) / Double(y.count)
        case .logistic:
            let c = model.capacity!
            let y0 = max(0.01 * c, min(0.99 * c, y[0])), y1 = max(0.01 * c, min(0.99 * c, y[y.count - 1]))
            var r0 = c / y0
            let r1 = c / y1
            if abs(r0 - r1) <= 0.01 { r0 *= 1.05 }
            let l0 = log(r0 - 1), l1 = log(r1 - 1)
            m = l0 / (l0 - l1)  // on the scaled axis the history spans 1
            k = l0 - l1
        }
        var start = [k, m] + Array(repeating: 0, count: model.changepoints.count) + [0]  // log σ = 0
        start += Array(repeating: 0, count: model.priorScales.count)
        // Plain L-BFGS on the whole objective, the Laplace prior's kink included, from Prophet's
        // starting point, as Stan's optimiser runs it for Prophet. Both stop near the mode, not
        // exactly at it (the kink stalls the quasi-Newton model), and stopping where Prophet stops
        // is the point: restarting from the stall, or an orthant-wise method, reached modes up to 3
        // log-units higher whose deltas and seasonal coefficients no longer matched Prophet's.
        // Prophet (1.5's cmdstanpy backend) switches to Newton's method below 100 values.
        let result = values.count < 100 ? LBFGS.newton(start) { model.negativeLogPosterior($0) }
                                        : LBFGS.minimize(start) { model.negativeLogPosterior($0) }
        let parameters = Model.Parameters(result.x, changepoints: model.changepoints.count)
        return Fit(settings: settings, start: model.start, span: model.span, scale: model.scale, changepoints: model.changepoints,
                   seasonalities: model.seasonalities, k: parameters.k, m: parameters.m, deltas: parameters.deltas,
                   sigma: exp(parameters.logSigma), betas: parameters.betas, capacity: model.capacity,
                   iterations: result.iterations, converged: result.converged)
    }

    /// The posterior to maximise for `values` at `times`: the scaled data, changepoints and features.
    static func model(times: [Double], values: [Double], settings: Settings = Settings()) throws(FitError) -> Model {
        guard times.count == values.count else { throw .mismatched(times: times.count, values: values.count) }
        guard values.count >= 2 else { throw .tooShort(values.count) }
        for index in 1..<times.count where !(times[index] > times[index - 1]) { throw .unsorted(index: index) }
        guard settings.changepoints >= 0, (0...1).contains(settings.changepointRange), settings.changepointPriorScale > 0,
              settings.seasonalityPriorScale > 0, settings.uncertaintySamples >= 0 else {
            throw .invalidSetting("changepoints ≥ 0, a changepoint range in [0, 1], prior scales above 0 and samples ≥ 0 are needed")
        }
        if case let .logistic(capacity) = settings.growth, !(capacity > (values.max() ?? 0)) { throw .invalidCapacity(capacity) }

        let start = times[0], span = times[times.count - 1] - times[0]
        let scale = values.map(abs).max().map { $0 == 0 ? 1 : $0 }!
        let t = times.map { ($0 - start) / span }

        // Potential changepoints at evenly spaced observations of the first `changepointRange`
        // of the history (NumPy's round-half-to-even, as Prophet's linspace(...).round()).
        let historySize = Int((Double(values.count) * settings.changepointRange).rounded(.down))
        let count = min(settings.changepoints, historySize - 1)
        var changepoints: [Double] = []
        if count > 0 {
            for index in 1...count {
                let position = Double(historySize - 1) * Double(index) / Double(count)
                changepoints.append(t[Int(position.rounded(.toNearestOrEven))])
            }
        } else {
            changepoints = [0]  // Prophet's dummy changepoint: one delta that the prior keeps at zero
        }
        let seasonalities = resolveSeasonalities(times: times, settings: settings)
        let capacity: Double?
        if case let .logistic(c) = settings.growth { capacity = c / scale } else { capacity = nil }
        return Model(t: t, y: values.map { $0 / scale }, changepoints: changepoints, features: times.map { featureRow($0, seasonalities) },
                     priorScales: seasonalities.flatMap { Array(repeating: $0.priorScale, count: 2 * $0.order) },
                     multiplicative: seasonalities.flatMap { Array(repeating: $0.mode == .multiplicative, count: 2 * $0.order) },
                     tau: settings.changepointPriorScale, growth: settings.growth, capacity: capacity,
                     start: start, span: span, scale: scale, seasonalities: seasonalities)
    }

    /// Prophet's rules: yearly (order 10) with at least 730 days of history; weekly (order 3) with
    /// at least 14 days and observations less than 7 days apart; daily (order 4) with at least 2 days
    /// and observations less than a day apart; then the extra ones.
    static func resolveSeasonalities(times: [Double], settings: Settings) -> [Seasonality] {
        let span = times[times.count - 1] - times[0]
        let spacing = zip(times.dropFirst(), times).map { $0 - $1 }.filter { $0 > 0 }.min() ?? span
        func order(_ toggle: Toggle, disabled: Bool, defaultOrder: Int) -> Int {
            switch toggle {
            case .auto: disabled ? 0 : defaultOrder
            case let .order(n): n
            case .off: 0
            }
        }
        var result: [Seasonality] = []
        let extraNames = Set(settings.extraSeasonalities.map(\.name))
        for (name, period, toggle, disabled, defaultOrder) in [
            ("yearly", 365.25, settings.yearly, span < 730, 10),
            ("weekly", 7.0, settings.weekly, span < 14 || spacing >= 7, 3),
            ("daily", 1.0, settings.daily, span < 2 || spacing >= 1, 4),
        ] where !extraNames.contains(name) {
            let n = order(toggle, disabled: disabled, defaultOrder: defaultOrder)
            if n > 0 { result.append(Seasonality(name: name, period: period, order: n, priorScale: settings.seasonalityPriorScale, mode: settings.seasonalityMode)) }
        }
        return result + settings.extraSeasonalities.filter { $0.order > 0 }
    }

    /// sin and cos of each harmonic, interleaved, per seasonality (Prophet's column order).
    static func featureRow(_ time: Double, _ seasonalities: [Seasonality]) -> [Double] {
        var row: [Double] = []
        for season in seasonalities {
            for harmonic in 1...season.order {
                let angle = 2 * Double.pi * Double(harmonic) / season.period * time
                row.append(sin(angle))
                row.append(cos(angle))
            }
        }
        return row
    }

    /// A fitted model.
    public struct Fit: Sendable {
        public let settings: Settings
        let start: Double, span: Double, scale: Double
        /// On the scaled time axis (0 = the first observation, 1 = the last).
        public let changepoints: [Double]
        public let seasonalities: [Seasonality]
        /// On the scaled axes (y / max|y|), as Prophet reports them.
        public internal(set) var k: Double, m: Double, deltas: [Double], sigma: Double, betas: [Double]
        let capacity: Double?
        public let iterations: Int
        public let converged: Bool

        /// The trend at scaled times `t` with changepoints `times` and rate changes `deltas`.
        static func trend(_ t: Double, k: Double, m: Double, changepoints: [Double], deltas: [Double], growth: Growth, capacity: Double?) -> Double {
            switch growth {
            case .flat: return m
            case .linear:
                var value = k * t + m
                for (c, d) in zip(changepoints, deltas) where t >= c { value += d * (t - c) }
                return value
            case .logistic:
                // Offsets keep the curve continuous where the rate changes (Prophet's logistic_gamma).
                var rate = k, offset = m, previousRate = k, mPrevious = m
                for (c, d) in zip(changepoints, deltas) {
                    let newRate = previousRate + d
                    let gamma = (c - mPrevious) * (1 - previousRate / newRate)
                    mPrevious += gamma
                    previousRate = newRate
                    if t >= c { rate = newRate; offset = mPrevious }
                }
                return capacity! / (1 + exp(-rate * (t - offset)))
            }
        }

        func seasonal(_ time: Double) -> (additive: Double, multiplicative: Double) {
            let row = Prophet.featureRow(time, seasonalities)
            var additive = 0.0, multiplicative = 0.0, index = 0
            for season in seasonalities {
                for _ in 0..<(2 * season.order) {
                    if season.mode == .multiplicative { multiplicative += row[index] * betas[index] } else { additive += row[index] * betas[index] }
                    index += 1
                }
            }
            return (additive, multiplicative)
        }

        /// The trend and the seasonal terms (their sum, additive and multiplicative alike, in the
        /// series' units) at `times`, as Prophet's `trend` and `additive_terms + multiplicative_terms × trend`.
        public func components(_ times: [Double]) -> (trend: [Double], seasonal: [Double]) {
            var trends: [Double] = [], seasonals: [Double] = []
            for time in times {
                let trend = Self.trend((time - start) / span, k: k, m: m, changepoints: changepoints, deltas: deltas, growth: settings.growth, capacity: capacity)
                let (additive, multiplicative) = seasonal(time)
                trends.append(trend * scale)
                seasonals.append((trend * multiplicative + additive) * scale)
            }
            return (trends, seasonals)
        }

        /// Prophet's `yhat` at `times` (days), without intervals.
        public func predict(_ times: [Double]) -> [Double] {
            times.map { time in
                let trend = Self.trend((time - start) / span, k: k, m: m, changepoints: changepoints, deltas: deltas, growth: settings.growth, capacity: capacity)
                let (additive, multiplicative) = seasonal(time)
                return (trend * (1 + multiplicative) + additive) * scale
            }
        }

        /// `yhat` and 80% / 95% intervals at `times` (after the history): each of the
        /// `uncertaintySamples` paths draws new changepoints on the future at the history's rate
        /// (Poisson, as many per unit of scaled time as the history has) with Laplace deltas of the
        /// fitted deltas' mean size, then adds Gaussian noise of the fitted σ; bounds are the
        /// paths' percentiles (linear interpolation, as NumPy's).
        public func forecast(_ times: [Double]) -> Forecast {
            let mean = predict(times)
            let scaled = times.map { ($0 - start) / span }
            let seasonals = times.map(seasonal)
            let paths = settings.uncertaintySamples
            guard paths > 1 else { return Forecast(model: name, mean: mean, lower80: mean, upper80: mean, lower95: mean, upper95: mean, parameters: parameters) }
            var random = GaussianRandom(seed: settings.seed)
            let end = scaled.max() ?? 1
            let size = deltas.map(abs).reduce(0, +) / Double(max(1, deltas.count)) + 1e-8
            var samples = [[Double]](repeating: [], count: times.count)
            for _ in 0..<paths {
                var futurePoints = changepoints, futureDeltas = deltas
                if end > 1, settings.growth != .flat {
                    let changes = random.poisson(mean: Double(changepoints.count) * (end - 1))
                    let points = (0..<changes).map { _ in 1 + random.uniform() * (end - 1) }.sorted()
                    futurePoints += points
                    futureDeltas += points.map { _ in random.laplace(scale: size) }
                }
                for index in times.indices {
                    let trend = Self.trend(scaled[index], k: k, m: m, changepoints: futurePoints, deltas: futureDeltas, growth: settings.growth, capacity: capacity)
                    let noise = sigma * random.next()
                    samples[index].append((trend * (1 + seasonals[index].multiplicative) + seasonals[index].additive + noise) * scale)
                }
            }
            func percentile(_ values: [Double], _ p: Double) -> Double {
                let sorted = values.sorted()
                let position = p / 100 * Double(sorted.count - 1)
                let low = Int(position.rounded(.down)), high = min(sorted.count - 1, low + 1)
                return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
            }
            return Forecast(model: name, mean: mean,
                            lower80: samples.map { percentile($0, 10) }, upper80: samples.map { percentile($0, 90) },
                            lower95: samples.map { percentile($0, 2.5) }, upper95: samples.map { percentile($0, 97.5) },
                            parameters: parameters)
        }

        public var name: String {
            let growth = switch settings.growth { case .linear: "linear"; case .logistic: "logistic"; case .flat: "flat" }
            let seasons = seasonalities.map { "\($0.name) \($0.order)\($0.mode == .multiplicative ? "×" : "")" }
            return "Prophet(\(growth)\(seasons.isEmpty ? "" : ", " + seasons.joined(separator: ", ")))"
        }

        /// k, m, σ (scaled, as Prophet's `params`), and the changepoint deltas' total size.
        public var parameters: [String: Double] {
            ["k": k, "m": m, "sigma_obs": sigma, "changepoints": Double(changepoints.count),
             "delta_abs_sum": deltas.map(abs).reduce(0, +)]
        }
    }

    /// The negative log posterior on the scaled data (its smooth part with a gradient, and the L1 term), over
    /// [k, m, δ₁…δ_S, log σ, β₁…β_K] (σ optimised on the log scale without a Jacobian term, as Stan's
    /// optimiser does for a positive parameter).
    struct Model {
        let t: [Double], y: [Double], changepoints: [Double], features: [[Double]], priorScales: [Double], multiplicative: [Bool]
        let tau: Double, growth: Growth, capacity: Double?
        /// The first time, the history's span (days) and the value scale (max |y|): how to scale back.
        let start: Double, span: Double, scale: Double
        let seasonalities: [Seasonality]
        /// How many changepoints each observation is past.
        let reached: [Int]

        init(t: [Double], y: [Double], changepoints: [Double], features: [[Double]], priorScales: [Double], multiplicative: [Bool],
             tau: Double, growth: Growth, capacity: Double?, start: Double, span: Double, scale: Double, seasonalities: [Seasonality]) {
            self.t = t; self.y = y; self.changepoints = changepoints; self.features = features; self.priorScales = priorScales
            self.multiplicative = multiplicative; self.tau = tau; self.growth = growth; self.capacity = capacity
            self.start = start; self.span = span; self.scale = scale; self.seasonalities = seasonalities
            reached = t.map { time in changepoints.filter { time >= $0 }.count }
        }

        struct Parameters {
            var k: Double, m: Double, deltas: [Double], logSigma: Double, betas: [Double]
            init(_ x: [Double], changepoints s: Int) {
                k = x[0]; m = x[1]; deltas = Array(x[2..<(2 + s)]); logSigma = x[2 + s]; betas = Array(x[(3 + s)...])
            }
        }

        /// 1/τ on each delta, 0 elsewhere: the Laplace prior as an L1 term.
        var l1Weights: [Double] {
            [0, 0] + Array(repeating: 1 / tau, count: changepoints.count) + [0] + Array(repeating: 0, count: priorScales.count)
        }

        /// The whole objective and its gradient (the Laplace prior's taken as sign(δ)/τ, 0 at 0, as
        /// Stan differentiates it).
        func negativeLogPosterior(_ x: [Double]) -> (value: Double, gradient: [Double]) {
            var (value, gradient) = growth == .linear || growth == .flat ? analytic(x) : numericGradient(x)
            for (i, weight) in l1Weights.enumerated() where weight > 0 {
                value += weight * abs(x[i])
                gradient[i] += x[i] > 0 ? weight : x[i] < 0 ? -weight : 0
            }
            return (value, gradient)
        }

        func smoothValue(_ x: [Double]) -> Double {
            let p = Parameters(x, changepoints: changepoints.count)
            let sigma = exp(p.logSigma)
            var sum = 0.0
            for i in t.indices {
                let trend = Fit.trend(t[i], k: p.k, m: p.m, changepoints: changepoints, deltas: p.deltas, growth: growth, capacity: capacity)
                var additiveSum = 0.0, multiplicativeSum = 0.0
                for j in p.betas.indices {
                    if multiplicative[j] { multiplicativeSum += features[i][j] * p.betas[j] } else { additiveSum += features[i][j] * p.betas[j] }
                }
                let residual = y[i] - (trend * (1 + multiplicativeSum) + additiveSum)
                sum += residual * residual
            }
            return Double(t.count) * p.logSigma + sum / (2 * sigma * sigma) + smoothPrior(p)
        }

        /// The whole negative log posterior (the smooth part and the deltas' Laplace prior).
        func value(_ x: [Double]) -> Double {
            smoothValue(x) + zip(x, l1Weights).reduce(0) { $0 + $1.1 * abs($1.0) }
        }

        func smoothPrior(_ p: Parameters) -> Double {
            let sigma = exp(p.logSigma)
            var value = (p.k * p.k + p.m * p.m) / 50 + 2 * sigma * sigma
            for (beta, scale) in zip(p.betas, priorScales) { value += beta * beta / (2 * scale * scale) }
            return value
        }

        func analytic(_ x: [Double]) -> (value: Double, gradient: [Double]) {
            let s = changepoints.count
            let p = Parameters(x, changepoints: s)
            let sigma = exp(p.logSigma), precision = 1 / (sigma * sigma)
            var gradient = [Double](repeating: 0, count: x.count)
            var squares = 0.0
            // Trend pieces accumulate left to right: the contribution of δ_j is (t − c_j) past c_j.
            for i in t.indices {
                var trend = p.m
                if growth == .linear {
                    trend += p.k * t[i]
                    for j in 0..<reached[i] { trend += p.deltas[j] * (t[i] - changepoints[j]) }
                }
                var additiveSum = 0.0, multiplicativeSum = 0.0
                let row = features[i]
                for j in p.betas.indices {
                    if multiplicative[j] { multiplicativeSum += row[j] * p.betas[j] } else { additiveSum += row[j] * p.betas[j] }
                }
                let residual = y[i] - (trend * (1 + multiplicativeSum) + additiveSum)
                squares += residual * residual
                let dMean = -residual * precision  // d(NLL)/d(mean_i)
                let dTrend = dMean * (1 + multiplicativeSum)
                if growth == .linear {
                    gradient[0] += dTrend * t[i]
                    for j in 0..<reached[i] { gradient[2 + j] += dTrend * (t[i] - changepoints[j]) }
                }
                gradient[1] += dTrend
                for j in p.betas.indices { gradient[3 + s + j] += dMean * (multiplicative[j] ? trend * row[j] : row[j]) }
            }
            // log σ: n·log σ + Σr²/(2σ²) + 2σ²
            gradient[2 + s] = Double(t.count) - squares * precision + 4 * sigma * sigma
            gradient[0] += p.k / 25
            gradient[1] += p.m / 25
            for j in p.betas.indices { gradient[3 + s + j] += p.betas[j] / (priorScales[j] * priorScales[j]) }
            let value = Double(t.count) * p.logSigma + squares * precision / 2 + smoothPrior(p)
            return (value, gradient)
        }

        /// Central differences, for the logistic trend (whose offsets chain through every changepoint).
        func numericGradient(_ x: [Double]) -> (value: Double, gradient: [Double]) {
            let f0 = smoothValue(x)
            var gradient = [Double](repeating: 0, count: x.count)
            var probe = x
            for index in x.indices {
                let h = 1e-6 * max(1, abs(x[index]))
                probe[index] = x[index] + h
                let up = smoothValue(probe)
                probe[index] = x[index] - h
                let down = smoothValue(probe)
                probe[index] = x[index]
                gradient[index] = (up - down) / (2 * h)
            }
            return (f0, gradient)
        }
    }
}
