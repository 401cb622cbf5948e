import ArgumentParser
import DriftlineDrift
import Foundation

struct DetectChangesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect-changes",
        abstract: "Find change points in a numeric series (CSV or JSON array).",
        discussion: """
            FILE is CSV with a header (the column named 'value', else the last numeric column; empty \
            or NaN = missing) or a JSON array of numbers (null = missing); '-' reads stdin. Missing values \
            are skipped; reported indices are 0-based positions in the file's series where a new segment \
            starts (online methods: where they signal). Offline: pelt (exact, default), binseg, bocpd. \
            Online: pagehinkley, cusum, adwin (River's defaults).

            pelt and binseg defaults need no tuning: a change in mean or in a linear trend, whichever \
            model explains the series at the lower penalized cost; costs in units of the long-run noise variance \
            (the residuals' robust variance times (1 + φ) / (1 − φ), φ their lag-1 autocorrelation), \
            the MBIC penalty (3 log n for mean; 4 log n for mean-variance and linear), segments of at \
            least 5 values (n / 8 on short series), isolated outliers set aside. ruptures' exact problem: \
            --model mean --scale differences --penalty P --min-size 2 --keep-outliers.
            """
    )

    @Option(help: "Series file (CSV or JSON array); '-' for stdin.")
    var series: String

    @Option(help: "Method: \(ChangePointMethod.allCases.map(\.rawValue).joined(separator: ", ")).")
    var method: ChangePointMethod = .pelt

    @Option(help: "Penalty per change for pelt and binseg, in units of the noise variance (default: MBIC, 3 log n for mean, 4 log n for mean-variance and linear).")
    var penalty: Double?

    @Option(help: "What a change is for pelt and binseg: auto (mean or linear, whichever explains the series better), mean, mean-variance, or linear (a change of trend).")
    var model: SegmentModel = .auto

    @Option(help: "Noise scale for pelt and binseg: long-run (default; autocorrelation counted) or differences (first differences' MAD, as ruptures on Driftline's scale).")
    var scale: OfflineSettings.Scale = .longRun

    @Option(help: "Shortest segment for pelt and binseg (default 5; n / 8, at least 2, on short series).")
    var minSize: Int?

    @Flag(help: "Keep isolated outliers (by default a value more than 5 noise σ from the median of its four neighbours is replaced by that median first).")
    var keepOutliers = false

    @Flag(help: "Also say why: the penalty, the noise variance and autocorrelation used, the shortest segment.")
    var explain = false

    @Option(help: "Output format: json or text.")
    var format: OutputFormat = .json

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case json, text }

    func validate() throws {
        if let penalty, !(penalty >= 0 && penalty.isFinite) { throw ValidationError("--penalty must be a non-negative number") }
        if let minSize, minSize < 1 { throw ValidationError("--min-size must be at least 1") }
    }

    func run() throws {
        let file = try SeriesFile(contentsOf: series)
        let settings = OfflineSettings(model: model, penalty: penalty, scale: scale, minimumSize: minSize, replacesOutliers: !keepOutliers)
        let changes = method.detect(file.values, settings)
        // What the offline methods weighed, on the present values (the indices above map back to the file).
        let why = [.pelt, .binseg].contains(method) ? OfflineChangePoints.explain(file.values.compactMap { $0 }, settings, method: method) : nil
        switch format {
        case .json:
            struct Explanation: Encodable {
                var penalty: Double
                var noise_variance: Double
                var autocorrelation: Double
                var min_size: Int
                var scale: String
                var model: String
            }
            struct Output: Encodable {
                var change_points: [Int]
                var method: String
                var n: Int
                var explain: Explanation?
            }
            let explanation = explain ? why.map {
                Explanation(penalty: $0.penalty, noise_variance: $0.variance, autocorrelation: $0.autocorrelation, min_size: $0.minimumSize,
                            scale: scale.rawValue, model: $0.model.rawValue)
            } : nil
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(Output(change_points: changes, method: method.rawValue, n: file.values.count, explain: explanation)), as: UTF8.self))
        case .text:
            let missing = file.values.filter { $0 == nil }.count
            print("\(file.values.count) values\(missing > 0 ? " (\(missing) missing)" : "")\(file.column.map { ", column '\($0)'" } ?? ""), method \(method.rawValue)")
            print(changes.isEmpty ? "no change points" : "\(changes.count) change point\(changes.count == 1 ? "" : "s"): " + changes.map(String.init).joined(separator: ", "))
            if let why {
                print(String(format: "penalty %.2f per change, noise variance %.4g (%@, autocorrelation %.2f), model %@, segments of at least %d values",
                             why.penalty, why.variance, scale.rawValue, why.autocorrelation, why.model.rawValue, why.minimumSize))
            }
        }
    }
}

extension ChangePointMethod: ExpressibleByArgument {}
extension SegmentModel: ExpressibleByArgument {}
extension OfflineSettings.Scale: ExpressibleByArgument {}
