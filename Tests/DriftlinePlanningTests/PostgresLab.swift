import DriftlinePlanning
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
        // Deterministic measurements: no parallel workers, no JIT; times in UTC.
        try await lab.execute("SET max_parallel_workers_per_gather = 0; SET jit = off; SET TimeZone = 'UTC'")
        return lab
    }

    func close() async {
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

    /// The skewed, drifting scenario table: time in insertion order over 60 days, a user id with a
    /// few heavy hitters (cubed uniform), a category whose mix drifts (`d` appears in the last fifth).
    func createEvents(schema: String, rows: Int = 300_000, seed: Double = 0.42) async throws {
        try await execute("""
            CREATE SCHEMA IF NOT EXISTS \(schema);
            SELECT setseed(\(seed));
            CREATE TABLE \(schema).events (id bigint, ts timestamptz, user_id int, category text, amount numeric, note text);
            INSERT INTO \(schema).events
              SELECT g, timestamptz '2026-01-01' + (g * interval '60 days' / \(rows)),
                     floor(power(random(), 3) * 50000)::int,
                     CASE WHEN g > \(rows * 4 / 5) AND random() < 0.5 THEN 'd' ELSE (ARRAY['a','a','a','b','b','c'])[1 + floor(random() * 6)::int] END,
                     round((random() * 100)::numeric, 2), md5(g::text)
              FROM generate_series(1, \(rows)) g;
            ANALYZE \(schema).events
            """)
    }

    /// Copies `source` into a new table `schema.events` with `layout`.
    func materialise(_ layout: PartitionLayout, schema: String, from source: String) async throws {
        try await execute("DROP SCHEMA IF EXISTS \(schema) CASCADE; CREATE SCHEMA \(schema)")
        for statement in PartitionDDL.statements(for: layout, schema: source, table: "events", into: (schema, "events")) {
            try await execute(statement)
        }
        try await execute("INSERT INTO \(schema).events SELECT * FROM \(source).events; ANALYZE \(schema).events")
    }

    struct Measurement {
        var buffers: Double
        var partitions: Int
        var planRows: Double?
    }

    /// Runs `sql` under EXPLAIN (ANALYZE, BUFFERS) with `schema` first on the search path: shared
    /// buffers hit + read, and the table's relations really scanned (nodes that ran at least once;
    /// pruned subplans are absent, "never executed" ones have no loops).
    func measure(_ sql: String, schema: String) async throws -> Measurement {
        try await execute("SET search_path = \(schema)")
        let json = try await scalar("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        let plan = try #require(root.first?["Plan"] as? [String: Any])
        var scanned = Set<String>()
        var planRows: Double?
        func walk(_ node: [String: Any]) {
            if let relation = node["Relation Name"] as? String, (node["Actual Loops"] as? Double ?? Double(node["Actual Loops"] as? Int ?? 0)) > 0 {
                scanned.insert(relation)
                if planRows == nil { planRows = node["Plan Rows"] as? Double ?? (node["Plan Rows"] as? Int).map(Double.init) }
            }
            for child in node["Plans"] as? [[String: Any]] ?? [] { walk(child) }
        }
        walk(plan)
        let hit = plan["Shared Hit Blocks"] as? Int ?? 0, read = plan["Shared Read Blocks"] as? Int ?? 0
        return Measurement(buffers: Double(hit + read), partitions: scanned.count, planRows: planRows)
    }
}
