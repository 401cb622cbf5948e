#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ADWIN, adaptive windowing (Bifet & Gavaldà, "Learning from Time-Changing Data with Adaptive
/// Windowing", 2007), in its exponential-histogram form (ADWIN2) with River's defaults.
///
/// The window is kept as rows of buckets, row r holding buckets that summarize 2^r values (sum and
/// variance), at most `maxBucketsPerRow` per row before the two oldest merge into the next row. Every
/// `clock` values, each cut of the window into an older part W0 and a newer part W1 is tested: when
/// |μ0 − μ1| exceeds ε_cut (Hoeffding/Bernstein bound with confidence δ), the oldest bucket is dropped
/// and the test repeats. After a detection the detector starts over with an empty window.
public struct ADWIN: OnlineChangeDetector, Sendable {
    public var delta = 0.002
    public var clock = 32
    public var maxBucketsPerRow = 5
    public var minWindowLength = 5
    public var gracePeriod = 10

    private struct Bucket: Sendable {
        var total: Double
        var variance: Double
    }

    /// rows[r], oldest first, hold buckets of 2^r values; row 0 holds the newest values.
    private var rows: [[Bucket]] = [[]]
    private var width = 0.0
    private var total = 0.0
    private var variance = 0.0
    private var ticks = 0

    public init() {}

    public init(delta: Double) { self.delta = delta }

    /// Values currently in the window.
    public var windowLength: Int { Int(width) }
    public var windowMean: Double { width > 0 ? total / width : 0 }

    public mutating func update(_ x: Double) -> Bool {
        insert(x)
        let detected = detectChange()
        // Like the other detectors (and River's ADWIN), start over after a detection.
        if detected { self = Self.fresh(like: self) }
        return detected
    }

    private static func fresh(like detector: ADWIN) -> ADWIN {
        var fresh = ADWIN(delta: detector.delta)
        fresh.clock = detector.clock
        fresh.maxBucketsPerRow = detector.maxBucketsPerRow
        fresh.minWindowLength = detector.minWindowLength
        fresh.gracePeriod = detector.gracePeriod
        return fresh
    }

    private mutating func insert(_ x: Double) {
        rows[0].append(Bucket(total: x, variance: 0))
        width += 1
        if width > 1 {
            let previousMean = total / (width - 1)
            variance += (width - 1) * (x - previousMean) * (x - previousMean) / width
        }
        total += x
        // Merge the two oldest buckets of any row that overflows into the next row.
        var row = 0
        while row < rows.count, rows[row].count > maxBucketsPerRow {
            if row + 1 == rows.count { rows.append([]) }
            let size = pow(2.0, Double(row))
            let a = rows[row].removeFirst()
            let b = rows[row].removeFirst()
            let meanGap = a.total / size - b.total / size
            rows[row + 1].append(Bucket(total: a.total + b.total, variance: a.variance + b.variance + size * size * meanGap * meanGap / (2 * size)))
            row += 1
        }
    }

    /// Drops the oldest bucket; returns how many values it held.
    private mutating func dropOldest() -> Double {
        let row = rows.count - 1
        let size = pow(2.0, Double(row))
        let bucket = rows[row].removeFirst()
        width -= size
        total -= bucket.total
        let bucketMean = bucket.total / size
        let windowMean = total / width
        variance -= bucket.variance + size * width * (bucketMean - windowMean) * (bucketMean - windowMean) / (size + width)
        if rows[row].isEmpty, rows.count > 1 { rows.removeLast() }
        return size
    }

    private mutating func detectChange() -> Bool {
        ticks += 1
        guard ticks % clock == 0, width > Double(gracePeriod) else { return false }
        var changed = false
        var shrinking = true
        while shrinking {
            shrinking = false
            // W0 grows from the oldest end, W1 is the rest.
            var n0 = 0.0, u0 = 0.0
            var n1 = width, u1 = total
            cuts: for row in stride(from: rows.count - 1, through: 0, by: -1) {
                let size = pow(2.0, Double(row))
                let buckets = rows[row]
                for (index, bucket) in buckets.enumerated() {
                    n0 += size
                    n1 -= size
                    u0 += bucket.total
                    u1 -= bucket.total
                    // The newest bucket cannot be cut off: W1 would be empty.
                    if row == 0 && index == buckets.count - 1 { break cuts }
                    if n0 >= Double(minWindowLength), n1 >= Double(minWindowLength), cutIsSignificant(n0, n1, u0 / n0 - u1 / n1) {
                        changed = true
                        shrinking = width > 0
                        if shrinking { _ = dropOldest() }
                        break cuts
                    }
                }
            }
        }
        return changed
    }

    private func cutIsSignificant(_ n0: Double, _ n1: Double, _ meanGap: Double) -> Bool {
        let deltaPrime = log(2 * log(width) / delta)
        let harmonic = 1 / (n0 - Double(minWindowLength) + 1) + 1 / (n1 - Double(minWindowLength) + 1)
        let epsilon = (2 * harmonic * (variance / width) * deltaPrime).squareRoot() + 2.0 / 3.0 * deltaPrime * harmonic
        return abs(meanGap) > epsilon
    }
}
