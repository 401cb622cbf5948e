import DriftlinePlanning
import Foundation

/// A command to re-partition one table (topic `driftline.repartition-commands`, keyed by table;
/// schema `schemas/repartition-command.v1.json`). It carries the planner's plan: its strategy and
/// the DDL that creates the new layout.
public struct RepartitionCommand: Codable, Equatable, Sendable {
    public var type = "repartition_command"
    public var version = 1
    /// Unique per command; an executor that sees an id again skips it.
    public var id: String
    /// `schema.table`.
    public var table: String
    /// `postgres` or `sqlite`: which target store driver runs it.
    public var store: String
    /// The metadata version of the table's partitioning history the plan was made against; when the
    /// history has moved on, the command is stale and rejected.
    public var expectedVersion: Int64?
    public var plan: PartitionPlan
    public var dryRun: Bool
    public var createdAt: String

    public init(id: String, table: String, store: String, expectedVersion: Int64?, plan: PartitionPlan, dryRun: Bool = false, createdAt: String) {
        self.id = id; self.table = table; self.store = store; self.expectedVersion = expectedVersion
        self.plan = plan; self.dryRun = dryRun; self.createdAt = createdAt
    }

    /// Identifies the job: the same table, layout and DDL give the same fingerprint, so a resumed run
    /// can prove it continues the same work (a different command for the table cannot reuse its checkpoint).
    public var fingerprint: String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in (table + "\n" + plan.strategy.summary + "\n" + plan.ddl.joined(separator: "\n")).utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return String(hash, radix: 16)
    }

    /// `schema` and `table` apart (`public` when the command names none).
    public var qualifiedName: (schema: String, table: String) {
        let parts = table.split(separator: ".", maxSplits: 1).map(String.init)
        return parts.count == 2 ? (parts[0], parts[1]) : ("public", parts[0])
    }
}
