import DriftlinePlanning
import DriftlineSampleData
import DriftlineTargets
import Foundation
import Logging
import PostgresNIO
import Testing

/// A database of its own on the test server (ops/test.sh starts it): scenario tables, candidate
/// layouts materialised in schemas, and `EXPLAIN (ANALYZE, BUFFERS)` measurements.
final class PostgresLab {
    static let baseURL = ProcessInfo.processInfo.environment["DRIFTLINE_TEST_POSTGRES_URL"]
    static var available: Bool { baseURL != nil || ProcessInfo.processInfo.environment["CI"] == "true" }

    let connection: PostgresConnection
    let admin: PostgresConnection
    let database: String
    let url: String
    /// A second connection through the library's trial code (materialise, measure).
    private(set) var catalog: PostgresCatalog!
    private static let logger: Logger = {
        var logger = Logger(label: "planner-tests")
        logger.logLevel = .error
        return logger
    }()

    private init(connection: PostgresConnection, admin: PostgresConnection, database: String, url: String) {
        self.connection = connection; self.admin = admin; self.database = database; self.url = url
    }

    static func open(_ name: String) async throws -> PostgresLab {
        let base = try #require(baseURL, "DRIFTLINE_TEST_POSTGRES_URL is not set: ops/test.sh starts PostgreSQL for these tests")
        let components = try #require(URLComponents(string: base))
        let host = try #require(components.host)
        let user = try #require(components.user)
        let database = "planner_\(name)_\(getpid())"
        func configuration(_ database: String) -> PostgresConnection.Configuration {
            PostgresConnection.Configuration(host: host, port: components.port ?? 5432, username: user, password: components.password, database: database, tls: .disable)
        }
        let admin = try await PostgresConnection.connect(configuration: configuration(String(components.path.dropFirst())), id: 1, logger: logger)
        _ = try await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(database)"), logger: logger).collect()
        _ = try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(database)"), logger: logger).collect()
        let connection = try await PostgresConnection.connect(configuration: configuration(database), id: 2, logger: logger)
        var url = components
        url.path = "/" + database
        let lab = PostgresLab(connection: connection, admin: admin, database: database, url: url.string!)
        lab.catalog = try await PostgresCatalog.open(url.string!)
        // Deterministic measurements: no parallel workers, no JIT.
        try await lab.catalog.execute("SET max_parallel_workers_per_gather = 0")
        try await lab.catalog.execute("SET jit = off")
        return lab
    }

    func close() async {
        await catalog?.close()
        try? await connection.close()  // the database is dropped next; nothing to keep
        _ = try? await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(database) WITH (FORCE)"), logger: Self.logger).collect()  // best effort: the server is thrown away after the run
        try? await admin.close()  // as above
    }

    func execute(_ sql: String) async throws {
        for statement in sql.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }) where !statement.isEmpty {
            _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Self.logger).collect()
        }
    }

    func scalar(_ sql: String) async throws -> String {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger).collect()
        return try rows[0].decode(String.self)
    }

    /// The skewed, drifting scenario table (`PartitioningScenario`).
    func createEvents(schema: String, rows: Int = 300_000, seed: Double = 0.42) async throws {
        for statement in PartitioningScenario.createTable(schema: schema, rows: rows, seed: seed) {
            _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Self.logger).collect()
        }
    }

}
