import ArgumentParser
import DriftlineDrift
import DriftlineSampleData
import DriftlineServiceRuntime
import Foundation

struct ChangesBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "changes",
        abstract: "Change-point accuracy and time per method with its defaults, on generated series with known changes.",
        discussion: """
            Scores every method the way van den Burg & Williams (2020) score methods — F1 with a --margin \
            point margin (the series start counted as a change point) and the covering metric — averaged \
            over the generated suite (level shifts, variance change, trends with and without breaks, \
            seasons, AR(1) noise, outliers, short series; --replicates of each), beside predicting no \
            change at all. CPU time is this process's for the whole suite. --write-series saves the suite \
            (JSON) for scripts/golden/change_points_evaluation.py, which scores ruptures on the same series.
            """
    )

    @Option(help: "Series of each kind.")
    var replicates: Int = 4

    @Option(help: "Seed of the suite.")
    var seed: UInt64 = 2026_12_01

    @Option(help: "F1's margin in points.")
    var margin: Int = 5

    @Option(help: "Write the suite as JSON ([{name, values, changes}]) to this file and stop.")
    var writeSeries: String?

    func validate() throws {
        guard replicates > 0, margin >= 0 else { throw ValidationError("--replicates must be positive, --margin non-negative") }
    }

    func run() throws {
        let suite = ChangePointSeries.suite(seed: seed, replicates: replicates)
        if let writeSeries {
            struct Entry: Encodable { var name: String; var values: [Double]; var changes: [Int] }
            let entries = suite.map { Entry(name: $0.name, values: $0.values.map { ($0 * 1e6).rounded() / 1e6 }, changes: $0.changes) }
            try JSONEncoder().encode(entries).write(to: URL(fileURLWithPath: writeSeries))
            print("wrote \(suite.count) series (\(suite.reduce(0) { $0 + $1.changes.count }) marked change points) to \(writeSeries)")
            return
        }
        print("\(suite.count) series, \(suite.reduce(0) { $0 + $1.changes.count }) marked change points, F1 margin \(margin)")
        print("  method        F1     Cover  found   CPU ms")
        func row(_ name: String, _ detect: ([Double]) -> [Int]) {
            let start = processCPUSeconds()
            var f1 = 0.0, cover = 0.0, found = 0
            for series in suite {
                let points = detect(series.values)
                f1 += ChangePointEvaluation.f1(marked: series.changes, found: points, margin: margin)
                cover += ChangePointEvaluation.covering(marked: series.changes, found: points, length: series.values.count)
                found += points.count
            }
            let milliseconds = (processCPUSeconds() - start) * 1000
            let count = Double(suite.count)
            print("  " + name.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: "%6.3f  %6.3f  %5d  %7.1f", f1 / count, cover / count, found, milliseconds))
        }
        row("no change") { _ in [] }
        for method in ChangePointMethod.allCases { row(method.rawValue) { method.detect($0) } }
    }
}
