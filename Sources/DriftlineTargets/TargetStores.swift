import DriftlineExecutor
import Foundation

/// Why a target database could not be read or changed.
public enum TargetError: Error, Equatable, CustomStringConvertible {
    case invalidURL(String)
    case unavailable(String)
    case tableMissing(String)
    case statementsUnavailable(String)
    case query(String)
    /// PostgreSQL did not grant a lock: `lock_timeout` ran out (55P03) or it chose this transaction
    /// to break a deadlock (40P01). Nothing the transaction did is kept; trying again is safe.
    case lockNotGranted(String)
    /// The SQLite target's file could not be opened or a statement on it failed.
    case sqlite(String)

    public var description: String {
        switch self {
        case let .invalidURL(reason): "invalid PostgreSQL URL: \(reason)"
        case let .unavailable(reason): "PostgreSQL unavailable: \(reason)"
        case let .tableMissing(table): "table \(table) does not exist (or is not a table) in this database"
        case let .statementsUnavailable(reason): "cannot read pg_stat_statements: \(reason)"
        case let .query(reason): "PostgreSQL query failed: \(reason)"
        case let .lockNotGranted(reason): "PostgreSQL did not grant a lock: \(reason)"
        case let .sqlite(reason): "SQLite: \(reason)"
        }
    }
}

/// Opens the target store a URL names: `postgres://…` (or `postgresql://…`) is PostgreSQL; anything
/// else is a SQLite file (`sqlite:PATH` or a plain path), the embedded default.
public enum TargetStores {
    /// `postgres` or `sqlite`: the store name a command for this target carries.
    public static func storeName(of url: String) -> String {
        url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") ? "postgres" : "sqlite"
    }

    /// The file a SQLite target URL names (`sqlite:PATH` or the path itself).
    public static func sqlitePath(_ url: String) -> String {
        url.hasPrefix("sqlite:") ? String(url.dropFirst("sqlite:".count)) : url
    }

    /// `capture` is how a PostgreSQL target captures writes during a copy (SQLite's are triggers).
    public static func open(_ url: String, capture: ChangeCapture = .trigger) async throws(TargetError) -> any TargetStore {
        if storeName(of: url) == "postgres" { return try await PostgresTarget(url: url, capture: capture) }
        return try SQLiteTarget(path: sqlitePath(url))
    }
}
