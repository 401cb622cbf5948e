#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a segment's cost measures: changes in mean only, or in mean and variance.
public enum SegmentModel: String, Sendable, CaseIterable, Codable {
    /// Gaussian with a common, known variance: cost is the squared deviation from the segment mean,
    /// in units of the series' noise variance (estimated from first differences).
    case mean
    /// Gaussian with its own mean and variance per segment: cost is n · log(σ²_segment).
    case meanVariance = "mean-variance"
}

/// Segment costs from prefix sums: O(1) per segment.
struct SegmentCost {
    private let sums: [Double]
    private let squares: [Double]
    let model: SegmentModel
    /// Noise variance the mean model divides by.
    let scale: Double
    let minimumSize: Int

    init(_ series: [Double], model: SegmentModel) {
        var sums = [0.0]
        var squares = [0.0]
        for x in series {
            sums.append(sums.last! + x)
            squares.append(squares.last! + x * x)
        }
        self.sums = sums
        self.squares = squares
        self.model = model
        scale = Self.noiseVariance(series)
        minimumSize = 2
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
        }
    }

    /// BIC-style penalty per change: log n for each parameter a new segment adds (its mean, or
    /// mean and variance) plus its location.
    func bicPenalty(length: Int) -> Double {
        Double(model == .mean ? 2 : 3) * log(Double(max(length, 2)))
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
    public static func pelt(_ series: [Double], model: SegmentModel = .mean, penalty: Double? = nil) -> [Int] {
        let cost = SegmentCost(series, model: model)
        let beta = penalty ?? cost.bicPenalty(length: series.count)
        let step = max(1, (series.count + exactPELTLimit - 1) / exactPELTLimit)
        let coarse = pelt(cost, length: series.count, penalty: beta, step: step)
        guard step > 1 else { return coarse }
        // Refine: move each change to the best split between its neighbours, within one grid cell.
        var refined: [Int] = []
        for (index, change) in coarse.enumerated() {
            let left = refined.last ?? 0
            let right = index + 1 < coarse.count ? coarse[index + 1] : series.count
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

    /// Binary segmentation (Scott & Knott 1974): split at the best point while the cost saved exceeds
    /// the penalty. Greedy and fast (O(n log n)); an approximation of the penalized optimum.
    public static func binarySegmentation(_ series: [Double], model: SegmentModel = .mean, penalty: Double? = nil) -> [Int] {
        let cost = SegmentCost(series, model: model)
        let beta = penalty ?? cost.bicPenalty(length: series.count)
        var changes: [Int] = []
        var pending = [(0, series.count)]
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
