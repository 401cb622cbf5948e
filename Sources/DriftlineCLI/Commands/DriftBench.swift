import ArgumentParser
import DriftlineDrift
import DriftlineProfiling
import DriftlineSampleData
import Foundation

struct DriftBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "Time to compare and score one window of many fields against a reference (release build).",
        discussion: """
            Profiles a reference and a current window of --records records with --fields numeric and \
            categorical fields (a third of them drifted), then times comparing the two profiles and \
            scoring the result, best of --repeats. Profiling is not part of the measured time.
            """
    )

    @Option(help: "Fields per record.")
    var fields: Int = 100

    @Option(help: "Records per window.")
    var records: Int = 10_000

    @Option(help: "Repetitions; the best is reported.")
    var repeats: Int = 5

    func validate() throws {
        guard fields > 0, records > 1, repeats > 0 else { throw ValidationError("counts must be positive") }
    }

    func run() throws {
        var configuration = ProfileConfiguration()
        configuration.maxFields = max(256, fields * 2)
        func window(drifted: Bool, seed: UInt64) -> WindowProfile {
            var random = SeededRandom(seed: seed)
            let profile = WindowProfile(configuration: configuration)
            let scanner = JSONScanner(options: configuration.scannerOptions)
            for _ in 0..<records {
                var parts: [String] = []
                for field in 0..<fields {
                    let shift = drifted && field % 3 == 0 ? 1.0 : 0.0
                    if field % 2 == 0 {
                        parts.append(#""n\#(field)": \#(random.normal(mean: Double(field) + shift, deviation: 1))"#)
                    } else {
                        let u = random.uniform() + shift * 0.2
                        parts.append(#""c\#(field)": "v\#(Int(min(u, 0.999) * 12))""#)
                    }
                }
                var bytes = Array(("{" + parts.joined(separator: ",") + "}").utf8)
                bytes.withUnsafeMutableBytes { _ = profile.add(UnsafeRawBufferPointer($0), scanner: scanner) }
            }
            return profile
        }
        let reference = window(drifted: false, seed: 1)
        let current = window(drifted: true, seed: 2)
        var best = Double.infinity
        var comparisonBest = Double.infinity
        var drifting = 0
        for _ in 0..<repeats {
            var scorer = DriftScorer()
            let start = DispatchTime.now()
            let comparison = DriftComparison(reference: reference, current: current)
            let compared = seconds(since: start)
            let score = scorer.score(comparison)
            best = min(best, seconds(since: start))
            comparisonBest = min(comparisonBest, compared)
            drifting = score.fields.filter { $0.score >= 0.5 }.count
        }
        print("\(fields) fields, \(records) records per window; \(drifting) fields scored ≥ 0.5 (\(fields / 3 + (fields % 3 > 0 ? 1 : 0)) drifted)")
        print(String(format: "compare + score one window: %.2f ms (compare %.2f ms), best of %d", best * 1000, comparisonBest * 1000, repeats))
    }
}
