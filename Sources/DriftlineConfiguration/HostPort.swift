/// A `host:port` address: brokers, HTTP listen addresses, servers. The one parser for them all.
public struct HostPort: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port` with a non-empty host and a port in 0...65535 (`[::1]:9092` for IPv6). Port 0
    /// is a listen address's "any free port"; what connects somewhere checks `isConnectable`.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains(" ") else { return nil }
        self.host = host
        self.port = Int(port)
    }

    /// A port to connect to (not 0).
    public var isConnectable: Bool { port > 0 }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
