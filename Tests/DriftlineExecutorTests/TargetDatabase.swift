import DriftlineExecutor
import DriftlinePlanning
import Foundation
import Logging
import PostgresNIO
import DriftlineTestSupport
import Testing

/// A database of its own on the test server, with the `events` table, its `mirror` (what the
/// writer's own log says the table must hold: every writer statement changes both atomically), and
/// a seeded writer that inserts, updates and deletes until told to stop.
final class TargetDatabase: @unchecked Sendable {
    static let baseURL = ProcessInfo.processInfo.environment["DRIFTLINE_TEST_POSTGRES_URL"]
    static var available: Bool { baseURL != nil || ProcessInfo.processInfo.environment["CI"] == "true" }
    static let logger: Logger = {
        var logger = Logger(label: "executor-tests")
        logger.logLevel = .error
        return logger
    }()

    let url: String
    let name: String
    private let admin: PostgresConnection
    let connection: PostgresConnection
    private let configuration: (String) -> PostgresConnection.Configuration

    private init(url: String, name: String, admin: PostgresConnection, connection: PostgresConnection, configuration: @escaping (String) -> PostgresConnection.Configuration) {
        self.url = url; self.name = name; self.admin = admin; self.connection = connection; self.configuration = configuration
    }

    static func open(_ label: String) async throws -> TargetDatabase {
        let base = try #require(baseURL, "DRIFTLINE_TEST_POSTGRES_URL is not set: ops/test.sh starts PostgreSQL for these tests")
        let components = try #require(URLComponents(string: base))
        let host = try #require(components.host), user = try #require(components.user)
        let name = "executor_\(label)_\(getpid())"
        let configuration: (String) -> PostgresConnection.Configuration = { database in
            PostgresConnection.Configuration(host: host, port: components.port ?? 5432, username: user, password: components.password, database: database, tls: .disable)
        }
        let admin = try await PostgresConnection.connect(configuration: configuration(String(components.path.dropFirst())), id: 1, logger: logger)
        _ = try await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger).collect()
        _ = try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger).collect()
        let connection = try await PostgresConnection.connect(configuration: configuration(name), id: 2, logger: logger)
        var url = components
        url.path = "/" + name
        return TargetDatabase(url: url.string!, name: name, admin: admin, connection: connection, configuration: configuration)
    }

    func close() async {
        try? await connection.close()  // the database is dropped next
        _ = try? await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: Self.logger).collect()  // best effort: the server is thrown away after the run
        try? await admin.close()  // as above
    }

    struct Failure: Error, CustomStringConvertible {
        var sql: String
        var reason: String
        var description: String { "\(reason) in: \(sql.prefix(200))" }
    }

    /// Another session on this database (a writer of the test's own).
    func connect(id: Int) async throws -> PostgresConnection {
        try await PostgresConnection.connect(configuration: configuration(name), id: id, logger: Self.logger)
    }

    func execute(_ sql: String) async throws {
        do {
            _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger).collect()
        } catch let error as PSQLError {
            throw Failure(sql: sql, reason: error.serverInfo?[.message] ?? String(reflecting: error))
        }
    }

    func scalar<T: PostgresDecodable>(_ sql: String, as type: T.Type = Int64.self) async throws -> T {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger).collect()
        return try rows[0].decode(T.self)
    }

    /// `events` with `layout` (none: a plain table), `rows` rows, primary key `id` from a sequence,
    /// and `mirror`, a plain copy.
    func createEvents(rows: Int, layout: PartitionLayout = .none) async throws {
        let columns = "id bigserial PRIMARY KEY, ts timestamptz NOT NULL, user_id int NOT NULL, category text, amount numeric, note text"
        if layout.levels.isEmpty {
            try await execute("CREATE TABLE public.events (\(columns))")
        } else {
            try await execute("CREATE TABLE public.events_template (\(columns))")
            for statement in PartitionDDL.statements(for: layout, schema: "public", table: "events_template", into: ("public", "events")) {
                try await execute(statement)
            }
            try await execute("ALTER SEQUENCE events_template_id_seq OWNED BY public.events.id")
            try await execute("DROP TABLE public.events_template")
        }
        try await execute("""
            INSERT INTO events (ts, user_id, category, amount, note)
            SELECT timestamptz '2026-01-01' + g * interval '10 seconds', (g::int8 * 7919) % 50000, (ARRAY['a','b','c'])[1 + g % 3], g % 1000, md5(g::text)
            FROM generate_series(1, \(rows)) g
            """)
        try await execute("CREATE TABLE mirror AS SELECT * FROM events")
        try await execute("ALTER TABLE mirror ADD PRIMARY KEY (id)")
        try await execute("ANALYZE events")
    }

    /// Rows of `events` that `mirror` does not have, and the reverse (both 0: the same row set).
    func differences() async throws -> (missing: Int64, extra: Int64, rows: Int64) {
        let missing: Int64 = try await scalar("SELECT count(*)::int8 FROM (SELECT * FROM mirror EXCEPT ALL SELECT * FROM events) d")
        let extra: Int64 = try await scalar("SELECT count(*)::int8 FROM (SELECT * FROM events EXCEPT ALL SELECT * FROM mirror) d")
        let rows: Int64 = try await scalar("SELECT count(*)::int8 FROM events")
        return (missing, extra, rows)
    }

    /// Leftovers a job must not leave behind: forward capture triggers and functions, change tables,
    /// the logical capture's publication and replication slot, an unswapped shadow. (The live table's partitions keep the shadow's name prefix.)
    func leftovers() async throws -> [String] {
        let rows = try await connection.query("""
            SELECT relname::text FROM pg_class WHERE relname LIKE 'driftline_changes%' OR relname = 'events_repartitioned'
            UNION ALL SELECT tgname::text FROM pg_trigger WHERE tgname = 'driftline_capture'
            UNION ALL SELECT proname::text FROM pg_proc WHERE proname LIKE 'driftline_capture%'
            UNION ALL SELECT pubname::text FROM pg_publication WHERE pubname LIKE 'driftline%'
            UNION ALL SELECT slot_name::text FROM pg_replication_slots WHERE slot_name LIKE 'driftline%' AND database = current_database()
            """, logger: Self.logger).collect()
        return try rows.map { try $0.decode(String.self) }
    }

    /// Whether a logical capture slot of this database, and the forward capture trigger, exist now.
    func captureInUse(_ connection: PostgresConnection? = nil) async throws -> (slot: Bool, trigger: Bool) {
        let rows = try await (connection ?? self.connection).query("""
            SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name LIKE 'driftline%' AND database = current_database()),
                   EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'driftline_capture')
            """, logger: Self.logger).collect()
        let (slot, trigger) = try rows[0].decode((Bool, Bool).self)
        return (slot, trigger)
    }

    final class Writer: @unchecked Sendable {
        private let lock = NSLock()
        private var stopped = false
        private var done = false
        private(set) var operations = 0
        private(set) var failures: [String] = []
        var stop: Bool { get { lock.withLock { stopped } } set { lock.withLock { stopped = newValue } } }
        /// Set by a writer running on a thread of its own when it has stopped.
        var finished: Bool { get { lock.withLock { done } } set { lock.withLock { done = newValue } } }
        func record(_ failure: String?) { lock.withLock { if let failure { failures.append(failure) } else { operations += 1 } } }
    }

    /// Inserts, updates and deletes (seeded) on its own connection until stopped; each statement
    /// changes `events` and `mirror` together.
    func startWriter(seed: UInt64) async throws -> (Writer, Task<Void, Never>) {
        let writer = Writer()
        let connection = try await PostgresConnection.connect(configuration: configuration(name), id: Int(seed % 1000) + 10, logger: Self.logger)
        let task = Task {
            var state = seed | 1
            func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
            while !writer.stop {
                let top: Int64 = (try? await connection.query("SELECT coalesce(max(id), 1)::int8 FROM mirror", logger: Self.logger).collect().first?.decode(Int64.self)) ?? 1  // only bounds the ids picked
                let id = Int64(next() % UInt64(top)) + 1
                let sql: String
                switch next() % 4 {
                case 0:
                    sql = "WITH n AS (INSERT INTO events (ts, user_id, category, amount, note) VALUES (now(), \(next() % 50000), 'w', \(next() % 1000), md5(random()::text)) RETURNING *) INSERT INTO mirror SELECT * FROM n"
                case 1:
                    sql = "WITH d AS (DELETE FROM events WHERE id = \(id) RETURNING id) DELETE FROM mirror m USING d WHERE m.id = d.id"
                default:
                    sql = "WITH u AS (UPDATE events SET amount = amount + 1, note = md5(random()::text) WHERE id = \(id) RETURNING *) UPDATE mirror m SET amount = u.amount, note = u.note FROM u WHERE m.id = u.id"
                }
                do {
                    _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger).collect()
                    writer.record(nil)
                } catch {
                    writer.record("\(String(reflecting: error))")
                }
            }
            try? await connection.close()  // the writer is done
        }
        return (writer, task)
    }
}

/// A command for `layout` on public.events (DDL from the planner's generator).
func command(_ id: String, _ layout: PartitionLayout, expectedVersion: Int64? = nil) -> RepartitionCommand {
    let plan = PartitionPlan(
        table: "public.events", decision: .repartition, reason: "test", strategy: .init(layout),
        ddl: PartitionDDL.statements(for: layout, schema: "public", table: "events"),
        estimated: .init(perClass: [], totalCostNow: 1, totalCostNew: 1, improvement: 0, horizonDays: 30, unit: "buffer accesses"),
        resources: .init(rows: 0, bytes: 0, tempBytes: 0, seconds: 0), assumptions: [], alternatives: [], notes: [])
    return RepartitionCommand(id: id, table: "public.events", store: "postgres", expectedVersion: expectedVersion, plan: plan, createdAt: "2026-12-01T00:00:00.000Z")
}

func rangeByID(_ bounds: [Double]) -> PartitionLevel {
    var partitions: [RangeBound] = []
    var lower: Scalar?
    for bound in bounds {
        partitions.append(RangeBound(lower: lower, upper: .number(bound)))
        lower = .number(bound)
    }
    partitions.append(RangeBound(lower: lower, upper: nil))
    return .range(column: "id", type: .integer, partitions: partitions, interval: nil, hasDefault: false)
}

/// Validates JSON documents with schemas/validate.py; fails when CI=true and python's jsonschema is missing.
func validate(_ documents: [Data], schema: String) async throws {
    guard let result = try await validateAgainstSchema(schema, documents) else {
        if runningInCI { Issue.record("python3 jsonschema is not installed") }
        return
    }
    #expect(result.status == 0, "messages do not match schemas/\(schema): \(result.output)")
}

/// Samples which capture is in use (slot, trigger) every 20 ms on a connection of its own, until stopped.
final class CaptureWatcher: @unchecked Sendable {
    private let lock = NSLock()
    private var samples: [(slot: Bool, trigger: Bool)] = []
    private var stopped = false
    private var task: Task<Void, Never>?

    init(_ database: TargetDatabase) async throws {
        let connection = try await database.connect(id: 90)
        task = Task {
            while !self.lock.withLock({ self.stopped }) {
                // A failed sample (the table renamed under the query) is just not recorded.
                if let sample = try? await database.captureInUse(connection) { self.lock.withLock { self.samples.append(sample) } }
                try? await Task.sleep(for: .milliseconds(20))  // cancellation is not used here
            }
            try? await connection.close()  // the test is over
        }
    }

    func stop() async -> [(slot: Bool, trigger: Bool)] {
        lock.withLock { stopped = true }
        await task?.value
        return lock.withLock { samples }
    }
}
