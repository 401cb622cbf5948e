import DriftlineProfiling
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the numeric values of a field moved between a reference and a current window.
public struct NumericDrift: Equatable, Sendable, Codable {
    /// PSI over bins cut at the reference's deciles.
    public var psi: MetricResult
    /// Jensen–Shannon distance (base 2) over the same bins.
    public var jensenShannon: MetricResult
    /// Two-sample Kolmogorov–Smirnov statistic, with the asymptotic (Kolmogorov) p-value.
    public var kolmogorovSmirnov: MetricResult
    /// Wasserstein-1 distance divided by the reference's standard deviation.
    public var wasserstein: MetricResult
    /// Difference of means in standard errors (Welch's z), with its two-sided p-value.
    public var meanShift: MetricResult
    /// Log variance ratio in standard errors, with its two-sided p-value.
    public var varianceShift: MetricResult
    /// For a reference with few distinct values (at most `discreteValues`, each seen 10 times on
    /// average), read as categories: the share of current values the reference never had, with the
    /// chi-square p-value of the value mix (the reference's values plus one bucket for the rest).
    /// A constant or few-valued reference (a record version, a status code) is the firmest
    /// expectation there is; PSI and Wasserstein say little or nothing about it.
    public var unseenValues: MetricResult

    public static let bins = 10
    public static let discreteValues = 10

    public init(reference: FieldProfile, current: FieldProfile) {
        guard let referenceSketch = reference.quantiles, reference.numbers.count > 0 else {
            self = .undefined("the reference window has no numeric values")
            return
        }
        guard let currentSketch = current.quantiles, current.numbers.count > 0 else {
            self = .undefined("the current window has no numeric values")
            return
        }
        let r = EmpiricalCDF(referenceSketch.weightedItems(), count: referenceSketch.count)
        let c = EmpiricalCDF(currentSketch.weightedItems(), count: currentSketch.count)

        // Bins: (−∞, e1], (e1, e2], …, (e9, ∞) at the reference's deciles, duplicates merged.
        var edges: [Double] = []
        for index in 1..<Self.bins {
            let edge = r.quantile(Double(index) / Double(Self.bins))
            if edges.last != edge { edges.append(edge) }
        }
        if r.values.count == 1 {
            // Below, at and above the constant: decile bins would put smaller values with it.
            let value = r.values[0]
            let below = c(value.nextDown)
            let currentBins = [below, c(value) - below, 1 - c(value)]
            psi = .defined(BucketDistance.psi(reference: [0, 1, 0], current: currentBins))
            jensenShannon = .defined(BucketDistance.jensenShannon(reference: [0, 1, 0], current: currentBins))
        } else {
            func binned(_ cdf: EmpiricalCDF) -> [Double] {
                var previous = 0.0
                var result: [Double] = []
                for edge in edges {
                    let at = cdf(edge)
                    result.append(at - previous)
                    previous = at
                }
                result.append(1 - previous)
                return result
            }
            let referenceBins = binned(r)
            let currentBins = binned(c)
            psi = .defined(BucketDistance.psi(reference: referenceBins, current: currentBins))
            jensenShannon = .defined(BucketDistance.jensenShannon(reference: referenceBins, current: currentBins))
        }

        // KS and Wasserstein walk the union of both supports; both CDFs are steps.
        var support = Array(Set(r.values).union(c.values))
        support.sort()
        var ks = 0.0
        var area = 0.0
        for (index, x) in support.enumerated() {
            let gap = abs(r(x) - c(x))
            ks = max(ks, gap)
            if index + 1 < support.count { area += gap * (support[index + 1] - x) }
        }
        let effective = Double(r.count) * Double(c.count) / Double(r.count + c.count)
        kolmogorovSmirnov = .defined(ks, pValue: Distributions.kolmogorovSurvival(effective.squareRoot() * ks))
        if let deviation = reference.numbers.standardDeviation, deviation > 0 {
            wasserstein = .defined(area / deviation)
        } else {
            wasserstein = .undefined(reference.numbers.count < 2 ? "fewer than two reference values" : "the reference is constant")
        }

        unseenValues = Self.unseenValues(r, c)

        let (nr, nc) = (Double(reference.numbers.count), Double(current.numbers.count))
        if let vr = reference.numbers.variance, let vc = current.numbers.variance {
            let standardError = (vr / nr + vc / nc).squareRoot()
            if standardError > 0 {
                let z = (current.numbers.mean - reference.numbers.mean) / standardError
                meanShift = .defined(z, pValue: Distributions.twoSidedNormalPValue(z))
            } else {
                meanShift = .undefined("both windows are constant")
            }
            if vr > 0, vc > 0 {
                let z = log(vc / vr) / (2 / (nr - 1) + 2 / (nc - 1)).squareRoot()
                varianceShift = .defined(z, pValue: Distributions.twoSidedNormalPValue(z))
            } else {
                varianceShift = .undefined(vr > 0 ? "the current window is constant" : "the reference is constant")
            }
        } else {
            meanShift = .undefined("fewer than two values in a window")
            varianceShift = .undefined("fewer than two values in a window")
        }
    }

    private static func unseenValues(_ r: EmpiricalCDF, _ c: EmpiricalCDF) -> MetricResult {
        guard r.values.count <= discreteValues, r.count >= 10 * Int64(r.values.count) else {
            return .undefined("the reference has more than \(discreteValues) distinct values or too few of each")
        }
        // Shares per reference value, then the rest: mass at x is F(x) − F(x⁻).
        func mass(_ cdf: EmpiricalCDF, at x: Double) -> Double { cdf(x) - cdf(x.nextDown) }
        let referenceShares = r.values.map { mass(r, at: $0) }
        var currentShares = r.values.map { mass(c, at: $0) }
        let unseen = max(0, 1 - currentShares.reduce(0, +))
        currentShares.append(unseen)
        let referenceCounts = (referenceShares + [0]).map { $0 * Double(r.count) }
        let currentCounts = currentShares.map { $0 * Double(c.count) }
        guard let test = Distributions.chiSquareHomogeneity(referenceCounts, currentCounts) else {
            return .defined(unseen, pValue: 1)  // one value on both sides: nothing moved
        }
        return .defined(unseen, pValue: test.pValue)
    }

    init(psi: MetricResult, jensenShannon: MetricResult, kolmogorovSmirnov: MetricResult, wasserstein: MetricResult, meanShift: MetricResult,
         varianceShift: MetricResult, unseenValues: MetricResult) {
        self.psi = psi
        self.jensenShannon = jensenShannon
        self.kolmogorovSmirnov = kolmogorovSmirnov
        self.wasserstein = wasserstein
        self.meanShift = meanShift
        self.varianceShift = varianceShift
        self.unseenValues = unseenValues
    }

    static func undefined(_ reason: String) -> NumericDrift {
        let result = MetricResult.undefined(reason)
        return NumericDrift(psi: result, jensenShannon: result, kolmogorovSmirnov: result, wasserstein: result, meanShift: result,
                            varianceShift: result, unseenValues: result)
    }
}
