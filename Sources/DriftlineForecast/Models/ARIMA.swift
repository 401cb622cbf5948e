import Foundation

/// A (seasonal) ARIMA order: ARIMA(p,d,q)(P,D,Q)m, with a constant (mean when nothing is
/// differenced, drift when one difference is taken).
public struct ARIMAOrder: Hashable, Sendable, CustomStringConvertible {
    public var p: Int, d: Int, q: Int
    public var seasonalP: Int, seasonalD: Int, seasonalQ: Int
    public var season: Int
    public var constant: Bool

    public init(p: Int, d: Int, q: Int, seasonalP: Int = 0, seasonalD: Int = 0, seasonalQ: Int = 0, season: Int = 1, constant: Bool = false) {
        self.p = p; self.d = d; self.q = q
        self.seasonalP = seasonalP; self.seasonalD = seasonalD; self.seasonalQ = seasonalQ
        self.season = season
        self.constant = constant
    }

    public var description: String {
        let seasonal = season > 1 && seasonalP + seasonalD + seasonalQ > 0 ? "(\(seasonalP),\(seasonalD),\(seasonalQ))[\(season)]" : ""
        let term = constant ? (d + seasonalD == 0 ? " with mean" : " with drift") : ""
        return "ARIMA(\(p),\(d),\(q))\(seasonal)\(term)"
    }

    var coefficientCount: Int { p + q + seasonalP + seasonalQ + (constant ? 1 : 0) }
}

/// A fitted ARIMA model. Its AICc uses the exact likelihood for maximum-likelihood fits and the CSS
/// variance for CSS fits (as `forecast::Arima(method = "CSS")` does).
public struct ARIMAFit: Sendable {
    public let order: ARIMAOrder
    public let ar: [Double], ma: [Double], seasonalAR: [Double], seasonalMA: [Double]
    public let constant: Double
    public let sigma2: Double
    public let aicc: Double
    public let method: ARIMA.Method
    let data: [Double]
    /// The Kalman filter's predicted state of the differenced series after the last observation.
    let nextState: [Double]

    public var parameters: [String: Double] {
        var result = ["sigma": sigma2.squareRoot()]
        for (index, value) in ar.enumerated() { result["ar\(index + 1)"] = value }
        for (index, value) in ma.enumerated() { result["ma\(index + 1)"] = value }
        for (index, value) in seasonalAR.enumerated() { result["sar\(index + 1)"] = value }
        for (index, value) in seasonalMA.enumerated() { result["sma\(index + 1)"] = value }
        if order.constant { result[order.d + order.seasonalD == 0 ? "mean" : "drift"] = constant }
        return result
    }

    /// Point forecasts of the differenced series from the filter's state (a ← T a), integrated back;
    /// normal intervals from the full model's ψ-weights.
    public func forecast(horizon: Int) -> Forecast {
        let m = order.season
        let arFull = ARIMA.multiply(ar, seasonalAR, season: m)
        let maFull = ARIMA.multiplyMovingAverage(ma, seasonalMA, season: m)
        let integration = ARIMA.differencingPolynomial(d: order.d, seasonalD: order.seasonalD, season: m)
        var state = nextState
        var w: [Double] = []
        for _ in 0..<horizon {
            w.append(state[0] + constant)
            let first = state[0]
            for i in state.indices { state[i] = (i < arFull.count ? arFull[i] * first : 0) + (i + 1 < state.count ? state[i + 1] : 0) }
        }
        var y = data
        for step in 0..<horizon {
            var value = w[step]
            for (i, c) in integration.enumerated() { value += c * y[y.count - i - 1] }
            y.append(value)
        }
        // ψ-weights of φ(B)Φ(B^m)(1−B)^d(1−B^m)^D against θ(B)Θ(B^m).
        let psi = ARIMA.psiWeights(ar: ARIMA.combine(arFull, integration), ma: maFull, count: horizon)
        var cumulative = 0.0
        let sd = (0..<horizon).map { h -> Double in
            cumulative += psi[h] * psi[h]
            return (sigma2 * cumulative).squareRoot()
        }
        return Forecast(model: order.description, mean: Array(y.suffix(horizon)), sd: sd, parameters: parameters, aicc: aicc)
    }
}

public enum ARIMA {
    /// How `fit` estimates the coefficients.
    public enum Method: Sendable {
        /// Conditional sum of squares (Box & Jenkins): fast, the residuals before the first full lag are taken as zero.
        case conditionalSumOfSquares
        /// Exact Gaussian maximum likelihood of the differenced series (Kalman filter over the ARMA's
        /// state space form, Harvey 1989 §3.4), started from the CSS estimates as R's "CSS-ML" does.
        case maximumLikelihood
    }

    /// Fits `order`; AR and MA parts are kept stationary and invertible by optimising their partial
    /// autocorrelations (as R's `arima` transforms them).
    public static func fit(_ y: [Double], order: ARIMAOrder, method: Method = .conditionalSumOfSquares) -> ARIMAFit? {
        let m = order.season
        let w = difference(y, d: order.d, seasonalD: order.seasonalD, season: m)
        let model = Parameterization(order: order, w: w)
        guard w.count - model.conditioning > order.coefficientCount + 2 else { return nil }
        let dimension = order.coefficientCount
        func minimize(from start: [Double], step: Double, tolerance: Double = 1e-8, _ objective: @escaping ([Double]) -> Double) -> [Double] {
            dimension == 0 ? [] : NelderMead.minimize(start, step: [Double](repeating: step, count: dimension), tolerance: tolerance, objective)
        }
        var best = minimize(from: [Double](repeating: 0, count: dimension), step: 0.3) { u in
            let sum = model.residuals(model.unpack(u)).reduce(0) { $0 + $1 * $1 }
            return sum.isFinite ? sum : .infinity
        }
        if method == .maximumLikelihood {
            // Started at the CSS optimum; the criterion is per observation, so 1e-6 relative is
            // about 1e-3 in −2 log L for 500 values, far below what moves the AICc (1e-7 took 2–5×
            // the evaluations for no change in the forecasts).
            best = minimize(from: best, step: 0.1, tolerance: 1e-6) { model.exactLikelihood(model.unpack($0))?.criterion ?? .infinity }
        }
        let coefficients = model.unpack(best)
        // The filter runs for CSS fits too: forecasts start from its state, which (unlike CSS
        // residuals started at zero) is exact however close an MA root is to the unit circle.
        guard let exact = model.exactLikelihood(coefficients) else { return nil }
        let k = Double(dimension + 1)
        // Every model of one differencing is compared on the same count (the differenced series'
        // length), as R's `auto.arima` does: counting only the conditional residuals would reward
        // each extra AR lag for the observations it drops.
        let observations = Double(w.count)
        guard observations - k - 1 > 0 else { return nil }
        let sigma2: Double, minus2LogLikelihood: Double
        switch method {
        case .conditionalSumOfSquares:
            let sse = model.residuals(coefficients)[model.conditioning...].reduce(0) { $0 + $1 * $1 }
            guard sse.isFinite else { return nil }
            sigma2 = max(sse / Double(w.count - model.conditioning), 1e-300)
            minus2LogLikelihood = observations * (log(2 * .pi * sigma2) + 1)
        case .maximumLikelihood:
            sigma2 = max(exact.sigma2, 1e-300)
            minus2LogLikelihood = observations * (log(2 * .pi * sigma2) + 1) + exact.logDeterminant
        }
        let aicc = minus2LogLikelihood + 2 * k + 2 * k * (k + 1) / (observations - k - 1)
        return ARIMAFit(order: order, ar: coefficients.ar, ma: coefficients.ma, seasonalAR: coefficients.sar, seasonalMA: coefficients.sma,
                        constant: coefficients.constant, sigma2: sigma2, aicc: aicc, method: method, data: y, nextState: exact.nextState)
    }

    struct Coefficients {
        var ar: [Double], ma: [Double], sar: [Double], sma: [Double]
        var constant: Double
    }

    /// Maps unconstrained optimiser coordinates to coefficients of one order on one differenced
    /// series, and evaluates both objectives there.
    struct Parameterization {
        let order: ARIMAOrder
        let w: [Double]
        /// Observations the CSS recursion needs before its first residual.
        let conditioning: Int
        let center: Double
        let scale: Double

        init(order: ARIMAOrder, w: [Double]) {
            self.order = order
            self.w = w
            conditioning = order.p + order.season * order.seasonalP
            center = order.constant && !w.isEmpty ? w.reduce(0, +) / Double(w.count) : 0
            scale = max(standardDeviation(w), 1e-9)
        }

        func unpack(_ u: [Double]) -> Coefficients {
            var index = 0
            func take(_ count: Int) -> [Double] {
                defer { index += count }
                return Array(u[index..<index + count])
            }
            let ar = fromPartials(take(order.p).map(tanh))
            // θ(B) = 1 + Σ b B^j is invertible when 1 − Σ (−b) B^j is stationary.
            let ma = fromPartials(take(order.q).map(tanh)).map { -$0 }
            let sar = fromPartials(take(order.seasonalP).map(tanh))
            let sma = fromPartials(take(order.seasonalQ).map(tanh)).map { -$0 }
            let constant = order.constant ? center + u[index] * scale : 0
            return Coefficients(ar: ar, ma: ma, sar: sar, sma: sma, constant: constant)
        }

        /// One-step errors by the CSS recursion (zero before `conditioning`).
        func residuals(_ c: Coefficients) -> [Double] {
            let m = order.season
            let arFull = multiply(c.ar, c.sar, season: m)
            let maFull = multiplyMovingAverage(c.ma, c.sma, season: m)
            var errors = [Double](repeating: 0, count: w.count)
            for t in conditioning..<w.count {
                var value = w[t] - c.constant
                for (i, a) in arFull.enumerated() { value -= a * (w[t - i - 1] - c.constant) }
                for (j, b) in maFull.enumerated() where t - j - 1 >= 0 { value -= b * errors[t - j - 1] }
                errors[t] = value
            }
            return errors
        }

        /// The exact likelihood of w − constant under the ARMA, σ² concentrated out: returns σ̂²,
        /// Σ log F_t (innovation variances in units of σ²) and the criterion log σ̂² + Σ log F_t / n
        /// that maximum likelihood minimises, and the predicted state after the last observation.
        /// Nil when the recursion breaks down.
        func exactLikelihood(_ c: Coefficients) -> (sigma2: Double, logDeterminant: Double, criterion: Double, nextState: [Double])? {
            let m = order.season
            let phi = multiply(c.ar, c.sar, season: m)
            let theta = multiplyMovingAverage(c.ma, c.sma, season: m)
            let r = max(phi.count, theta.count + 1)
            // Harvey's form: α_{t+1} = T α_t + R ε_{t+1}, w_t = α_t[0]; T has φ down its first
            // column and ones above the diagonal, R = (1, θ_1, …, θ_{r−1}).
            let transitionColumn = (0..<r).map { $0 < phi.count ? phi[$0] : 0 }
            let noise = [1.0] + (1..<r).map { $0 - 1 < theta.count ? theta[$0 - 1] : 0 }
            guard var covariance = stationaryCovariance(transitionColumn, noise) else { return nil }
            var state = [Double](repeating: 0, count: r)
            var sumSquares = 0.0, logDeterminant = 0.0
            var scratch = [Double](repeating: 0, count: r * r)
            var gain = [Double](repeating: 0, count: r), firstRow = gain
            var steady = false
            for value in w {
                let innovation = value - c.constant - state[0]
                if steady {
                    // P has reached R Rᵀ: F = 1 and the gain is R from here on (the "fast
                    // recursions" R's arima switches to), O(r) per observation.
                    sumSquares += innovation * innovation
                    for i in 0..<r { state[i] += noise[i] * innovation }
                    let first = state[0]
                    for i in 0..<r { state[i] = transitionColumn[i] * first + (i + 1 < r ? state[i + 1] : 0) }
                    continue
                }
                let variance = covariance[0]
                guard variance > 1e-12, variance.isFinite else { return nil }
                sumSquares += innovation * innovation / variance
                logDeterminant += log(variance)
                // Update with the observation, then predict: a ← T(a + g v) with g = P e₁ / F, and
                // P ← T (P − g fᵀ) Tᵀ + R Rᵀ with f = P e₁, in one symmetric pass over the sparse T.
                for i in 0..<r {
                    gain[i] = covariance[i * r] / variance
                    firstRow[i] = covariance[i]
                    state[i] += gain[i] * innovation
                }
                let first = state[0]
                for i in 0..<r { state[i] = transitionColumn[i] * first + (i + 1 < r ? state[i + 1] : 0) }
                func updated(_ i: Int, _ j: Int) -> Double { i < r && j < r ? covariance[i * r + j] - gain[i] * firstRow[j] : 0 }
                let corner = updated(0, 0)
                for i in 0..<r {
                    let ci = transitionColumn[i]
                    let column0 = updated(i + 1, 0)
                    for j in i..<r {
                        let cj = transitionColumn[j]
                        var value = updated(i + 1, j + 1) + noise[i] * noise[j]
                        if ci != 0 { value += ci * (cj * corner + updated(0, j + 1)) }
                        if cj != 0 { value += cj * column0 }
                        scratch[i * r + j] = value
                        scratch[j * r + i] = value
                    }
                }
                swap(&covariance, &scratch)
                steady = abs(covariance[0] - 1) < 1e-9
            }
            let n = Double(w.count)
            let sigma2 = sumSquares / n
            guard sigma2 > 0, sigma2.isFinite, logDeterminant.isFinite else { return nil }
            return (sigma2, logDeterminant, log(sigma2) + logDeterminant / n, state)
        }
    }

    /// The state's stationary covariance, the P with P = T P Tᵀ + R Rᵀ (unit innovation variance),
    /// in O(p³ + r²) instead of solving that r²-sized system: the first row is Cov(w_t, α_t[j]),
    /// which the ARMA's autocovariances γ and ψ-weights give directly; every other entry follows from
    /// the equation itself, P[i][j] = c_i c_j P₀₀ + c_i P[0][j+1] + c_j P[i+1][0] + P[i+1][j+1] + R_i R_j,
    /// filled from the bottom-right corner. Nil when the AR part is (numerically) not stationary.
    static func stationaryCovariance(_ column: [Double], _ noise: [Double]) -> [Double]? {
        let r = column.count
        let phi = Array(column.reversed().drop { $0 == 0 }.reversed())
        let theta = Array(noise.dropFirst())
        guard let gamma = autocovariances(phi: phi, theta: theta, lags: r) else { return nil }
        let psi = psiWeights(ar: phi, ma: theta, count: r)
        var covariance = [Double](repeating: 0, count: r * r)
        covariance[0] = gamma[0]
        for j in 1..<max(r, 1) {
            // α_t[j] = Σ_{k≥j} c_k w_{t−1−k+j} + Σ_{k≥j} R_k ε_{t−k+j}; Cov(w_t, ε_{t−s}) = ψ_s.
            var value = 0.0
            for k in j..<r { value += column[k] * gamma[k - j + 1] + noise[k] * psi[k - j] }
            covariance[j] = value
            covariance[j * r] = value
        }
        func entry(_ i: Int, _ j: Int) -> Double { i < r && j < r ? covariance[i * r + j] : 0 }
        for i in stride(from: r - 1, through: 1, by: -1) {
            for j in stride(from: r - 1, through: i, by: -1) {
                let value = column[i] * column[j] * gamma[0] + column[i] * entry(0, j + 1) + column[j] * entry(i + 1, 0)
                    + entry(i + 1, j + 1) + noise[i] * noise[j]
                covariance[i * r + j] = value
                covariance[j * r + i] = value
            }
        }
        return covariance.allSatisfy(\.isFinite) ? covariance : nil
    }

    /// γ(0…lags) of the ARMA w_t = Σ φ_i w_{t−i} + ε_t + Σ θ_j ε_{t−j}, Var ε = 1 (Brockwell & Davis
    /// §3.3): the first p + 1 from a linear system, the rest by the AR recursion.
    static func autocovariances(phi: [Double], theta: [Double], lags: Int) -> [Double]? {
        let p = phi.count, q = theta.count
        let thetaFull = [1.0] + theta
        let psi = psiWeights(ar: phi, ma: theta, count: q + 1)
        // Right-hand side: Σ_{j=k}^{q} θ_j ψ_{j−k}.
        func moving(_ k: Int) -> Double { k > q ? 0 : (k...q).reduce(0) { $0 + thetaFull[$1] * psi[$1 - k] } }
        var gamma = [Double](repeating: 0, count: max(lags, p) + 1)
        // γ(k) − Σ φ_i γ(|k − i|) = moving(k), k = 0…p.
        var matrix = [[Double]](repeating: [Double](repeating: 0, count: p + 1), count: p + 1)
        var rhs = (0...p).map(moving)
        for k in 0...p {
            matrix[k][k] += 1
            for i in stride(from: 1, through: p, by: 1) { matrix[k][abs(k - i)] -= phi[i - 1] }
        }
        guard let solved = solveLinear(&matrix, &rhs) else { return nil }
        for k in 0...p { gamma[k] = solved[k] }
        for k in stride(from: p + 1, to: gamma.count, by: 1) {
            var value = moving(k)
            for i in stride(from: 1, through: p, by: 1) { value += phi[i - 1] * gamma[k - i] }
            gamma[k] = value
        }
        return gamma[0] > 0 && gamma[0].isFinite ? gamma : nil
    }

    /// ψ_0…ψ_{count−1} of the MA(∞) form of φ(B) w = θ(B) ε: ψ_0 = 1, ψ_j = θ_j + Σ φ_i ψ_{j−i}.
    static func psiWeights(ar: [Double], ma: [Double], count: Int) -> [Double] {
        var psi = [1.0]
        for j in stride(from: 1, to: count, by: 1) {
            var value = j - 1 < ma.count ? ma[j - 1] : 0
            for (i, a) in ar.enumerated() where j - i - 1 >= 0 { value += a * psi[j - i - 1] }
            psi.append(value)
        }
        return psi
    }

    /// Gaussian elimination with partial pivoting; nil for a (numerically) singular system.
    static func solveLinear(_ a: inout [[Double]], _ b: inout [Double]) -> [Double]? {
        let n = b.count
        for column in 0..<n {
            let pivot = (column..<n).max { abs(a[$0][column]) < abs(a[$1][column]) }!
            guard abs(a[pivot][column]) > 1e-12 else { return nil }
            a.swapAt(column, pivot)
            b.swapAt(column, pivot)
            for row in (column + 1)..<n where a[row][column] != 0 {
                let factor = a[row][column] / a[column][column]
                for k in column..<n { a[row][k] -= factor * a[column][k] }
                b[row] -= factor * b[column]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var value = b[row]
            for k in (row + 1)..<n { value -= a[row][k] * x[k] }
            x[row] = value / a[row][row]
        }
        return x
    }

    /// Hyndman & Khandakar (2008): d from repeated KPSS tests, D from the seasonal strength, then a
    /// stepwise search over (p, q, P, Q) and the constant on AICc.
    public static func auto(_ y: [Double], season: Int? = nil, maxOrder: Int = 5) -> ARIMAFit? {
        let m = (season ?? 1) >= 2 && y.count >= 3 * (season ?? 1) ? season! : 1
        let seasonalD = m > 1 && seasonalStrength(y, season: m) > 0.64 ? 1 : 0
        var d = 0
        var series = difference(y, d: 0, seasonalD: seasonalD, season: m)
        while d < 2, series.count > 10, kpssRejectsStationarity(series) {
            d += 1
            series = difference(series, d: 1, seasonalD: 0, season: 1)
        }
        let allowConstant = d + seasonalD <= 1
        var tried: [ARIMAOrder: ARIMAFit?] = [:]
        func evaluate(_ order: ARIMAOrder) -> ARIMAFit? {
            if let cached = tried[order] { return cached }
            let valid = order.p >= 0 && order.q >= 0 && order.seasonalP >= 0 && order.seasonalQ >= 0
                && order.p <= 5 && order.q <= 5 && order.seasonalP <= 2 && order.seasonalQ <= 2
                && order.p + order.q + order.seasonalP + order.seasonalQ <= maxOrder
                && (!order.constant || allowConstant)
            let result = valid ? fit(y, order: order) : nil
            tried[order] = result
            return result
        }
        let seasonal = m > 1
        let starts: [(Int, Int, Int, Int)] = seasonal ? [(2, 2, 1, 1), (0, 0, 0, 0), (1, 0, 1, 0), (0, 1, 0, 1)] : [(2, 2, 0, 0), (0, 0, 0, 0), (1, 0, 0, 0), (0, 1, 0, 0)]
        var best: ARIMAFit?
        for (p, q, sp, sq) in starts {
            let order = ARIMAOrder(p: p, d: d, q: q, seasonalP: sp, seasonalD: seasonalD, seasonalQ: sq, season: m, constant: allowConstant)
            if let candidate = evaluate(order), candidate.aicc < best?.aicc ?? .infinity { best = candidate }
        }
        guard var current = best else { return nil }
        var improved = true
        var rounds = 0
        while improved, rounds < 100 {
            improved = false
            rounds += 1
            let o = current.order
            var neighbours: [ARIMAOrder] = []
            for (dp, dq) in [(-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (1, 1), (-1, 1), (1, -1)] {
                var next = o; next.p += dp; next.q += dq; neighbours.append(next)
            }
            if seasonal {
                for (dP, dQ) in [(-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (1, 1), (-1, 1), (1, -1)] {
                    var next = o; next.seasonalP += dP; next.seasonalQ += dQ; neighbours.append(next)
                }
            }
            var toggled = o; toggled.constant.toggle(); neighbours.append(toggled)
            for order in neighbours {
                if let candidate = evaluate(order), candidate.aicc < current.aicc - 1e-9 {
                    current = candidate
                    improved = true
                    break
                }
            }
        }
        // The search runs on CSS (fast; R's auto.arima does so for long or seasonal series); the
        // winner is refitted by exact likelihood, whose estimates of near-unit MA roots (typical of
        // seasonal series) CSS gets wrong.
        return fit(y, order: current.order, method: .maximumLikelihood) ?? current
    }

    // MARK: Pieces

    /// (1 − B)^d (1 − B^m)^D applied to `y`.
    static func difference(_ y: [Double], d: Int, seasonalD: Int, season m: Int) -> [Double] {
        var result = y
        for _ in 0..<seasonalD where result.count > m { result = (m..<result.count).map { result[$0] - result[$0 - m] } }
        for _ in 0..<d where result.count > 1 { result = (1..<result.count).map { result[$0] - result[$0 - 1] } }
        return result
    }

    /// Coefficients c with y_t = Σ c_i y_{t−i} + w_t for the differencing above.
    static func differencingPolynomial(d: Int, seasonalD: Int, season m: Int) -> [Double] {
        // 1 − Σ c_i B^i = (1 − B)^d (1 − B^m)^D.
        var polynomial = [1.0]
        func times(_ other: [Double]) {
            var product = [Double](repeating: 0, count: polynomial.count + other.count - 1)
            for (i, a) in polynomial.enumerated() { for (j, b) in other.enumerated() { product[i + j] += a * b } }
            polynomial = product
        }
        for _ in 0..<d { times([1, -1]) }
        for _ in 0..<seasonalD { times([1] + [Double](repeating: 0, count: max(m - 1, 0)) + [-1]) }
        return polynomial.dropFirst().map { -$0 }
    }

    /// The AR-form coefficients of (1 − Σ a_i B^i)(1 − Σ s_j B^{jm}).
    static func multiply(_ nonSeasonal: [Double], _ seasonal: [Double], season m: Int) -> [Double] {
        guard !seasonal.isEmpty else { return nonSeasonal }
        var first = [1.0] + nonSeasonal.map { -$0 }
        var second = [Double](repeating: 0, count: seasonal.count * m + 1)
        second[0] = 1
        for (j, s) in seasonal.enumerated() { second[(j + 1) * m] = -s }
        var product = [Double](repeating: 0, count: first.count + second.count - 1)
        for (i, a) in first.enumerated() { for (j, b) in second.enumerated() { product[i + j] += a * b } }
        first = product
        return first.dropFirst().map { -$0 }
    }

    /// The coefficients b of (1 + Σ b_i B^i)(1 + Σ S_j B^{jm}) = 1 + Σ b B^k.
    static func multiplyMovingAverage(_ nonSeasonal: [Double], _ seasonal: [Double], season m: Int) -> [Double] {
        multiply(nonSeasonal.map { -$0 }, seasonal.map { -$0 }, season: m).map { -$0 }
    }

    /// AR-form coefficients of two AR polynomials multiplied.
    static func combine(_ a: [Double], _ b: [Double]) -> [Double] {
        let first = [1.0] + a.map { -$0 }, second = [1.0] + b.map { -$0 }
        var product = [Double](repeating: 0, count: first.count + second.count - 1)
        for (i, x) in first.enumerated() { for (j, y) in second.enumerated() { product[i + j] += x * y } }
        return product.dropFirst().map { -$0 }
    }

    /// Durbin–Levinson: partial autocorrelations in (−1, 1) → coefficients of a stationary AR
    /// polynomial (an invertible MA one, used the same way).
    static func fromPartials(_ partials: [Double]) -> [Double] {
        var coefficients: [Double] = []
        for (k, partial) in partials.enumerated() {
            var next = coefficients
            for j in 0..<k { next[j] = coefficients[j] - partial * coefficients[k - 1 - j] }
            next.append(partial)
            coefficients = next
        }
        return coefficients
    }

    /// KPSS level-stationarity test (Kwiatkowski et al. 1992) at 5% (critical value 0.463), with the
    /// Newey–West long-run variance at lag ⌊4 (n/100)^¼⌋ (urca's "short" lags, which
    /// `forecast::ndiffs` uses).
    static func kpssRejectsStationarity(_ x: [Double]) -> Bool {
        let n = x.count
        let mean = x.reduce(0, +) / Double(n)
        let e = x.map { $0 - mean }
        var partial = 0.0, sumSquares = 0.0
        for value in e {
            partial += value
            sumSquares += partial * partial
        }
        let lag = Int(4 * pow(Double(n) / 100, 0.25))
        var variance = e.reduce(0) { $0 + $1 * $1 } / Double(n)
        if lag > 0 {
            for l in 1...lag {
                var covariance = 0.0
                for t in l..<n { covariance += e[t] * e[t - l] }
                variance += 2 * (1 - Double(l) / Double(lag + 1)) * covariance / Double(n)
            }
        }
        guard variance > 0 else { return false }
        return sumSquares / (Double(n) * Double(n) * variance) > 0.463
    }

    /// Seasonal strength from a classical additive decomposition: 1 − Var(remainder) / Var(seasonal +
    /// remainder) (Wang, Smith & Hyndman 2006); R's `nsdiffs` takes one seasonal difference above 0.64.
    static func seasonalStrength(_ y: [Double], season m: Int) -> Double {
        let n = y.count
        guard m >= 2, n >= 2 * m + 1 else { return 0 }
        let trend = centredMovingAverage(y, season: m)
        var sums = [Double](repeating: 0, count: m), counts = [Double](repeating: 0, count: m)
        for t in 0..<n { if let level = trend[t] { sums[t % m] += y[t] - level; counts[t % m] += 1 } }
        var indices = (0..<m).map { counts[$0] > 0 ? sums[$0] / counts[$0] : 0 }
        let average = indices.reduce(0, +) / Double(m)
        indices = indices.map { $0 - average }
        var remainder: [Double] = [], detrended: [Double] = []
        for t in 0..<n { if let level = trend[t] { detrended.append(y[t] - level); remainder.append(y[t] - level - indices[t % m]) } }
        let varianceDetrended = variance(detrended)
        guard varianceDetrended > 0 else { return 0 }
        return max(0, 1 - variance(remainder) / varianceDetrended)
    }

    static func variance(_ x: [Double]) -> Double {
        guard x.count > 1 else { return 0 }
        let mean = x.reduce(0, +) / Double(x.count)
        return x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count - 1)
    }

    static func standardDeviation(_ x: [Double]) -> Double { variance(x).squareRoot() }
}
