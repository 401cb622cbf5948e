import DriftlineMetadata
import DriftlinePlanning
import Foundation

/// Gathers a table's planning input from where it lives: statements from a file and/or a live
/// PostgreSQL's `pg_stat_statements`, statistics from its catalog and/or the detector's metadata,
/// growth and category forecasts from the metadata store. `driftline plan` and the detector's
/// closed loop both plan through here.
public enum PlanningInputs {
    public struct Sources: Sendable {
        /// A PostgreSQL server log or a SQL file.
        public var statementsFile: String?
        /// The table's live server: its catalog, and `pg_stat_statements` when there is no file.
        public var postgres: String?
        /// The source topic feeding the table, whose statistics and forecasts the metadata store holds.
        public var metadataSource: String?
        public init(statementsFile: String? = nil, postgres: String? = nil, metadataSource: String? = nil) {
            self.statementsFile = statementsFile; self.postgres = postgres; self.metadataSource = metadataSource
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `progress(bytesRead, fileSize)` while the statements file is read.
    public static func read(table: String, from sources: Sources, metadata: MetadataRepository?, configuration: PlannerConfiguration,
                            progress: (Int, Int) -> Void = { _, _ in }) async throws -> PlanningInput {
        var configuration = configuration
        var workload = Workload()
        var notes: [String] = []
        if let path = sources.statementsFile {
            let summary: StatementFile.Summary
            do { summary = try StatementFile.read(path, into: &workload, progress: progress) } catch { throw Failure(description: "\(error)") }
            if summary.ignoredLines > 0 { notes.append("\(summary.ignoredLines) lines of \(path) were neither statements nor log lines and were skipped") }
        }
        var statistics: TableStatistics?
        var statisticsSource = ""
        if let url = sources.postgres {
            do {
                try await PostgresCatalog.withCatalog(url) { catalog in
                    let (found, catalogNotes) = try await catalog.statistics(table)
                    statistics = found
                    notes += catalogNotes
                    statisticsSource = "PostgreSQL catalog of \(catalog.description)"
                    if sources.statementsFile == nil {
                        let (statements, periodDays) = try await catalog.statementStatistics()
                        for statement in statements { workload.add(statement) }
                        if configuration.periodDays == nil { configuration.periodDays = periodDays }
                        notes.append("statements: \(statements.count) entries of pg_stat_statements")
                    }
                }
            } catch let error as TargetError {
                throw Failure(description: "\(error)")
            }
        }
        var input = PlanningInput(statistics: statistics ?? TableStatistics(table: table, rows: 0, pages: 0, totalBytes: 0, columns: []),
                                  workload: workload, configuration: configuration, statisticsSource: statisticsSource, notes: notes)
        if let metadata, let source = sources.metadataSource {
            let forecasts = try await MetadataPlanningInputs.read(metadata, source: source, table: table, catalog: statistics, horizonDays: configuration.horizonDays)
            input.growthRowsPerDay = forecasts.growthRowsPerDay
            input.growthSource = "the metadata store's forecast for \(source)"
            input.categoryForecast = forecasts.categoryForecast
            input.notes += forecasts.notes
            if statistics == nil {
                guard let fromMetadata = forecasts.statistics else {
                    throw Failure(description: "the metadata store has no statistics for \(source) (run `driftline detect` on it first)")
                }
                input.statistics = fromMetadata
                input.statisticsSource = "the detector's per-field statistics for \(source) in the metadata store"
            }
        }
        return input
    }
}
