/// Count, mean, variance, min and max of a stream in one pass (Welford), mergeable exactly in count,
/// min and max and to rounding in mean and variance (Chan et al.'s parallel update).
public struct RunningMoments: Equatable, Sendable {
    public private(set) var count: Int64 = 0
    public private(set) var mean: Double = 0
    /// Sum of squared deviations from the mean.
    public private(set) var m2: Double = 0
    public private(set) var min: Double = .infinity
    public private(set) var max: Double = -.infinity

    public init() {}

    init(count: Int64, mean: Double, m2: Double, min: Double, max: Double) {
        self.count = count
        self.mean = mean
        self.m2 = m2
        self.min = min
        self.max = max
    }

    @inline(__always)
    public mutating func add(_ x: Double) {
        count &+= 1
        let delta = x - mean
        mean += delta / Double(count)
        m2 += delta * (x - mean)
        if x < min { min = x }
        if x > max { max = x }
    }

    public mutating func merge(_ other: RunningMoments) {
        guard other.count > 0 else { return }
        guard count > 0 else { self = other; return }
        let total = count + other.count
        let delta = other.mean - mean
        let weight = Double(other.count) / Double(total)
        mean += delta * weight
        m2 += other.m2 + delta * delta * Double(count) * weight
        count = total
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
    }

    /// Sample variance; `nil` with fewer than two values.
    public var variance: Double? { count > 1 ? Swift.max(0, m2 / Double(count - 1)) : nil }
    public var standardDeviation: Double? { variance.map { $0.squareRoot() } }
}
