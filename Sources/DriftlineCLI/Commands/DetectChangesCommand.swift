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
            """
    )

    @Option(help: "Series file (CSV or JSON array); '-' for stdin.")
    var series: String

    @Option(help: "Method: \(ChangePointMethod.allCases.map(\.rawValue).joined(separator: ", ")).")
    var method: ChangePointMethod = .pelt

    @Option(help: "Penalty per change for pelt and binseg (default: BIC, 2 log n for mean, 3 log n for mean-variance).")
    var penalty: Double?

    @Option(help: "What a change is for pelt and binseg: mean, or mean-variance.")
    var model: SegmentModel = .mean

    @Option(help: "Output format: json or text.")
    var format: OutputFormat = .json

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case json, text }

    func validate() throws {
        if let penalty, !(penalty >= 0 && penalty.isFinite) { throw ValidationError("--penalty must be a non-negative number") }
    }

    func run() throws {
        let file = try SeriesFile(contentsOf: series)
        let changes = method.detect(file.values, model: model, penalty: penalty)
        switch format {
        case .json:
            struct Output: Encodable {
                var change_points: [Int]
                var method: String
                var n: Int
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(Output(change_points: changes, method: method.rawValue, n: file.values.count)), as: UTF8.self))
        case .text:
            let missing = file.values.filter { $0 == nil }.count
            print("\(file.values.count) values\(missing > 0 ? " (\(missing) missing)" : "")\(file.column.map { ", column '\($0)'" } ?? ""), method \(method.rawValue)")
            print(changes.isEmpty ? "no change points" : "change points: " + changes.map(String.init).joined(separator: ", "))
        }
    }
}

extension ChangePointMethod: ExpressibleByArgument {}
extension SegmentModel: ExpressibleByArgument {}
