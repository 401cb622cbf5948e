import DriftlineDetector
import DriftlineKafka
import DriftlineMetadata
import DriftlinePlanning
import DriftlineServiceRuntime
import DriftlineTargets
import Foundation
import Synchronization

/// One planning run of a table, off the detector loop: reading the statements, the catalog and
/// the forecasts and costing the candidates can take seconds, longer than the loop may go without
/// renewing its leases. It runs on a queue of its own; the loop collects the plan when it is done.
final class PlanningRun: Sendable {
    let table: DetectorConfiguration.Table
    let trigger: PlanningSchedule.Trigger
    let startedAt = ContinuousClock.now
    private let outcome = Mutex<Result<Outcome, PlanningRunError>?>(nil)

    enum Outcome: Sendable {
        case plan(PartitionPlan)
        /// Nothing to plan now, and why (a SQLite table already partitioned by the executor).
        case keep(String)
    }

    /// Nil while the run is still going.
    var result: Result<Outcome, PlanningRunError>? { outcome.withLock { $0 } }

    init(table: DetectorConfiguration.Table, trigger: PlanningSchedule.Trigger) {
        self.table = table
        self.trigger = trigger
    }

    /// Starts the run on `executor`.
    func start(repository: MetadataRepository, client: KafkaClientConfiguration, on executor: BlockingWorkExecutor) {
        let table = table
        Task(executorPreference: executor) {
            let result: Result<Outcome, PlanningRunError>
            do {
                result = .success(.plan(try await Self.plan(table, repository: repository, client: client)))
            } catch let already as PlanningInputs.AlreadyPartitioned {
                result = .success(.keep(already.description))
            } catch {
                result = .failure(PlanningRunError(description: "\(error)"))
            }
            self.outcome.withLock { $0 = result }
        }
    }

    /// The plan for `table` from its statements, its store's statistics and the source's forecasts.
    static func plan(_ table: DetectorConfiguration.Table, repository: MetadataRepository, client: KafkaClientConfiguration) async throws -> PartitionPlan {
        var configuration = PlannerConfiguration()
        configuration.horizonDays = table.horizonDays
        configuration.margin = table.margin
        var sources = PlanningInputs.Sources(metadataSource: table.source)
        switch table.queries {
        case let .log(path): sources.statementsFile = path
        case .pgStatStatements: break
        case let .topic(name, last): sources.statements = try StatementTopic.read(name, last: last, client: client)
        }
        if TargetStores.storeName(of: table.target) == "postgres" {
            sources.postgres = table.target
        } else {
            sources.sqlite = TargetStores.sqlitePath(table.target)
        }
        let input = try await PlanningInputs.read(table: table.name, from: sources, metadata: repository, configuration: configuration)
        return try Planner.plan(input)
    }
}

struct PlanningRunError: Error, CustomStringConvertible {
    var description: String
}
