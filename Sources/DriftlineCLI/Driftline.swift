import ArgumentParser

@main
struct Driftline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "driftline",
        abstract: "Watch Kafka topics for schema drift, predict it, and re-partition the tables they feed.",
        subcommands: [DetectCommand.self, DevCommand.self, DemoCommand.self, ProfileCommand.self, DetectChangesCommand.self, ForecastCommand.self, PredictCommand.self, PlanCommand.self, ExecuteCommand.self, RollbackCommand.self, StatusCommand.self, ReportCommand.self, MetadataCommand.self, BenchCommand.self]
    )
}
