import Foundation

/// Standard normal draws from a seeded generator (SplitMix64 + Box–Muller): simulated intervals
/// are the same on every run.
struct GaussianRandom {
    private var state: UInt64
    private var spare: Double?

    init(seed: UInt64) { state = seed }

    /// Uniform on (0, 1), never 0 or 1 exactly.
    mutating func uniform() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return (Double(z >> 11) + 0.5) / Double(1 << 53)
    }

    mutating func next() -> Double {
        if let spare {
            self.spare = nil
            return spare
        }
        let u1 = uniform(), u2 = uniform()
        let radius = (-2 * log(u1)).squareRoot()
        spare = radius * sin(2 * .pi * u2)
        return radius * cos(2 * .pi * u2)
    }

    /// Laplace (double exponential) with location 0 and scale `scale`, by inversion.
    mutating func laplace(scale: Double) -> Double {
        let u = uniform() - 0.5
        return -scale * (u < 0 ? -1.0 : 1.0) * log(1 - 2 * abs(u))
    }

    /// Poisson with mean `mean`: Knuth's product of uniforms for small means, a rounded normal
    /// approximation beyond (counts of hundreds, where its error is far below the simulation's).
    mutating func poisson(mean: Double) -> Int {
        guard mean > 0 else { return 0 }
        if mean > 60 { return max(0, Int((mean + mean.squareRoot() * next()).rounded())) }
        let limit = exp(-mean)
        var count = 0, product = uniform()
        while product > limit { count += 1; product *= uniform() }
        return count
    }
}
