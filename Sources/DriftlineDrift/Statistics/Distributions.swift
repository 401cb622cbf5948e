#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Tail probabilities the drift tests need, in closed form or by classic series (no dependencies).
enum Distributions {
    /// P(Z > z) for a standard normal Z.
    static func normalSurvival(_ z: Double) -> Double { 0.5 * erfc(z / 2.0.squareRoot()) }

    /// Two-sided p-value of a z statistic.
    static func twoSidedNormalPValue(_ z: Double) -> Double { min(1, 2 * normalSurvival(abs(z))) }

    /// Pearson's chi-square test of homogeneity on the 2 × K table whose rows are `first` and `second`
    /// (no continuity correction). Columns empty in both rows are left out. Nil when a row is empty or
    /// fewer than two columns remain.
    static func chiSquareHomogeneity(_ first: [Double], _ second: [Double]) -> (statistic: Double, pValue: Double)? {
        let columns = zip(first, second).filter { $0.0 + $0.1 > 0 }
        let firstTotal = columns.reduce(0) { $0 + $1.0 }
        let secondTotal = columns.reduce(0) { $0 + $1.1 }
        guard columns.count > 1, firstTotal > 0, secondTotal > 0 else { return nil }
        let total = firstTotal + secondTotal
        var statistic = 0.0
        for (a, b) in columns {
            let expectedA = firstTotal * (a + b) / total
            let expectedB = secondTotal * (a + b) / total
            statistic += (a - expectedA) * (a - expectedA) / expectedA + (b - expectedB) * (b - expectedB) / expectedB
        }
        return (statistic, chiSquareSurvival(statistic, degreesOfFreedom: Double(columns.count - 1)))
    }

    /// P(X > x) for X ~ χ²(k): the regularized upper incomplete gamma Q(k/2, x/2).
    static func chiSquareSurvival(_ x: Double, degreesOfFreedom k: Double) -> Double {
        guard x > 0 else { return 1 }
        return regularizedUpperGamma(k / 2, x / 2)
    }

    /// Q(a, x) = Γ(a, x) / Γ(a): series below a + 1, Lentz's continued fraction above
    /// (Numerical Recipes §6.2).
    static func regularizedUpperGamma(_ a: Double, _ x: Double) -> Double {
        guard x > 0 else { return 1 }
        let logPrefactor = -x + a * log(x) - lgamma(a)
        if x < a + 1 {
            var term = 1 / a
            var sum = term
            var n = a
            for _ in 0..<10_000 {
                n += 1
                term *= x / n
                sum += term
                if abs(term) < abs(sum) * 1e-16 { break }
            }
            return max(0, min(1, 1 - sum * exp(logPrefactor)))
        }
        let tiny = 1e-300
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var h = d
        for i in 1..<10_000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-16 { break }
        }
        return max(0, min(1, exp(logPrefactor) * h))
    }

    /// P(K > λ) for the limiting Kolmogorov distribution (scipy's `kstwobign.sf`). Two series, each
    /// used where it converges fast: the θ-function form below λ = 1, the alternating sum above.
    static func kolmogorovSurvival(_ lambda: Double) -> Double {
        guard lambda > 0 else { return 1 }
        if lambda < 1 {
            // P(K ≤ λ) = √(2π)/λ Σ_{j≥1} exp(−(2j−1)² π² / (8λ²))
            var sum = 0.0
            for j in 1...100 {
                let odd = Double(2 * j - 1)
                let term = exp(-odd * odd * Double.pi * Double.pi / (8 * lambda * lambda))
                sum += term
                if term < 1e-17 * sum { break }
            }
            return max(0, min(1, 1 - (2 * Double.pi).squareRoot() / lambda * sum))
        }
        var sum = 0.0
        for j in 1...100 {
            let term = exp(-2 * Double(j * j) * lambda * lambda)
            sum += (j % 2 == 1 ? 1 : -1) * term
            if term < 1e-17 { break }
        }
        return max(0, min(1, 2 * sum))
    }
}
