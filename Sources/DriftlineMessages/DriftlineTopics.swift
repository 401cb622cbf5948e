/// The topics Driftline writes, with their default names. Every name is configurable.
public struct DriftlineTopics: Sendable, Equatable, Codable {
    /// Internal: partial window profiles between detector instances, keyed by source.
    public var profiles: String
    public var driftEvents: String
    public var alerts: String
    public var repartitionCommands: String
    public var repartitionStatus: String
    /// Malformed input records, sampled, with the reason.
    public var deadLetter: String

    public init(
        profiles: String = "driftline.profiles",
        driftEvents: String = "driftline.drift-events",
        alerts: String = "driftline.alerts",
        repartitionCommands: String = "driftline.repartition-commands",
        repartitionStatus: String = "driftline.repartition-status",
        deadLetter: String = "driftline.dead-letter"
    ) {
        self.profiles = profiles
        self.driftEvents = driftEvents
        self.alerts = alerts
        self.repartitionCommands = repartitionCommands
        self.repartitionStatus = repartitionStatus
        self.deadLetter = deadLetter
    }

    public static let defaults = DriftlineTopics()

    public var all: [String] { [profiles, driftEvents, alerts, repartitionCommands, repartitionStatus, deadLetter] }
}
