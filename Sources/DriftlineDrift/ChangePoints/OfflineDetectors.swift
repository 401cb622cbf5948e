#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a segment's cost measures: changes in mean, in mean and variance, or in a linear trend.
public enum SegmentModel: String, Sendable, CaseIterable, Codable {
    /// Gaussian with a common, known variance: cost is the squared deviation from the segment mean,
    /// in units of the series' noise variance.
    case mean
    /// Gaussian with its own mean and variance per segment: cost is n · log(σ²_segment).
    case meanVariance = "mean-variance"
    /// A line per segment (its own intercept and slope), common noise variance: a steady trend is
    /// one segment, a change of slope or a jump starts a new one.
    case linear
    /// `mean` or `linear`, whichever explains the series at the lower penalized cost (in the same
    /// noise units): a trending series is not cut into a staircase, a flat one pays nothing for slopes.
    case auto

    /// Parameters a new segment adds (its location not counted).
    var parameters: Int { self == .meanVariance || self == .linear ? 2 : 1 }
}

/// How the offline methods (`pelt`, `binseg`) weigh a change. The defaults are meant to be
/// trusted without tuning; `differences` with an explicit penalty and minimum size 2 is ruptures'
/// problem exactly (the golden tests run it that way).
public struct OfflineSettings: Sendable, Equatable {
    /// The noise scale costs are measured in.
    public enum Scale: String, Sendable, CaseIterable, Codable {
        /// The robust variance of first differences: (MAD / 0.6745)² / 2. A level shift does not
        /// inflate it, but autocorrelated noise and smooth trends shrink it, so they are cut into
        /// many steps.
        case differences
        /// The long-run variance of the residuals around the segments found: their robust variance
        /// times (1 + φ) / (1 − φ), φ their lag-1 autocorrelation, refined until the segments stop
        /// changing (at most 4 rounds, starting from `differences`). A change must then stand out
        /// from the noise as it really is, wandering included.
        case longRun = "long-run"
    }

    public var model: SegmentModel = .auto
    /// Cost of one more change, in units of the scale; nil: MBIC, (parameters + 2) · log n — 3 log n
    /// for `mean`, 4 log n for `mean-variance` and `linear` (R changepoint's MBIC value).
    public var penalty: Double?
    public var scale: Scale = .longRun
    /// Shortest segment; nil: 5, less on short series (n / 8, at least 2), so a short burst of
    /// noise is not a segment of its own.
    public var minimumSize: Int?
    /// Whether isolated outliers are set aside before costs are taken (`true` by default): a value
    /// more than 5 noise σ from each of its four neighbours is replaced by their median. One wild
    /// value is no change of regime; at a real shift, a value is near the neighbours on its side.
    public var replacesOutliers: Bool

    public init(model: SegmentModel = .auto, penalty: Double? = nil, scale: Scale = .longRun, minimumSize: Int? = nil, replacesOutliers: Bool = true) {
        self.model = model
        self.penalty = penalty
        self.scale = scale
        self.minimumSize = minimumSize
        self.replacesOutliers = replacesOutliers
    }

    /// `series` with isolated outliers replaced (see `replacesOutliers`).
    static func withoutOutliers(_ series: [Double]) -> [Double] {
        guard series.count >= 5 else { return series }
        let sigma = SegmentCost.noiseVariance(series).squareRoot()
        guard sigma > 0 else { return series }
        var cleaned = series
        for index in series.indices {
            var neighbours = (max(0, index - 2)...min(series.count - 1, index + 2)).filter { $0 != index }.map { series[$0] }
            guard neighbours.allSatisfy({ abs(series[index] - $0) > 5 * sigma }) else { continue }
            neighbours.sort()
            cleaned[index] = neighbours.count % 2 == 1 ? neighbours[neighbours.count / 2]
                : (neighbours[neighbours.count / 2 - 1] + neighbours[neighbours.count / 2]) / 2
        }
        return cleaned
    }

    func penalty(length n: Int) -> Double { penalty ?? Double(model.parameters + 2) * log(Double(max(n, 2))) }

    func minimumSize(length n: Int) -> Int { max(model == .linear ? 3 : 2, minimumSize ?? min(5, n / 8)) }
}

/// Why the offline methods found what they found (`detect-changes --explain`).
public struct OfflineExplanation: Sendable, Equatable {
    public var changes: [Int]
    /// The model the changes are of (`auto` resolved to `mean` or `linear`).
    public var model: SegmentModel
    /// The penalty per change, in units of `variance`.
    public var penalty: Double
    /// The noise variance costs were measured in (for `long-run`: the long-run variance).
    public var variance: Double
    /// Lag-1 autocorrelation of the residuals (0 for `differences`).
    public var autocorrelation: Double
    public var minimumSize: Int
    public var rounds: Int
}

/// Segment costs from prefix sums: O(1) per segment.
struct SegmentCost {
    private let sums: [Double]
    private let squares: [Double]
    /// For `linear`: prefix sums of t·x (t the position).
    private let products: [Double]
    let model: SegmentModel
    /// Noise variance the `mean` and `linear` models divide by.
    let scale: Double
    let minimumSize: Int

    init(_ series: [Double], model: SegmentModel, scale: Double, minimumSize: Int) {
        var sums = [0.0]
        var squares = [0.0]
        var products = [0.0]
        sums.reserveCapacity(series.count + 1)
        squares.reserveCapacity(series.count + 1)
        for (t, x) in series.enumerated() {
            sums.append(sums.last! + x)
            squares.append(squares.last! + x * x)
            if model == .linear { products.append(products.last! + Double(t) * x) }
        }
        self.sums = sums
        self.squares = squares
        self.products = products
        self.model = model
        self.scale = scale
        self.minimumSize = minimumSize
    }

    /// Robust noise variance: (MAD of first differences / 0.6745)² / 2, so level shifts do not inflate it.
    static func noiseVariance(_ series: [Double]) -> Double {
        guard series.count > 2 else { return 1 }
        var differences = zip(series.dropFirst(), series).map { abs($0 - $1) }
        differences.sort()
        let median = differences[differences.count / 2]
        let sigma = median / 0.6745 / 2.0.squareRoot()
        if sigma > 0 { return sigma * sigma }
        // Mostly repeated values: fall back to the plain variance, or 1 for a constant series.
        let mean = series.reduce(0, +) / Double(series.count)
        let variance = series.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(series.count)
        return variance > 0 ? variance : 1
    }

    /// Cost of series[start..<end].
    func cost(_ start: Int, _ end: Int) -> Double {
        let n = Double(end - start)
        let sum = sums[end] - sums[start]
        let squared = squares[end] - squares[start]
        let deviation = max(0, squared - sum * sum / n)
        switch model {
        case .mean:
            return deviation / scale
        case .meanVariance:
            // Floor the variance so a constant stretch does not cost −∞.
            let variance = max(deviation / n, 1e-12 * scale)
            return n * log(variance)
        case .linear, .auto:
            // Least squares line (`auto` is resolved before costs are made) over t = start..<end: what the slope explains comes off the deviation.
            let t0 = Double(start), t1 = Double(end - 1)
            let meanT = (t0 + t1) / 2
            let spreadT = n * (n * n - 1) / 12  // Σ (t − t̄)² over n consecutive positions
            guard spreadT > 0 else { return deviation / scale }
            let covariance = (products[end] - products[start]) - meanT * sum
            return max(0, deviation - covariance * covariance / spreadT) / scale
        }
    }
}

/// The residuals' robust variance and lag-1 autocorrelation around segments starting at `changes`.
enum Residuals {
    static func statistics(_ series: [Double], changes: [Int], model: SegmentModel) -> (variance: Double, autocorrelation: Double) {
        var residuals: [Double] = []
        residuals.reserveCapacity(series.count)
        let bounds = [0] + changes + [series.count]
        for (start, end) in zip(bounds, bounds.dropFirst()) where end > start {
            let segment = series[start..<end]
            let n = Double(segment.count)
            let mean = segment.reduce(0, +) / n
            if model == .linear, segment.count > 2 {
                let meanT = Double(start + end - 1) / 2
                var covariance = 0.0, spread = 0.0
                for (t, x) in zip(start..<end, segment) {
                    covariance += (Double(t) - meanT) * (x - mean)
                    spread += (Double(t) - meanT) * (Double(t) - meanT)
                }
                let slope = spread > 0 ? covariance / spread : 0
                for (t, x) in zip(start..<end, segment) { residuals.append(x - mean - slope * (Double(t) - meanT)) }
            } else {
                for x in segment { residuals.append(x - mean) }
            }
        }
        var magnitudes = residuals.map(abs)
        magnitudes.sort()
        let sigma = magnitudes.isEmpty ? 0 : magnitudes[magnitudes.count / 2] / 0.6745
        guard sigma > 0, residuals.count > 3 else { return (0, 0) }
        // Winsorized at 3σ so a few outliers neither make nor break the autocorrelation.
        let clipped = residuals.map { min(3 * sigma, max(-3 * sigma, $0)) }
        let starts = Set(changes)
        var lagged = 0.0, total = 0.0
        for index in clipped.indices {
            total += clipped[index] * clipped[index]
            if index > 0, !starts.contains(index) { lagged += clipped[index] * clipped[index - 1] }
        }
        return (sigma * sigma, total > 0 ? lagged / total : 0)
    }
}

/// Offline change points of a whole series: the indices where new segments start.
public enum OfflineChangePoints {
    /// Series longer than this are searched on a grid first (see `pelt`).
    public static let exactPELTLimit = 10_000

    /// PELT (Killick, Fearnhead & Eckley 2012): the exact penalized optimum, pruning candidates that
    /// can never again be optimal. Pruning only bites between changes, so a long series with few
    /// changes still costs O(n²); beyond `exactPELTLimit` values, changes are searched on a grid of
    /// ⌈n / exactPELTLimit⌉ points (as ruptures' `jump`) and each one is then placed exactly within
    /// its cell.
    public static func pelt(_ series: [Double], _ settings: OfflineSettings = .init()) -> [Int] {
        explain(series, settings, search: pelt(_:length:penalty:)).changes
    }

    /// Binary segmentation (Scott & Knott 1974): split at the best point while the cost saved exceeds
    /// the penalty. Greedy and fast (O(n log n)); an approximation of the penalized optimum.
    public static func binarySegmentation(_ series: [Double], _ settings: OfflineSettings = .init()) -> [Int] {
        explain(series, settings, search: binarySegmentation(_:length:penalty:)).changes
    }

    /// The changes `method` finds with `settings`, and the penalty, scale and rounds that led to them.
    public static func explain(_ series: [Double], _ settings: OfflineSettings, method: ChangePointMethod) -> OfflineExplanation {
        explain(series, settings, search: method == .binseg ? binarySegmentation(_:length:penalty:) : pelt(_:length:penalty:))
    }

    typealias Search = (_ cost: SegmentCost, _ length: Int, _ penalty: Double) -> [Int]

    static func explain(_ series: [Double], _ settings: OfflineSettings, search: Search) -> OfflineExplanation {
        let series = settings.replacesOutliers ? OfflineSettings.withoutOutliers(series) : series
        guard settings.model == .auto else { return fit(series, settings, search: search) }
        var mean = settings, linear = settings
        mean.model = .mean
        linear.model = .linear
        let flat = fit(series, mean, search: search)
        let sloped = fit(series, linear, search: search)
        // Both segmentations in the same units (the better fit's noise), each paying MBIC for its
        // changes and for its segments' parameters.
        let variance = min(flat.variance, sloped.variance)
        func penalized(_ fit: OfflineExplanation, _ model: SegmentModel) -> Double {
            let cost = SegmentCost(series, model: model, scale: variance, minimumSize: fit.minimumSize)
            let bounds = [0] + fit.changes + [series.count]
            let total = zip(bounds, bounds.dropFirst()).reduce(0) { $0 + cost.cost($1.0, $1.1) }
            let k = Double(fit.changes.count)
            return total + (k * Double(model.parameters + 2) + Double(model.parameters)) * log(Double(max(series.count, 2)))
        }
        return penalized(sloped, .linear) < penalized(flat, .mean) ? sloped : flat
    }

    static func fit(_ series: [Double], _ settings: OfflineSettings, search: Search) -> OfflineExplanation {
        let n = series.count
        let minimum = settings.minimumSize(length: n)
        let beta = settings.penalty(length: n)
        var variance = SegmentCost.noiseVariance(series)
        func cost() -> SegmentCost { SegmentCost(series, model: settings.model, scale: variance, minimumSize: minimum) }
        guard settings.scale == .longRun, n > 3 else {
            return OfflineExplanation(changes: search(cost(), n, beta), model: settings.model, penalty: beta, variance: variance,
                                      autocorrelation: 0, minimumSize: minimum, rounds: 1)
        }
        // The rounds that refine the scale only need the segments roughly: on a long series binary
        // segmentation finds them (PELT without changes to prune is quadratic), and the method asked
        // for runs once, with the final scale.
        let long = n > exactPELTLimit
        func rough(_ cost: SegmentCost, _ n: Int, _ penalty: Double) -> [Int] {
            long ? binarySegmentation(cost, length: n, penalty: penalty) : search(cost, n, penalty)
        }
        var changes = rough(cost(), n, beta)
        var rounds = 1
        var phi = 0.0
        var penalty = beta
        while rounds < 4 {
            let residuals = Residuals.statistics(series, changes: changes, model: settings.model)
            guard residuals.variance > 0 else { break }
            phi = min(0.9, max(0, residuals.autocorrelation))
            // mean-variance costs do not depend on the scale: the dependence goes into the penalty.
            penalty = settings.model == .meanVariance ? beta * (1 + phi) / (1 - phi) : beta
            variance = settings.model == .meanVariance ? residuals.variance : residuals.variance * (1 + phi) / (1 - phi)
            rounds += 1
            let next = rough(cost(), n, penalty)
            if next == changes { break }
            changes = next
        }
        if long { changes = search(cost(), n, penalty) }
        return OfflineExplanation(changes: changes, model: settings.model, penalty: penalty, variance: variance, autocorrelation: phi,
                                  minimumSize: minimum, rounds: rounds)
    }

    /// PELT over the series, on a grid beyond `exactPELTLimit` values (see above).
    static func pelt(_ cost: SegmentCost, length n: Int, penalty beta: Double) -> [Int] {
        let step = max(1, (n + exactPELTLimit - 1) / exactPELTLimit)
        let coarse = pelt(cost, length: n, penalty: beta, step: step)
        guard step > 1 else { return coarse }
        // Refine: move each change to the best split between its neighbours, within one grid cell.
        var refined: [Int] = []
        for (index, change) in coarse.enumerated() {
            let left = refined.last ?? 0
            let right = index + 1 < coarse.count ? coarse[index + 1] : n
            let low = max(left + cost.minimumSize, change - step)
            let high = min(right - cost.minimumSize, change + step)
            guard low <= high else { refined.append(change); continue }
            let best = (low...high).min { cost.cost(left, $0) + cost.cost($0, right) < cost.cost(left, $1) + cost.cost($1, right) }!
            refined.append(best)
        }
        return refined
    }

    /// PELT over candidate change points at multiples of `step`.
    static func pelt(_ cost: SegmentCost, length n: Int, penalty beta: Double, step: Int) -> [Int] {
        let minimum = cost.minimumSize
        guard n >= 2 * minimum else { return [] }
        // Grid points (candidate segment boundaries), always including n.
        var points = Array(stride(from: 0, to: n, by: step))
        points.append(n)
        var best = [Double](repeating: .infinity, count: points.count)
        var previous = [Int](repeating: 0, count: points.count)
        best[0] = -beta
        var candidates = [0]  // indices into points
        var values: [Double] = []
        for endIndex in 1..<points.count {
            let end = points[endIndex]
            values.removeAll(keepingCapacity: true)
            var bestValue = Double.infinity
            var bestStart = 0
            for startIndex in candidates {
                guard end - points[startIndex] >= minimum, best[startIndex].isFinite else { values.append(-.infinity); continue }
                let value = best[startIndex] + cost.cost(points[startIndex], end)
                values.append(value)
                if value + beta < bestValue {
                    bestValue = value + beta
                    bestStart = startIndex
                }
            }
            best[endIndex] = bestValue
            previous[endIndex] = bestStart
            // Pruning: a start that is already worse than the optimum (before paying β) never wins later.
            var kept: [Int] = []
            kept.reserveCapacity(candidates.count + 1)
            for (startIndex, value) in zip(candidates, values) where value <= bestValue { kept.append(startIndex) }
            kept.append(endIndex)
            candidates = kept
        }
        var changes: [Int] = []
        var endIndex = points.count - 1
        while endIndex > 0 {
            let startIndex = previous[endIndex]
            if startIndex > 0 { changes.append(points[startIndex]) }
            endIndex = startIndex
        }
        return changes.sorted()
    }

    static func binarySegmentation(_ cost: SegmentCost, length n: Int, penalty beta: Double) -> [Int] {
        var changes: [Int] = []
        var pending = [(0, n)]
        while let (start, end) = pending.popLast() {
            guard end - start >= 2 * cost.minimumSize else { continue }
            let whole = cost.cost(start, end)
            var bestGain = 0.0
            var bestSplit = -1
            for split in (start + cost.minimumSize)...(end - cost.minimumSize) {
                let gain = whole - cost.cost(start, split) - cost.cost(split, end)
                if gain > bestGain {
                    bestGain = gain
                    bestSplit = split
                }
            }
            if bestSplit > 0, bestGain > beta {
                changes.append(bestSplit)
                pending.append((start, bestSplit))
                pending.append((bestSplit, end))
            }
        }
        return changes.sorted()
    }
}
