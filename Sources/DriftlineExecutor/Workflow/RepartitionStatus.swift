/// Progress of a command (topic `driftline.repartition-status`, keyed by table; schema
/// `schemas/repartition-status.v1.json`).
public struct RepartitionStatus: Codable, Equatable, Sendable {
    public enum State: String, Codable, Sendable, CaseIterable {
        case accepted, rejected, copying, replaying, verifying, swapped, completed, failed, rolledBack = "rolled_back"
    }

    public var type = "repartition_status"
    public var version = 1
    public var commandId: String
    public var table: String
    public var state: State
    public var rowsDone: Int64
    public var rowsTotal: Int64
    /// Rows per second over the copy so far.
    public var rate: Double?
    public var etaSeconds: Double?
    public var message: String?
    public var error: String?
    /// `swapped`: how long the swap held the table's lock (writers waited at most this long).
    public var lockMilliseconds: Double?
    public var emittedAt: String

    public init(commandId: String, table: String, state: State, rowsDone: Int64 = 0, rowsTotal: Int64 = 0, rate: Double? = nil,
                etaSeconds: Double? = nil, message: String? = nil, error: String? = nil, lockMilliseconds: Double? = nil, emittedAt: String) {
        self.commandId = commandId; self.table = table; self.state = state; self.rowsDone = rowsDone; self.rowsTotal = rowsTotal
        self.rate = rate; self.etaSeconds = etaSeconds; self.message = message; self.error = error
        self.lockMilliseconds = lockMilliseconds; self.emittedAt = emittedAt
    }
}
