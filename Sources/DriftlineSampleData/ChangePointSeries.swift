#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Series with known change points, for judging change-point defaults the way van den Burg &
/// Williams (2020) do: the kinds real series have — level shifts, variance changes, trends with and
/// without breaks, seasonality, AR(1) noise, outliers, short series — each with the changes a person
/// would mark (a steady trend, a season or an outlier is no change).
public struct ChangePointSeries: Sendable {
    public var name: String
    public var values: [Double]
    /// Indices where a new segment starts (never 0).
    public var changes: [Int]

    /// `replicates` series of each kind, all from `seed`.
    public static func suite(seed: UInt64 = 2026_12_01, replicates: Int = 4) -> [ChangePointSeries] {
        var random = SeededRandom(seed: seed)
        var all: [ChangePointSeries] = []
        for replicate in 0..<replicates {
            func noise(_ n: Int, _ deviation: Double = 1) -> [Double] { (0..<n).map { _ in random.normal(deviation: deviation) } }
            func ar1(_ n: Int, phi: Double) -> [Double] {
                // Marginal deviation 1 whatever φ.
                var previous = random.normal()
                return (0..<n).map { _ in
                    previous = phi * previous + (1 - phi * phi).squareRoot() * random.normal()
                    return previous
                }
            }
            func between(_ low: Double, _ high: Double) -> Double { low + (high - low) * random.uniform() }
            func sign() -> Double { random.uniform() < 0.5 ? -1 : 1 }
            let tag = " #\(replicate + 1)"

            // Level shifts in white noise: one, two, three, of 2 to 4 σ.
            for shifts in 1...3 {
                let n = 300
                let changes = (1...shifts).map { n * $0 / (shifts + 1) + Int(between(-20, 20)) }
                var level = 0.0
                var values = noise(n)
                var next = 0
                for index in values.indices {
                    if next < changes.count, index == changes[next] { level += sign() * between(2, 4); next += 1 }
                    values[index] += level
                }
                all.append(ChangePointSeries(name: "level shifts (\(shifts))" + tag, values: values, changes: changes))
            }
            // Nothing at all, in white noise and with a few 6σ outliers.
            all.append(ChangePointSeries(name: "stable" + tag, values: noise(250).map { 10 + 2 * $0 }, changes: []))
            var outliers = noise(250)
            for index in [40, 120, 200] { outliers[index] += sign() * 6 }
            all.append(ChangePointSeries(name: "outliers" + tag, values: outliers, changes: []))
            // The variance triples at 200.
            all.append(ChangePointSeries(name: "variance change" + tag, values: noise(200) + noise(200, 3), changes: [200]))
            // A steady trend (no change), a trend with a jump, a trend whose slope turns.
            let slope = between(0.01, 0.03)
            all.append(ChangePointSeries(name: "trend" + tag, values: noise(300).enumerated().map { $1 + slope * Double($0) }, changes: []))
            all.append(ChangePointSeries(name: "trend with a jump" + tag,
                                         values: noise(300).enumerated().map { $1 + slope * Double($0) + ($0 >= 160 ? 3.5 : 0) }, changes: [160]))
            all.append(ChangePointSeries(name: "trend turning" + tag,
                                         values: noise(300).enumerated().map { $1 + 0.05 * Double(min($0, 150)) - 0.05 * Double(max(0, $0 - 150)) }, changes: [150]))
            // A season of 12 (amplitude 2), without and with a level shift of 4.
            all.append(ChangePointSeries(name: "seasonal" + tag, values: noise(240).enumerated().map { $1 + 2 * sin(2 * .pi * Double($0) / 12) }, changes: []))
            all.append(ChangePointSeries(name: "seasonal with a shift" + tag,
                                         values: noise(240).enumerated().map { $1 + 2 * sin(2 * .pi * Double($0) / 12) + ($0 >= 130 ? 4 : 0) }, changes: [130]))
            // AR(1) noise (φ = 0.6, 0.8): alone, and with a shift of 3 marginal σ.
            for phi in [0.6, 0.8] {
                all.append(ChangePointSeries(name: "AR(1) φ=\(phi)" + tag, values: ar1(300, phi: phi), changes: []))
                all.append(ChangePointSeries(name: "AR(1) φ=\(phi) with a shift" + tag,
                                             values: ar1(300, phi: phi).enumerated().map { $1 + ($0 >= 170 ? 3 : 0) }, changes: [170]))
            }
            // Short series: 15 to 60 values, half with one shift of 3 σ.
            for n in [15, 30, 60] {
                all.append(ChangePointSeries(name: "short \(n)" + tag, values: noise(n), changes: []))
                let at = n / 2 + Int(between(-2, 2))
                all.append(ChangePointSeries(name: "short \(n) with a shift" + tag, values: noise(n).enumerated().map { $1 + ($0 >= at ? 3 : 0) }, changes: [at]))
            }
        }
        return all
    }
}
