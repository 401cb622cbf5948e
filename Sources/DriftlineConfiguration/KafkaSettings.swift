/// The `kafka:` section every Driftline service reads: brokers, client and group ids, security and
/// any librdkafka property.
public struct KafkaSettings: Equatable, Sendable {
    public var brokers: [String] = ["127.0.0.1:9092"]
    public var clientID: String
    public var groupID: String
    public var security: [String: String] = [:]
    public var properties: [String: String] = [:]

    public init(clientID: String, groupID: String) {
        self.clientID = clientID
        self.groupID = groupID
    }

    /// Reads the section into `self` (keys absent keep their defaults).
    public mutating func read(_ section: ConfigReader) throws(ConfigurationError) {
        try section.check(allowed: ["brokers", "clientId", "groupId", "security", "properties"])
        if let brokers = try section.strings("brokers") { self.brokers = brokers }
        if let value = try section.string("clientId") { clientID = value }
        if let value = try section.string("groupId") { groupID = value }
        if let value = try section.stringMap("security") { security = value }
        if let value = try section.stringMap("properties") { properties = value }
        guard !brokers.isEmpty else { throw ConfigurationError(key: section.path("brokers"), reason: "at least one broker is required") }
        for broker in brokers where HostPort(broker)?.isConnectable != true {
            throw ConfigurationError(key: section.path("brokers"), reason: "'\(broker)' is not host:port with a port in 1...65535")
        }
    }
}
