#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bayesian online change-point detection (Adams & MacKay 2007) for Gaussian data with unknown mean
/// and variance (Normal-Gamma prior, Student-t predictive) and a constant hazard 1/λ.
///
/// Keeps the posterior over the run length (values since the last change). A change is reported at
/// index t − r when the most probable run length r drops compared to the previous step and the
/// segment it implies is still the most probable `confirmation` values later (a lone outlier or a
/// wobble of the noise restarts the run for a moment only). The data are measured in their long-run
/// noise scale (as `pelt`'s defaults), so autocorrelated noise does not look like a stream of
/// changes. Run lengths with negligible probability are dropped (and at most `maxRunLength` kept),
/// so memory stays bounded.
public struct BOCPD: Sendable {
    public var expectedRunLength = 250.0
    public var maxRunLength = 1000
    /// Normal-Gamma prior: mean μ0, pseudo-count κ0, shape α0, rate β0 (β0 scaled to the data by `detect`).
    public var priorMean = 0.0
    public var priorKappa = 1.0
    public var priorAlpha = 1.0
    public var priorBeta = 1.0
    /// Values after a restart during which the implied segment must stay the most probable.
    public var confirmation = 5

    public init() {}

    /// Change points (indices where a new segment starts) of the whole series.
    public func detect(_ series: [Double]) -> [Int] {
        guard series.count > 1 else { return [] }
        // Standardize with robust location and scale, so the prior fits any units.
        var sorted = series
        sorted.sort()
        let median = sorted[sorted.count / 2]
        let scale = max(OfflineChangePoints.explain(series, OfflineSettings(model: .mean), method: .binseg).variance.squareRoot(), 1e-12)
        let data = series.map { ($0 - median) / scale }

        let hazard = 1 / expectedRunLength
        // Sufficient statistics per run length r (index r): posterior parameters after r values.
        var probabilities = [1.0]
        var means = [priorMean], kappas = [priorKappa], alphas = [priorAlpha], betas = [priorBeta]
        var changes: [Int] = []
        var previousMostLikely = 0
        // A restart waiting for confirmation: where its segment starts, and for how many values it held.
        var pending: (start: Int, held: Int)?
        func confirm() {
            if let (start, _) = pending, start > 0, start < data.count, changes.last.map({ start > $0 }) ?? true { changes.append(start) }
            pending = nil
        }
        for (t, x) in data.enumerated() {
            // Predictive probability of x under each run length (Student-t).
            var predictive = [Double](repeating: 0, count: probabilities.count)
            for r in probabilities.indices {
                let freedom = 2 * alphas[r]
                let scale2 = betas[r] * (kappas[r] + 1) / (alphas[r] * kappas[r])
                let z = (x - means[r]) * (x - means[r]) / scale2
                let logDensity = lgamma((freedom + 1) / 2) - lgamma(freedom / 2) - 0.5 * log(freedom * Double.pi * scale2)
                    - (freedom + 1) / 2 * log1p(z / freedom)
                predictive[r] = exp(logDensity)
            }
            var grown = [Double](repeating: 0, count: probabilities.count + 1)
            var changeMass = 0.0
            for r in probabilities.indices {
                let joint = probabilities[r] * predictive[r]
                grown[r + 1] = joint * (1 - hazard)
                changeMass += joint * hazard
            }
            grown[0] = changeMass
            let evidence = grown.reduce(0, +)
            guard evidence > 0, evidence.isFinite else {
                // Numerically impossible under every run length: treat it as a certain change.
                probabilities = [1.0]
                means = [priorMean]; kappas = [priorKappa]; alphas = [priorAlpha]; betas = [priorBeta]
                pending = nil
                if t > 0, changes.last.map({ t > $0 }) ?? true { changes.append(t) }
                previousMostLikely = 0
                continue
            }
            // Posterior update of the parameters for each grown run length; run length 0 is the prior.
            var newMeans = [priorMean], newKappas = [priorKappa], newAlphas = [priorAlpha], newBetas = [priorBeta]
            for r in probabilities.indices {
                newMeans.append((kappas[r] * means[r] + x) / (kappas[r] + 1))
                newKappas.append(kappas[r] + 1)
                newAlphas.append(alphas[r] + 0.5)
                newBetas.append(betas[r] + kappas[r] * (x - means[r]) * (x - means[r]) / (2 * (kappas[r] + 1)))
            }
            probabilities = grown.map { $0 / evidence }
            means = newMeans; kappas = newKappas; alphas = newAlphas; betas = newBetas
            // Bound memory: drop the tail of negligible run lengths.
            var keep = probabilities.count
            while keep > 1, probabilities[keep - 1] < 1e-12 || keep > maxRunLength { keep -= 1 }
            if keep < probabilities.count {
                probabilities.removeLast(probabilities.count - keep)
                means.removeLast(means.count - keep); kappas.removeLast(kappas.count - keep)
                alphas.removeLast(alphas.count - keep); betas.removeLast(betas.count - keep)
                let total = probabilities.reduce(0, +)
                probabilities = probabilities.map { $0 / total }
            }
            let mostLikely = probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
            // Run length 0 means the new segment starts with the next value.
            let start = t - mostLikely + 1
            if var waiting = pending {
                // Still the same segment (give or take a value): held one more step.
                if abs(start - waiting.start) <= 1 {
                    waiting.held += 1
                    pending = waiting
                    if waiting.held >= confirmation { confirm() }
                } else {
                    pending = nil
                }
            }
            // The run restarted: the new segment began `mostLikely` values ago (this one included).
            if mostLikely < previousMostLikely, pending == nil, changes.last.map({ start > $0 }) ?? true {
                pending = (start, 0)
            }
            previousMostLikely = mostLikely
        }
        // A restart near the end cannot be held `confirmation` times; it counts if it held to the end.
        if let waiting = pending, waiting.held >= min(confirmation, data.count - 1 - waiting.start) { confirm() }
        return changes
    }
}
