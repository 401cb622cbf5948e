import DriftlineConfiguration
import Foundation
import GRDB

/// The embedded default: one SQLite file (WAL), shared safely by several processes on one host.
public final class SQLiteMetadataStore: MetadataStore {
    private let pool: DatabasePool
    public let path: String

    public init(path: String) throws(MetadataError) {
        self.path = path
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: directory) else {
            throw .unavailable("the directory of \(path) does not exist")
        }
        var configuration = Configuration()
        // Other processes may hold the write lock briefly; wait for it rather than fail.
        configuration.busyMode = .timeout(10)
        // Switching a new file to WAL fails at once with SQLITE_BUSY (no busy handler) while another
        // process opens it too: two executors or detectors starting together. Retry for a few seconds.
        var attempt = 0
        while true {
            do {
                pool = try DatabasePool(path: path, configuration: configuration)
                break
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && attempt < 50 {
                attempt += 1
                usleep(100_000)
            } catch {
                throw .unavailable("cannot open SQLite database \(path): \(Self.reason(error))")
            }
        }
    }

    static func reason(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? error.description }
        return "\(error)"
    }

    /// Runs `body` in an IMMEDIATE transaction (the write lock from the start, so read-then-write is atomic).
    private func transaction<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(MetadataError) -> T {
        do {
            return try await pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        } catch let error as MetadataError {
            throw error
        } catch {
            throw .storage(Self.reason(error))
        }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(MetadataError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw .storage(Self.reason(error))
        }
    }

    public func migrate(upTo target: Int?) async throws(MetadataError) {
        let target = target ?? StoreMigrations.latest
        do {
            try await pool.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    try db.execute(sql: "CREATE TABLE IF NOT EXISTS driftline_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
                    let applied = Set(try Int.fetchAll(db, sql: "SELECT version FROM driftline_migrations"))
                    for migration in StoreMigrations.all where migration.version <= target && !applied.contains(migration.version) {
                        do {
                            for statement in migration.sqlite { try db.execute(sql: statement) }
                        } catch {
                            throw MetadataError.migrationFailed(version: migration.version, reason: Self.reason(error))
                        }
                        try db.execute(sql: "INSERT INTO driftline_migrations (version, applied_at) VALUES (?, ?)",
                                       arguments: [migration.version, Date().milliseconds])
                    }
                    return .commit
                }
            }
        } catch let error as MetadataError {
            throw error
        } catch {
            throw .unavailable("cannot migrate \(path): \(Self.reason(error))")
        }
    }

    public func appliedMigrations() async throws(MetadataError) -> [Int] {
        try await read { db in
            guard try db.tableExists("driftline_migrations") else { return [] }
            return try Int.fetchAll(db, sql: "SELECT version FROM driftline_migrations ORDER BY version")
        }
    }

    private static func record(_ row: Row, _ key: RecordKey) -> VersionedRecord {
        VersionedRecord(key: key, version: row["version"], value: row["value"], updatedAt: Date(milliseconds: row["updated_at"]))
    }

    public func read(_ key: RecordKey) async throws(MetadataError) -> VersionedRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT version, value, updated_at FROM driftline_records WHERE kind = ? AND source = ? AND name = ?",
                             arguments: [key.kind, key.source, key.name]).map { Self.record($0, key) }
        }
    }

    public func write(_ key: RecordKey, value: Data, expectedVersion: Int64?, fence: FencingToken?) async throws(MetadataError) -> Int64 {
        let now = Date().milliseconds
        return try await transaction { db in
            if let fence {
                let current = try Int64.fetchOne(db, sql: "SELECT token FROM driftline_leases WHERE name = ?", arguments: [fence.lease])
                guard current == fence.token else {
                    throw MetadataError.staleFencingToken(lease: fence.lease, presented: fence.token, current: current)
                }
            }
            if let expectedVersion {
                try db.execute(sql: """
                    UPDATE driftline_records SET version = version + 1, value = ?, updated_at = ?
                    WHERE kind = ? AND source = ? AND name = ? AND version = ?
                    """, arguments: [value, now, key.kind, key.source, key.name, expectedVersion])
                if db.changesCount == 1 { return expectedVersion + 1 }
            } else {
                try db.execute(sql: """
                    INSERT INTO driftline_records (kind, source, name, version, value, updated_at) VALUES (?, ?, ?, 1, ?, ?)
                    ON CONFLICT (kind, source, name) DO NOTHING
                    """, arguments: [key.kind, key.source, key.name, value, now])
                if db.changesCount == 1 { return 1 }
            }
            let current = try Int64.fetchOne(db, sql: "SELECT version FROM driftline_records WHERE kind = ? AND source = ? AND name = ?",
                                             arguments: [key.kind, key.source, key.name])
            throw MetadataError.conflict(key, currentVersion: current)
        }
    }

    public func delete(_ key: RecordKey, expectedVersion: Int64) async throws(MetadataError) {
        try await transaction { db in
            try db.execute(sql: "DELETE FROM driftline_records WHERE kind = ? AND source = ? AND name = ? AND version = ?",
                           arguments: [key.kind, key.source, key.name, expectedVersion])
            guard db.changesCount == 1 else {
                let current = try Int64.fetchOne(db, sql: "SELECT version FROM driftline_records WHERE kind = ? AND source = ? AND name = ?",
                                                 arguments: [key.kind, key.source, key.name])
                throw MetadataError.conflict(key, currentVersion: current)
            }
        }
    }

    public func list(kind: String, source: String) async throws(MetadataError) -> [VersionedRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT name, version, value, updated_at FROM driftline_records WHERE kind = ? AND source = ? ORDER BY name",
                             arguments: [kind, source]).map { Self.record($0, RecordKey(kind: kind, source: source, name: $0["name"])) }
        }
    }

    public func append(_ entry: Data, to kind: String, source: String, at time: Date) async throws(MetadataError) -> Int64 {
        try await transaction { db in
            try db.execute(sql: "INSERT INTO driftline_log (kind, source, at, entry) VALUES (?, ?, ?, ?)",
                           arguments: [kind, source, time.milliseconds, entry])
            return db.lastInsertedRowID
        }
    }

    public func entries(of kind: String, source: String, since: Date?, limit: Int) async throws(MetadataError) -> [LogEntry] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT sequence, at, entry FROM driftline_log WHERE kind = ? AND source = ? AND at >= ? ORDER BY sequence LIMIT ?
                """, arguments: [kind, source, since?.milliseconds ?? Int64.min, limit]).map {
                LogEntry(sequence: $0["sequence"], kind: kind, source: source, time: Date(milliseconds: $0["at"]), entry: $0["entry"])
            }
        }
    }

    public func prune(_ kind: String, source: String, olderThan cutoff: Date, keepOneEvery: Duration?) async throws(MetadataError) -> Int {
        let cutoff = cutoff.milliseconds
        return try await transaction { db in
            if let bucket = keepOneEvery?.wholeMilliseconds, bucket > 0 {
                try db.execute(sql: """
                    DELETE FROM driftline_log WHERE kind = ? AND source = ? AND at < ? AND sequence NOT IN (
                      SELECT MIN(sequence) FROM driftline_log WHERE kind = ? AND source = ? AND at < ? GROUP BY at / ?)
                    """, arguments: [kind, source, cutoff, kind, source, cutoff, bucket])
            } else {
                try db.execute(sql: "DELETE FROM driftline_log WHERE kind = ? AND source = ? AND at < ?", arguments: [kind, source, cutoff])
            }
            return db.changesCount
        }
    }

    public func acquireLease(_ name: String, holder: String, ttl: Duration, now: Date) async throws(MetadataError) -> Lease? {
        let now = now.milliseconds
        let expires = now + ttl.wholeMilliseconds
        return try await transaction { db in
            let row = try Row.fetchOne(db, sql: """
                INSERT INTO driftline_leases (name, holder, token, expires_at) VALUES (?, ?, 1, ?)
                ON CONFLICT (name) DO UPDATE SET
                  token = CASE WHEN driftline_leases.holder = excluded.holder AND driftline_leases.expires_at > ?
                               THEN driftline_leases.token ELSE driftline_leases.token + 1 END,
                  holder = excluded.holder, expires_at = excluded.expires_at
                WHERE driftline_leases.holder = excluded.holder OR driftline_leases.expires_at <= ?
                RETURNING token, expires_at
                """, arguments: [name, holder, expires, now, now])
            return row.map { Lease(name: name, holder: holder, token: $0["token"], expiresAt: Date(milliseconds: $0["expires_at"])) }
        }
    }

    public func releaseLease(_ lease: Lease) async throws(MetadataError) {
        // Expire rather than delete: the token must keep growing for the next holder.
        try await transaction { db in
            try db.execute(sql: "UPDATE driftline_leases SET expires_at = 0 WHERE name = ? AND holder = ? AND token = ?",
                           arguments: [lease.name, lease.holder, lease.token])
        }
    }

    public func markProcessed(commandID: String, at time: Date) async throws(MetadataError) -> Bool {
        try await transaction { db in
            try db.execute(sql: "INSERT INTO driftline_processed_commands (command_id, at) VALUES (?, ?) ON CONFLICT (command_id) DO NOTHING",
                           arguments: [commandID, time.milliseconds])
            return db.changesCount == 1
        }
    }

    public func close() async {
        try? pool.close()
    }
}
