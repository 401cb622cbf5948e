import ArgumentParser
import DriftlineConfiguration
import DriftlineMetadata
import DriftlinePlanning
import DriftlineTargets
import Foundation

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Plan a table's partitioning from its queries, its statistics and the forecast growth.",
        discussion: """
            Statements come from --queries FILE (a PostgreSQL server log with log_min_duration_statement or \
            log_statement lines, or plain SQL separated by ';'), or without it from pg_stat_statements of --pg. \
            They are parsed by PostgreSQL's own parser (libpg_query), grouped by fingerprint, and each class's \
            restrictions on the table's columns drive partition pruning. Statistics and the current layout come \
            from --pg's catalog (pg_class, pg_stats, pg_partitioned_table), or for a SQLite table (--sqlite FILE) \
            from its schema and a sample of its rows; growth and category forecasts from \
            the metadata store (--metadata with --source, the topic that feeds the table). Candidates (range, \
            hash, list, composite, and keeping the current layout) are costed over --horizon in buffer \
            accesses; a change is recommended only when its saving beats the cost of moving the table by \
            --margin. The JSON form follows schemas/partition-plan.schema.json.
            """
    )

    @Option(help: "The table (name or schema.name).") var table: String
    @Option(help: "Statements: a PostgreSQL server log or a SQL file.") var queries: String?
    @Option(help: "A live PostgreSQL (postgres://user@host:port/db): statistics, layout, and pg_stat_statements without --queries.") var pg: String?
    @Option(help: "A SQLite database file holding the table: its schema and a sample of its rows as statistics.") var sqlite: String?
    @Option(help: "Metadata store URL (growth and category forecasts of --source).") var metadata: String?
    @Option(help: "The source topic that feeds the table (with --metadata).") var source: String?
    @Option(help: "How far ahead to cost (e.g. 30d, 12h).") var horizon: String = "30d"
    @Option(help: "A change must save this fraction more than moving the table costs.") var margin: Double = 0.25
    @Option(help: "Period the statements cover when the input has no times (e.g. 1d).") var period: String?
    @Option(help: "Smallest partition worth creating, in MiB.") var minimumPartitionMib: Double = 1
    @Option(help: "Most partitions a layout may have.") var maximumPartitions: Int = 1024
    @Option(help: "Output format: text or json.") var format: Format = .text

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    func validate() throws {
        guard queries != nil || pg != nil else { throw ValidationError("give --queries FILE, or --pg URL to read pg_stat_statements") }
        guard pg == nil || sqlite == nil else { throw ValidationError("--pg and --sqlite name the table's store: give one") }
        guard sqlite == nil || queries != nil else { throw ValidationError("a SQLite table's statements come from --queries FILE (SQLite has no pg_stat_statements)") }
        guard pg != nil || sqlite != nil || (metadata != nil && source != nil) else {
            throw ValidationError("statistics come from --pg (the catalog), --sqlite (a sample of the table) or --metadata with --source (the detector's statistics); give at least one")
        }
        if (metadata == nil) != (source == nil) { throw ValidationError("--metadata and --source go together") }
        guard margin >= 0 else { throw ValidationError("--margin must be at least 0") }
        guard maximumPartitions >= 2 else { throw ValidationError("--maximum-partitions must be at least 2") }
        _ = try days(horizon, option: "--horizon")
        if let period { _ = try days(period, option: "--period") }
    }

    func days(_ text: String, option: String) throws -> Double {
        guard let milliseconds = DurationText.milliseconds(text) else { throw ValidationError("\(option) '\(text)' is not a duration like 30d, 12h, 90m") }
        let seconds = Double(milliseconds) / 1000
        guard seconds > 0 else { throw ValidationError("\(option) must be longer than 0") }
        return seconds / 86_400
    }

    func run() async throws {
        var configuration = PlannerConfiguration()
        configuration.horizonDays = try days(horizon, option: "--horizon")
        configuration.margin = margin
        configuration.maximumPartitions = maximumPartitions
        configuration.minimumPartitionBytes = minimumPartitionMib * 1_048_576
        if let period { configuration.periodDays = try days(period, option: "--period") }

        // Progress (MiB read, time left) for logs big enough to take a while.
        var reporter: ProgressReporter?
        let input: PlanningInput
        let sources = PlanningInputs.Sources(statementsFile: queries, postgres: pg, sqlite: sqlite.map(TargetStores.sqlitePath), metadataSource: source)
        func gather(_ repository: MetadataRepository?) async throws -> PlanningInput {
            try await PlanningInputs.read(table: table, from: sources, metadata: repository, configuration: configuration) { done, size in
                if reporter == nil, size > 16 << 20 { reporter = ProgressReporter(total: size >> 20, label: "reading \(queries ?? ""), MiB") }
                reporter?.update(done >> 20)
            }
        }
        do {
            if let metadata {
                input = try await MetadataStores.withStore(metadata) { store in try await gather(MetadataRepository(store: store)) }
            } else {
                input = try await gather(nil)
            }
        } catch let error as PlanningInputs.Failure {
            throw ValidationError(error.description)
        }
        reporter?.finish()
        let plan: PartitionPlan
        do { plan = try Planner.plan(input) } catch { throw ValidationError("\(error)") }
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(plan), as: UTF8.self))
        case .text:
            print(PlanText.render(plan))
        }
    }
}
