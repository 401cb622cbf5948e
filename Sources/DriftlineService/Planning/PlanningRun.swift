import DriftlineDetector
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
    private let outcome = Mutex<Result<PartitionPlan, PlanningRunError>?>(nil)

    /// Nil while the run is still going.
    var result: Result<PartitionPlan, PlanningRunError>? { outcome.withLock { $0 } }

    init(table: DetectorConfiguration.Table, trigger: PlanningSchedule.Trigger) {
        self.table = table
        self.trigger = trigger
    }

    /// Starts the run on `executor`.
    func start(repository: MetadataRepository, on executor: BlockingWorkExecutor) {
        let table = table
        Task(executorPreference: executor) {
            let result: Result<PartitionPlan, PlanningRunError>
            do {
                result = .success(try await Self.plan(table, repository: repository))
            } catch {
                result = .failure(PlanningRunError(description: "\(error)"))
            }
            self.outcome.withLock { $0 = result }
        }
    }

    /// The plan for `table` from its statements, its server's catalog and the source's forecasts.
    static func plan(_ table: DetectorConfiguration.Table, repository: MetadataRepository) async throws -> PartitionPlan {
        var configuration = PlannerConfiguration()
        configuration.horizonDays = table.horizonDays
        configuration.margin = table.margin
        var statementsFile: String?
        if case let .log(path) = table.queries { statementsFile = path }
        let input = try await PlanningInputs.read(
            table: table.name, from: PlanningInputs.Sources(statementsFile: statementsFile, postgres: table.target, metadataSource: table.source),
            metadata: repository, configuration: configuration)
        return try Planner.plan(input)
    }
}

struct PlanningRunError: Error, CustomStringConvertible {
    var description: String
}
