import DriftlineMetadata
import DriftlinePlanning
import Foundation

/// Gathers a table's planning input from where it lives: statements from a file, a live
/// PostgreSQL's `pg_stat_statements` or already gathered (a topic of statements); statistics from
/// its PostgreSQL catalog, a sample of its SQLite file, or the detector's metadata;
/// growth and category forecasts from the metadata store. `driftline plan` and the detector's
/// closed loop both plan through here.
public enum PlanningInputs {
    public struct Sources: Sendable {
        /// A PostgreSQL server log or a SQL file.
        public var statementsFile: String?
        /// The table's live server: its catalog, and `pg_stat_statements` when there is no file.
        public var postgres: String?
        /// The table's SQLite file: statistics from a sample of its rows (it has no statement log).
        public var sqlite: String?
        /// Statements gathered elsewhere (a topic of statements), with a note saying from where.
        public var statements: (workload: Workload, note: String)?
        /// The source topic feeding the table, whose statistics and forecasts the metadata store holds.
        public var metadataSource: String?
        public init(statementsFile: String? = nil, postgres: String? = nil, sqlite: String? = nil,
                    statements: (workload: Workload, note: String)? = nil, metadataSource: String? = nil) {
            self.statementsFile = statementsFile; self.postgres = postgres; self.sqlite = sqlite
            self.statements = statements; self.metadataSource = metadataSource
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The SQLite table is already a partitioned view: nothing to plan until it is rolled back.
    public struct AlreadyPartitioned: Error, CustomStringConvertible {
        public var description: String
    }

    /// `progress(bytesRead, fileSize)` while the statements file is read.
    public static func read(table: String, from sources: Sources, metadata: MetadataRepository?, configuration: PlannerConfiguration,
                            progress: (Int, Int) -> Void = { _, _ in }) async throws -> PlanningInput {
        var configuration = configuration
        var workload = sources.statements?.workload ?? Workload()
        var notes = sources.statements.map { [$0.note] } ?? []
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
                    if sources.statementsFile == nil && sources.statements == nil {
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
        if let path = sources.sqlite {
            switch try await Self.sqliteStatistics(path: path, table: table) {
            case let .table(found, catalogNotes):
                statistics = found
                notes += catalogNotes
                statisticsSource = "a sample of \(found.table) in the SQLite file \(path)"
            case let .partitionedByDriftline(reason):
                throw AlreadyPartitioned(description: reason)
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

    private static func sqliteStatistics(path: String, table: String) async throws(Failure) -> SQLiteCatalog.Found {
        do { return try await SQLiteCatalog.statistics(path: path, table: table) } catch { throw Failure(description: "\(error)") }
    }
}
