/// A detector that reads a series one value at a time and says when it has seen a change.
public protocol OnlineChangeDetector {
    /// Adds the next value; true when a change is detected at this value. After a detection the
    /// detector starts over on the values that follow.
    mutating func update(_ x: Double) -> Bool
}

/// Page–Hinkley test (Page 1954), two-sided, with a fading sum as in River's `PageHinkley`.
///
/// Tracks the running mean x̄ and the cumulative deviations m⁺ = Σ α·(x − x̄ − δ) and
/// m⁻ = Σ α·(x − x̄ + δ); signals when m⁺ rises more than λ above its minimum (an increase) or m⁻
/// falls more than λ below its maximum (a decrease), after `minInstances` values.
public struct PageHinkley: OnlineChangeDetector, Sendable, Codable, Equatable {
    public var minInstances = 30
    /// Magnitude of change tolerated without accumulating evidence.
    public var delta = 0.005
    /// λ: evidence needed to signal.
    public var threshold = 50.0
    /// Fading factor applied to the sums.
    public var alpha = 1 - 0.0001

    private var count = 0
    private var mean = 0.0
    private var sumIncrease = 0.0
    private var sumDecrease = 0.0
    private var minIncrease = Double.infinity
    private var maxDecrease = -Double.infinity

    public init() {}

    public init(minInstances: Int, delta: Double, threshold: Double, alpha: Double) {
        self.minInstances = minInstances
        self.delta = delta
        self.threshold = threshold
        self.alpha = alpha
    }

    public mutating func update(_ x: Double) -> Bool {
        count += 1
        mean += (x - mean) / Double(count)
        let deviation = x - mean
        sumIncrease = alpha * sumIncrease + deviation - delta
        sumDecrease = alpha * sumDecrease + deviation + delta
        minIncrease = min(minIncrease, sumIncrease)
        maxDecrease = max(maxDecrease, sumDecrease)
        guard count >= minInstances else { return false }
        let detected = sumIncrease - minIncrease > threshold || maxDecrease - sumDecrease > threshold
        if detected { self = PageHinkley(minInstances: minInstances, delta: delta, threshold: threshold, alpha: alpha) }
        return detected
    }
}

/// Two-sided tabular CUSUM (Page 1954) against a reference frozen after a warm-up, with slack k
/// and decision interval h in units of the warm-up's standard deviation (classical k = 0.5, h = 5).
public struct CUSUM: OnlineChangeDetector, Sendable {
    public var minInstances = 30
    public var slack = 0.5
    public var threshold = 5.0

    private var warmUp = RunningStats()
    private var reference: (mean: Double, deviation: Double)?
    private var sumIncrease = 0.0
    private var sumDecrease = 0.0

    public init() {}

    public init(minInstances: Int, slack: Double, threshold: Double) {
        self.minInstances = minInstances
        self.slack = slack
        self.threshold = threshold
    }

    public mutating func update(_ x: Double) -> Bool {
        warmUp.add(x)
        guard warmUp.count >= minInstances else { return false }
        if reference == nil { reference = (warmUp.mean, warmUp.populationVariance.squareRoot()) }
        let (mean, deviation) = reference!
        let deviationFromReference = x - mean
        sumIncrease = max(0, sumIncrease + deviationFromReference - slack * deviation)
        sumDecrease = max(0, sumDecrease - deviationFromReference - slack * deviation)
        let limit = threshold * deviation
        let detected = sumIncrease > limit || sumDecrease > limit
        if detected { self = CUSUM(minInstances: minInstances, slack: slack, threshold: threshold) }
        return detected
    }
}

/// Welford's running mean and variance (population), for detectors' warm-up windows.
struct RunningStats: Sendable {
    private(set) var count = 0
    private(set) var mean = 0.0
    private var m2 = 0.0

    mutating func add(_ x: Double) {
        count += 1
        let delta = x - mean
        mean += delta / Double(count)
        m2 += delta * (x - mean)
    }

    var populationVariance: Double { count > 0 ? max(0, m2 / Double(count)) : 0 }
}
