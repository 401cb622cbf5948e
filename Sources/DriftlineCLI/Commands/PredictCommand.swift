import ArgumentParser
import DriftlineForecast
import DriftlineMetadata
import DriftlineService
import Foundation

struct PredictCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict a source's next schema version and its growth from the detector's window history.",
        discussion: """
            Reads the per-window shapes the detector logged for SOURCE (field presence, type shares, records), \
            forecasts them --horizon windows ahead and reports fields expected to appear (presence rising \
            through 50%), vanish (falling through 5%) or change type (a type's share rising through 50%), with \
            when and how confident, plus the records and bytes the source will add. The predicted schema \
            version is stored in the metadata store (kind schema_prediction) for the planner.
            """
    )

    @Option(help: "Metadata store URL.") var store: String = "driftline-metadata.sqlite"
    @Option(help: "Source topic.") var source: String
    @Option(help: "Windows ahead to forecast.") var horizon = 24
    @Option(help: "Output format: json or text.") var format: Format = .text

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, text }

    func validate() throws {
        guard horizon >= 1 else { throw ValidationError("--horizon must be at least 1") }
    }

    func run() async throws {
        let opened = try await MetadataStores.open(store)
        do {
            try await run(MetadataRepository(store: opened))
        } catch {
            await opened.close()
            throw error
        }
        await opened.close()
    }

    private func run(_ repository: MetadataRepository) async throws {
        let result: SourcePrediction
        do {
            result = try await SchemaPredictionRefresh.refresh(repository, source: source, horizon: horizon)
        } catch let error as SchemaPredictionRefresh.NotEnoughHistory {
            throw ValidationError("\(source) has \(error.have) windows of history in \(store); at least \(error.need) are needed (run `driftline detect` longer)")
        }
        let (changes, growth, current) = (result.changes, result.growth, result.currentVersion)
        switch format {
        case .json:
            struct Output: Encodable {
                struct Change: Encodable { var path: String; var change: String; var type: String?; var expected_at: String; var confidence: Double }
                struct Growth: Encodable { var windows: Int; var records: Double; var records_lower_95: Double; var records_upper_95: Double; var bytes: Double }
                var source: String
                var history_windows: Int
                var current_schema_version: Int
                var predicted_schema_version: Int
                var changes: [Change]
                var growth: Growth?
            }
            let formatter = ISO8601DateFormatter()
            let output = Output(
                source: source, history_windows: result.historyWindows, current_schema_version: current, predicted_schema_version: current + 1,
                changes: changes.map { .init(path: $0.path, change: $0.kind.rawValue, type: $0.type,
                                             expected_at: formatter.string(from: Date(timeIntervalSince1970: $0.expectedAt)), confidence: $0.confidence) },
                growth: growth.map { .init(windows: $0.windows, records: $0.records, records_lower_95: $0.recordsLower95, records_upper_95: $0.recordsUpper95, bytes: $0.bytes) })
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
        case .text:
            print("\(source): \(result.historyWindows) windows of history; schema version \(current) → predicted \(current + 1)")
            if changes.isEmpty { print("no field is expected to appear, vanish or change type within \(horizon) windows") }
            for change in changes {
                let what = change.kind == .changeType ? "becomes mostly \(change.type ?? "?")" : change.kind == .appear ? "appears" : "vanishes"
                print(String(format: "  %@ %@ around %@ (confidence %.0f%%)", change.path, what,
                             ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: change.expectedAt)), change.confidence * 100))
            }
            if let growth {
                print(String(format: "growth over the next %d windows: %.0f records (95%%: %.0f–%.0f), about %.1f MB", growth.windows,
                             growth.records, growth.recordsLower95, growth.recordsUpper95, growth.bytes / 1_000_000))
            }
        }
    }
}
