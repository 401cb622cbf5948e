import DriftlineConfiguration
import Foundation

/// Where Driftline keeps what must outlive a process and be shared between processes: versioned
/// records (compare-and-set), append-only logs, leases with fencing tokens, processed command ids.
///
/// Two drivers with the same behaviour (one test suite runs against both): `SQLiteMetadataStore`
/// (GRDB; a file; the embedded default) and `PostgresMetadataStore` (postgres-nio; production).
public protocol MetadataStore: Sendable {
    /// Applies the store's own schema migrations that are missing (all of them by default). Safe to
    /// run from several processes at once.
    func migrate(upTo version: Int?) async throws(MetadataError)
    /// Migration versions applied, ascending.
    func appliedMigrations() async throws(MetadataError) -> [Int]

    func read(_ key: RecordKey) async throws(MetadataError) -> VersionedRecord?
    /// Writes `value` if the stored version is `expectedVersion` (`nil`: the record must not exist yet)
    /// and, with a `fence`, only while that lease token is current. Returns the new version.
    func write(_ key: RecordKey, value: Data, expectedVersion: Int64?, fence: FencingToken?) async throws(MetadataError) -> Int64
    func delete(_ key: RecordKey, expectedVersion: Int64) async throws(MetadataError)
    func list(kind: String, source: String) async throws(MetadataError) -> [VersionedRecord]

    /// Appends to a source's log of `kind`; returns the entry's sequence number (increasing).
    func append(_ entry: Data, to kind: String, source: String, at time: Date) async throws(MetadataError) -> Int64
    func entries(of kind: String, source: String, since: Date?, limit: Int) async throws(MetadataError) -> [LogEntry]
    /// Retention: entries older than `cutoff` are thinned to the first of every `keepOneEvery`
    /// interval (nil: all deleted). Returns how many were deleted.
    func prune(_ kind: String, source: String, olderThan cutoff: Date, keepOneEvery: Duration?) async throws(MetadataError) -> Int

    /// Takes (or renews, for the same holder) the lease `name` until `now + ttl`. Returns nil while
    /// another holder's lease is unexpired. A new holder always gets a larger fencing token.
    func acquireLease(_ name: String, holder: String, ttl: Duration, now: Date) async throws(MetadataError) -> Lease?
    func releaseLease(_ lease: Lease) async throws(MetadataError)

    /// Records a processed command id; false if it was already recorded (a duplicate to skip).
    func markProcessed(commandID: String, at time: Date) async throws(MetadataError) -> Bool

    func close() async
}

extension MetadataStore {
    public func migrate() async throws(MetadataError) { try await migrate(upTo: nil) }
}

/// Identifies a versioned record: what kind of thing, for which source (topic or table), which one.
public struct RecordKey: Hashable, Sendable, CustomStringConvertible {
    public var kind: String
    public var source: String
    public var name: String

    public init(kind: String, source: String, name: String = "") {
        self.kind = kind
        self.source = source
        self.name = name
    }

    public var description: String { "\(kind)/\(source)/\(name)" }
}

public struct VersionedRecord: Equatable, Sendable {
    public var key: RecordKey
    public var version: Int64
    public var value: Data
    public var updatedAt: Date
}

public struct LogEntry: Equatable, Sendable {
    public var sequence: Int64
    public var kind: String
    public var source: String
    public var time: Date
    public var entry: Data
}

/// A held lease; `token` fences writes made under it.
public struct Lease: Equatable, Sendable {
    public var name: String
    public var holder: String
    public var token: Int64
    public var expiresAt: Date

    public init(name: String, holder: String, token: Int64, expiresAt: Date) {
        self.name = name
        self.holder = holder
        self.token = token
        self.expiresAt = expiresAt
    }

    public var fence: FencingToken { FencingToken(lease: name, token: token) }
}

public struct FencingToken: Equatable, Sendable {
    public var lease: String
    public var token: Int64
}

public enum MetadataError: Error, Equatable, CustomStringConvertible {
    /// The record changed since it was read (or already exists): re-read and retry.
    case conflict(RecordKey, currentVersion: Int64?)
    /// The lease behind a fenced write was taken over or has expired.
    case staleFencingToken(lease: String, presented: Int64, current: Int64?)
    case invalidURL(String)
    case unavailable(String)
    case migrationFailed(version: Int, reason: String)
    case storage(String)

    public var description: String {
        switch self {
        case let .conflict(key, current):
            "version conflict on \(key): the stored version is \(current.map(String.init) ?? "absent"); re-read and retry"
        case let .staleFencingToken(lease, presented, current):
            "write rejected: fencing token \(presented) of lease '\(lease)' is stale (current \(current.map(String.init) ?? "none"))"
        case let .invalidURL(reason): "invalid metadata store URL: \(reason)"
        case let .unavailable(reason): "metadata store unavailable: \(reason)"
        case let .migrationFailed(version, reason): "metadata store migration \(version) failed: \(reason)"
        case let .storage(reason): "metadata store error: \(reason)"
        }
    }

    public var isConflict: Bool { if case .conflict = self { true } else { false } }
    public var isStaleFence: Bool { if case .staleFencingToken = self { true } else { false } }
}

extension Date {
    /// Stores keep milliseconds since the epoch: the same precision on both backends.
    var milliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
    init(milliseconds: Int64) { self.init(timeIntervalSince1970: Double(milliseconds) / 1000) }
}



/// Opens the store a URL names: `sqlite:PATH` or a plain file path (SQLite), `postgres://…` or
/// `postgresql://…` (PostgreSQL).
public enum MetadataStores {
    static func isPostgres(_ url: String) -> Bool { url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") }

    /// Opens the store for `body` and closes it after. A PostgreSQL client runs as a child task of
    /// the caller, cancelled and awaited when `body` ends, so no connection outlives the service.
    public static func withStore<T>(_ url: String, _ body: (any MetadataStore) async throws -> T) async throws -> T {
        guard isPostgres(url) else {
            let store = try open(sqlite: url)
            do {
                let result = try await body(store)
                await store.close()
                return result
            } catch {
                await store.close()
                throw error
            }
        }
        let store = try await PostgresMetadataStore(url: url, runsClient: false)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.runClient() }
            defer { group.cancelAll() }
            return try await body(store)
        }
    }

    public static func open(_ url: String) async throws(MetadataError) -> any MetadataStore {
        if isPostgres(url) {
            return try await PostgresMetadataStore(url: url)
        }
        return try open(sqlite: url)
    }

    private static func open(sqlite url: String) throws(MetadataError) -> any MetadataStore {
        if url.contains("://") {
            throw .invalidURL("'\(url)': use sqlite:PATH, a file path, or postgres://user@host:port/database")
        }
        let path = url.hasPrefix("sqlite:") ? String(url.dropFirst("sqlite:".count)) : url
        guard !path.isEmpty else { throw .invalidURL("an empty SQLite path") }
        return try SQLiteMetadataStore(path: path)
    }
}
