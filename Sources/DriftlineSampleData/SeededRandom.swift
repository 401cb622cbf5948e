#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// splitmix64: fast, deterministic randomness, so generated data and property tests repeat exactly.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// Normal by Box–Muller.
    public mutating func normal(mean: Double = 0, deviation: Double = 1) -> Double {
        let u1 = max(uniform(), .leastNormalMagnitude)
        let u2 = uniform()
        return mean + deviation * (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    /// Pareto with shape 1.2: heavy right tail, infinite variance.
    public mutating func pareto() -> Double { pow(1 - uniform(), -1 / 1.2) }
}
