import Foundation

/// `postgres://user[:password]@host[:port]/database[?sslmode=disable|require]`, the one way every
/// Driftline command names a PostgreSQL server (metadata store, target database).
public struct PostgresURL: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var requireTLS: Bool

    public init(_ url: String) throws(PostgresURL.Invalid) {
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
            throw Invalid("'\(url)' is not postgres://user@host:port/database")
        }
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            throw Invalid("'\(url)' is not postgres://user@host:port/database")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw Invalid("'\(url)' names no database") }
        guard let user = components.user, !user.isEmpty else { throw Invalid("'\(url)' names no user") }
        let sslMode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        guard sslMode == "disable" || sslMode == "require" else {
            throw Invalid("sslmode '\(sslMode)' is not disable or require")
        }
        self.host = host
        port = components.port ?? 5432
        self.user = user
        password = components.password
        self.database = database
        requireTLS = sslMode == "require"
    }

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public var reason: String
        init(_ reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    /// Without the password.
    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)" }
}
