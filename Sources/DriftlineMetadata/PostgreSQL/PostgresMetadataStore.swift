import DriftlineConfiguration
import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// The production driver: a PostgreSQL database shared by every Driftline process.
public final class PostgresMetadataStore: MetadataStore {
    private let client: PostgresClient
    /// The client's run, when this store started it itself (see `MetadataStores.withStore`).
    private let runner: Task<Void, Never>?
    private let logger = Logger(label: "driftline.metadata.postgres")
    public let description: String

    /// `url`: postgres://user[:password]@host[:port]/database[?sslmode=disable|require]
    /// `runsClient`: false when the caller runs `runClient()` in a task it owns (structured).
    public init(url: String, connectTimeout: Duration = .seconds(10), runsClient: Bool = true) async throws(MetadataError) {
        let parsed: PostgresURL
        do { parsed = try PostgresURL(url) } catch { throw .invalidURL(error.reason) }
        let (host, port, user, database) = (parsed.host, parsed.port, parsed.user, parsed.database)
        let tls: PostgresClient.Configuration.TLS
        let checkTLS: PostgresConnection.Configuration.TLS
        if parsed.requireTLS {
            tls = .require(.makeClientConfiguration())
            do { checkTLS = .require(try NIOSSLContext(configuration: .makeClientConfiguration())) } catch { throw .invalidURL("TLS setup failed: \(error)") }
        } else {
            tls = .disable
            checkTLS = .disable
        }
        // Check with one direct connection first: it fails at once with the server's reason
        // (wrong database, bad password), where the pool would keep retrying quietly.
        var check = PostgresConnection.Configuration(host: host, port: port, username: user, password: parsed.password, database: database, tls: checkTLS)
        check.options.connectTimeout = TimeAmount.milliseconds(connectTimeout.wholeMilliseconds)
        description = "postgres://\(user)@\(host):\(port)/\(database)"
        var quiet = Logger(label: "driftline.metadata.postgres")
        quiet.logLevel = .error
        do {
            let connection = try await PostgresConnection.connect(configuration: check, id: 0, logger: quiet)
            try await connection.close()
        } catch {
            throw .unavailable("cannot use \(description): \(Self.reason(error))")
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: parsed.password, database: database, tls: tls)
        configuration.options.connectTimeout = connectTimeout
        let client = PostgresClient(configuration: configuration, backgroundLogger: quiet)
        self.client = client
        runner = runsClient ? Task { await client.run() } : nil
    }

    /// Serves the connection pool until the calling task is cancelled.
    public func runClient() async { await client.run() }

    static func reason(_ error: any Error) -> String {
        if let error = error as? PostgresTransactionError {
            return [error.beginError, error.closureError, error.commitError, error.rollbackError].compactMap { $0.map(reason) }.joined(separator: "; ")
        }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return "\(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    private func run<T>(_ body: () async throws -> T) async throws(MetadataError) -> T {
        do {
            return try await body()
        } catch let error as MetadataError {
            throw error
        } catch let error as PostgresTransactionError {
            // Our own typed errors thrown inside a transaction come back wrapped.
            if let inner = error.closureError as? MetadataError { throw inner }
            throw .storage(Self.reason(error))
        } catch {
            throw .storage(Self.reason(error))
        }
    }

    private func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws(MetadataError) -> T {
        try await run { try await client.withTransaction(logger: logger) { connection in try await body(connection) } }
    }

    public func migrate(upTo target: Int?) async throws(MetadataError) {
        let target = target ?? StoreMigrations.latest
        let logger = logger
        try await transaction { connection in
            // One migrator at a time across processes.
            try await connection.query("SELECT pg_advisory_xact_lock(727274)", logger: logger)
            try await connection.query("CREATE TABLE IF NOT EXISTS driftline_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)", logger: logger)
            var applied = Set<Int>()
            for try await version in try await connection.query("SELECT version FROM driftline_migrations", logger: logger).decode(Int.self) {
                applied.insert(version)
            }
            for migration in StoreMigrations.all where migration.version <= target && !applied.contains(migration.version) {
                do {
                    for statement in migration.postgres { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                } catch {
                    throw MetadataError.migrationFailed(version: migration.version, reason: Self.reason(error))
                }
                try await connection.query("INSERT INTO driftline_migrations (version, applied_at) VALUES (\(migration.version), \(Date().milliseconds))", logger: logger)
            }
        }
    }

    public func appliedMigrations() async throws(MetadataError) -> [Int] {
        try await run {
            let exists = try await client.query("SELECT to_regclass('driftline_migrations') IS NOT NULL", logger: logger).collect().first?.decode(Bool.self) ?? false
            guard exists else { return [] }
            var versions: [Int] = []
            for try await version in try await client.query("SELECT version FROM driftline_migrations ORDER BY version", logger: logger).decode(Int.self) {
                versions.append(version)
            }
            return versions
        }
    }

    public func read(_ key: RecordKey) async throws(MetadataError) -> VersionedRecord? {
        try await run {
            let rows = try await client.query("""
                SELECT version, value, updated_at FROM driftline_records WHERE kind = \(key.kind) AND source = \(key.source) AND name = \(key.name)
                """, logger: logger)
            for try await (version, value, updatedAt) in rows.decode((Int64, Data, Int64).self) {
                return VersionedRecord(key: key, version: version, value: value, updatedAt: Date(milliseconds: updatedAt))
            }
            return nil
        }
    }

    private static func currentVersion(_ key: RecordKey, _ connection: PostgresConnection, _ logger: Logger) async throws -> Int64? {
        let rows = try await connection.query("""
            SELECT version FROM driftline_records WHERE kind = \(key.kind) AND source = \(key.source) AND name = \(key.name)
            """, logger: logger)
        for try await version in rows.decode(Int64.self) { return version }
        return nil
    }

    public func write(_ key: RecordKey, value: Data, expectedVersion: Int64?, fence: FencingToken?) async throws(MetadataError) -> Int64 {
        let now = Date().milliseconds
        let logger = logger
        return try await transaction { connection in
            if let fence {
                // FOR SHARE: a concurrent takeover waits until this write commits, or this write sees it.
                var current: Int64?
                for try await token in try await connection.query("SELECT token FROM driftline_leases WHERE name = \(fence.lease) FOR SHARE", logger: logger).decode(Int64.self) {
                    current = token
                }
                guard current == fence.token else {
                    throw MetadataError.staleFencingToken(lease: fence.lease, presented: fence.token, current: current)
                }
            }
            let rows: PostgresRowSequence
            if let expectedVersion {
                rows = try await connection.query("""
                    UPDATE driftline_records SET version = version + 1, value = \(value), updated_at = \(now)
                    WHERE kind = \(key.kind) AND source = \(key.source) AND name = \(key.name) AND version = \(expectedVersion)
                    RETURNING version
                    """, logger: logger)
            } else {
                rows = try await connection.query("""
                    INSERT INTO driftline_records (kind, source, name, version, value, updated_at)
                    VALUES (\(key.kind), \(key.source), \(key.name), 1, \(value), \(now))
                    ON CONFLICT (kind, source, name) DO NOTHING RETURNING version
                    """, logger: logger)
            }
            for try await version in rows.decode(Int64.self) { return version }
            throw MetadataError.conflict(key, currentVersion: try await Self.currentVersion(key, connection, logger))
        }
    }

    public func delete(_ key: RecordKey, expectedVersion: Int64) async throws(MetadataError) {
        let logger = logger
        try await transaction { connection in
            let rows = try await connection.query("""
                DELETE FROM driftline_records WHERE kind = \(key.kind) AND source = \(key.source) AND name = \(key.name)
                AND version = \(expectedVersion) RETURNING version
                """, logger: logger)
            for try await _ in rows.decode(Int64.self) { return }
            throw MetadataError.conflict(key, currentVersion: try await Self.currentVersion(key, connection, logger))
        }
    }

    public func list(kind: String, source: String) async throws(MetadataError) -> [VersionedRecord] {
        try await run {
            var records: [VersionedRecord] = []
            let rows = try await client.query("""
                SELECT name, version, value, updated_at FROM driftline_records WHERE kind = \(kind) AND source = \(source) ORDER BY name
                """, logger: logger)
            for try await (name, version, value, updatedAt) in rows.decode((String, Int64, Data, Int64).self) {
                records.append(VersionedRecord(key: RecordKey(kind: kind, source: source, name: name), version: version, value: value, updatedAt: Date(milliseconds: updatedAt)))
            }
            return records
        }
    }

    public func append(_ entry: Data, to kind: String, source: String, at time: Date) async throws(MetadataError) -> Int64 {
        try await run {
            let rows = try await client.query("""
                INSERT INTO driftline_log (kind, source, at, entry) VALUES (\(kind), \(source), \(time.milliseconds), \(entry)) RETURNING sequence
                """, logger: logger)
            for try await sequence in rows.decode(Int64.self) { return sequence }
            throw MetadataError.storage("append returned no sequence")
        }
    }

    public func entries(of kind: String, source: String, since: Date?, limit: Int) async throws(MetadataError) -> [LogEntry] {
        try await run {
            var entries: [LogEntry] = []
            let rows = try await client.query("""
                SELECT sequence, at, entry FROM driftline_log WHERE kind = \(kind) AND source = \(source) AND at >= \(since?.milliseconds ?? Int64.min)
                ORDER BY sequence LIMIT \(limit)
                """, logger: logger)
            for try await (sequence, at, entry) in rows.decode((Int64, Int64, Data).self) {
                entries.append(LogEntry(sequence: sequence, kind: kind, source: source, time: Date(milliseconds: at), entry: entry))
            }
            return entries
        }
    }

    public func prune(_ kind: String, source: String, olderThan cutoff: Date, keepOneEvery: Duration?) async throws(MetadataError) -> Int {
        let cutoff = cutoff.milliseconds
        return try await run {
            let rows: PostgresRowSequence
            if let bucket = keepOneEvery?.wholeMilliseconds, bucket > 0 {
                rows = try await client.query("""
                    DELETE FROM driftline_log WHERE kind = \(kind) AND source = \(source) AND at < \(cutoff) AND sequence NOT IN (
                      SELECT MIN(sequence) FROM driftline_log WHERE kind = \(kind) AND source = \(source) AND at < \(cutoff) GROUP BY at / \(bucket))
                    RETURNING sequence
                    """, logger: logger)
            } else {
                rows = try await client.query("""
                    DELETE FROM driftline_log WHERE kind = \(kind) AND source = \(source) AND at < \(cutoff) RETURNING sequence
                    """, logger: logger)
            }
            var deleted = 0
            for try await _ in rows.decode(Int64.self) { deleted += 1 }
            return deleted
        }
    }

    public func acquireLease(_ name: String, holder: String, ttl: Duration, now: Date) async throws(MetadataError) -> Lease? {
        let now = now.milliseconds
        let expires = now + ttl.wholeMilliseconds
        return try await run {
            let rows = try await client.query("""
                INSERT INTO driftline_leases (name, holder, token, expires_at) VALUES (\(name), \(holder), 1, \(expires))
                ON CONFLICT (name) DO UPDATE SET
                  token = CASE WHEN driftline_leases.holder = excluded.holder AND driftline_leases.expires_at > \(now)
                               THEN driftline_leases.token ELSE driftline_leases.token + 1 END,
                  holder = excluded.holder, expires_at = excluded.expires_at
                WHERE driftline_leases.holder = excluded.holder OR driftline_leases.expires_at <= \(now)
                RETURNING token, expires_at
                """, logger: logger)
            for try await (token, expiresAt) in rows.decode((Int64, Int64).self) {
                return Lease(name: name, holder: holder, token: token, expiresAt: Date(milliseconds: expiresAt))
            }
            return nil
        }
    }

    public func releaseLease(_ lease: Lease) async throws(MetadataError) {
        // Expire rather than delete: the token must keep growing for the next holder.
        try await run {
            try await client.query("""
                UPDATE driftline_leases SET expires_at = 0 WHERE name = \(lease.name) AND holder = \(lease.holder) AND token = \(lease.token)
                """, logger: logger)
        }
    }

    public func markProcessed(commandID: String, at time: Date) async throws(MetadataError) -> Bool {
        try await run {
            let rows = try await client.query("""
                INSERT INTO driftline_processed_commands (command_id, at) VALUES (\(commandID), \(time.milliseconds))
                ON CONFLICT (command_id) DO NOTHING RETURNING command_id
                """, logger: logger)
            for try await _ in rows.decode(String.self) { return true }
            return false
        }
    }

    /// Stops the client and waits until its connections are closed (a cancelled `run()` closes
    /// them; returning earlier would leave them to die with the process).
    public func close() async {
        guard let runner else { return }  // the owner of `runClient()` cancels it
        runner.cancel()
        await runner.value
    }
}
