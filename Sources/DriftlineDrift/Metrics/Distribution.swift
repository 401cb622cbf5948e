#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Distances between two discrete distributions given as proportions over the same buckets.
enum BucketDistance {
    /// Added to every proportion before PSI's logarithm (then renormalized), so an empty bucket gives
    /// a large but finite contribution instead of infinity.
    static let smoothing = 1e-4

    static func smoothed(_ proportions: [Double]) -> [Double] {
        let scale = 1 + Double(proportions.count) * smoothing
        return proportions.map { ($0 + smoothing) / scale }
    }

    /// Population Stability Index: Σ (current − reference) · ln(current / reference).
    static func psi(reference: [Double], current: [Double]) -> Double {
        zip(smoothed(reference), smoothed(current)).reduce(0) { $0 + ($1.1 - $1.0) * log($1.1 / $1.0) }
    }

    /// Jensen–Shannon distance with base-2 logarithms: the square root of the divergence, in [0, 1].
    static func jensenShannon(reference: [Double], current: [Double]) -> Double {
        var divergence = 0.0
        for (p, q) in zip(reference, current) {
            let m = (p + q) / 2
            if p > 0 { divergence += 0.5 * p * log2(p / m) }
            if q > 0 { divergence += 0.5 * q * log2(q / m) }
        }
        return max(0, divergence).squareRoot()
    }

    /// Half the L1 distance, in [0, 1].
    static func totalVariation(reference: [Double], current: [Double]) -> Double {
        0.5 * zip(reference, current).reduce(0) { $0 + abs($1.0 - $1.1) }
    }

    static func proportions(_ counts: [Double]) -> [Double]? {
        let total = counts.reduce(0, +)
        guard total > 0 else { return nil }
        return counts.map { $0 / total }
    }
}

/// A step CDF built from a quantile sketch's weighted items.
struct EmpiricalCDF {
    let values: [Double]
    /// cumulative[i] = fraction of inputs ≤ values[i].
    let cumulative: [Double]
    let count: Int64

    init(_ items: [(value: Double, weight: Int64)], count: Int64) {
        var values: [Double] = []
        var cumulative: [Double] = []
        let total = Double(items.reduce(Int64(0)) { $0 + $1.weight })
        var running: Int64 = 0
        for item in items {
            running += item.weight
            if values.last == item.value {
                cumulative[cumulative.count - 1] = Double(running) / total
            } else {
                values.append(item.value)
                cumulative.append(Double(running) / total)
            }
        }
        self.values = values
        self.cumulative = cumulative
        self.count = count
    }

    /// Fraction of inputs ≤ x.
    func callAsFunction(_ x: Double) -> Double {
        var low = 0
        var high = values.count
        while low < high {
            let middle = (low + high) / 2
            if values[middle] <= x { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? 0 : cumulative[low - 1]
    }

    /// The smallest value whose cumulative fraction reaches q (inverse CDF, "inverted_cdf").
    func quantile(_ q: Double) -> Double {
        for (index, fraction) in cumulative.enumerated() where fraction >= q - 1e-12 { return values[index] }
        return values[values.count - 1]
    }
}
