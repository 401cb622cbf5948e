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

/// A fitted ARIMA model (conditional sum of squares, Box & Jenkins; the likelihood and AICc use the
/// CSS variance as `forecast::Arima(method = "CSS")` does).
public struct ARIMAFit: Sendable {
    public let order: ARIMAOrder
    public let ar: [Double], ma: [Double], seasonalAR: [Double], seasonalMA: [Double]
    public let constant: Double
    public let sigma2: Double
    public let aicc: Double
    let data: [Double]
    let residuals: [Double]

    public var parameters: [String: Double] {
        var result = ["sigma": sigma2.squareRoot()]
        for (index, value) in ar.enumerated() { result["ar\(index + 1)"] = value }
        for (index, value) in ma.enumerated() { result["ma\(index + 1)"] = value }
        for (index, value) in seasonalAR.enumerated() { result["sar\(index + 1)"] = value }
        for (index, value) in seasonalMA.enumerated() { result["sma\(index + 1)"] = value }
        if order.constant { result[order.d + order.seasonalD == 0 ? "mean" : "drift"] = constant }
        return result
    }

    /// Point forecasts by the recursion of the full (integrated) model, normal intervals from its
    /// ψ-weights.
    public func forecast(horizon: Int) -> Forecast {
        let m = order.season
        let arFull = ARIMA.multiply(ar, seasonalAR, season: m)
        let maFull = ARIMA.multiplyMovingAverage(ma, seasonalMA, season: m)
        let integration = ARIMA.differencingPolynomial(d: order.d, seasonalD: order.seasonalD, season: m)
        // The differenced series' forecasts, then integrated back.
        var w = ARIMA.difference(data, d: order.d, seasonalD: order.seasonalD, season: m)
        var errors = residuals
        let mean = order.constant ? constant : 0
        for _ in 0..<horizon {
            let t = w.count
            var value = mean
            for (i, a) in arFull.enumerated() where t - i - 1 >= 0 { value += a * (w[t - i - 1] - mean) }
            for (j, b) in maFull.enumerated() where t - j - 1 >= 0 && t - j - 1 < errors.count { value += b * errors[t - j - 1] }
            w.append(value)
            errors.append(0)
        }
        var y = data
        let differenced = w.count - horizon
        for step in 0..<horizon {
            var value = w[differenced + step]
            for (i, c) in integration.enumerated() { value += c * y[y.count - i - 1] }
            y.append(value)
        }
        // ψ-weights of φ(B)Φ(B^m)(1−B)^d(1−B^m)^D against θ(B)Θ(B^m).
        let combinedAR = ARIMA.combine(arFull, integration)
        var psi = [1.0]
        for j in 1..<max(horizon, 1) {
            var value = j - 1 < maFull.count ? maFull[j - 1] : 0
            for (i, a) in combinedAR.enumerated() where j - i - 1 >= 0 { value += a * psi[j - i - 1] }
            psi.append(value)
        }
        var cumulative = 0.0
        let sd = (0..<horizon).map { h -> Double in
            cumulative += psi[h] * psi[h]
            return (sigma2 * cumulative).squareRoot()
        }
        return Forecast(model: order.description, mean: Array(y.suffix(horizon)), sd: sd, parameters: parameters, aicc: aicc)
    }
}

public enum ARIMA {
    /// Fits `order` by conditional sum of squares; AR and MA parts are kept stationary and
    /// invertible by optimising their partial autocorrelations (as R's `arima` transforms them).
    public static func fit(_ y: [Double], order: ARIMAOrder) -> ARIMAFit? {
        let m = order.season
        let w = difference(y, d: order.d, seasonalD: order.seasonalD, season: m)
        let start = order.p + m * order.seasonalP
        guard w.count - start > order.coefficientCount + 2 else { return nil }
        let center = order.constant ? w.reduce(0, +) / Double(w.count) : 0
        let scale = max(standardDeviation(w), 1e-9)

        func unpack(_ u: [Double]) -> (ar: [Double], ma: [Double], sar: [Double], sma: [Double], constant: Double) {
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
            return (ar, ma, sar, sma, constant)
        }
        func residuals(_ parameters: (ar: [Double], ma: [Double], sar: [Double], sma: [Double], constant: Double)) -> [Double] {
            let arFull = multiply(parameters.ar, parameters.sar, season: m)
            let maFull = multiplyMovingAverage(parameters.ma, parameters.sma, season: m)
            var errors = [Double](repeating: 0, count: w.count)
            for t in start..<w.count {
                var value = w[t] - parameters.constant
                for (i, a) in arFull.enumerated() { value -= a * (w[t - i - 1] - parameters.constant) }
                for (j, b) in maFull.enumerated() where t - j - 1 >= 0 { value -= b * errors[t - j - 1] }
                errors[t] = value
            }
            return errors
        }
        let dimension = order.coefficientCount
        let objective = { (u: [Double]) -> Double in
            let sum = residuals(unpack(u)).reduce(0) { $0 + $1 * $1 }
            return sum.isFinite ? sum : .infinity
        }
        let best = dimension == 0 ? [] : NelderMead.minimize([Double](repeating: 0, count: dimension),
                                                             step: [Double](repeating: 0.3, count: dimension), objective)
        let parameters = unpack(best)
        let errors = residuals(parameters)
        let effective = Double(w.count - start)
        let sse = errors[start...].reduce(0) { $0 + $1 * $1 }
        guard sse.isFinite else { return nil }
        let sigma2 = max(sse / effective, 1e-300)
        let k = Double(dimension + 1)
        guard effective - k - 1 > 0 else { return nil }
        let minus2LogLikelihood = effective * (log(2 * .pi * sigma2) + 1)
        let aicc = minus2LogLikelihood + 2 * k + 2 * k * (k + 1) / (effective - k - 1)
        return ARIMAFit(order: order, ar: parameters.ar, ma: parameters.ma, seasonalAR: parameters.sar, seasonalMA: parameters.sma,
                        constant: parameters.constant, sigma2: sigma2, aicc: aicc, data: y, residuals: errors)
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
                for (dP, dQ) in [(-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (1, 1)] {
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
        return current
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
