/// The store's own schema, versioned. Both drivers apply the same versions with their dialect's SQL.
enum StoreMigrations {
    struct Migration {
        var version: Int
        var sqlite: [String]
        var postgres: [String]
    }

    static let all: [Migration] = [
        Migration(
            version: 1,
            sqlite: [
                """
                CREATE TABLE driftline_records (kind TEXT NOT NULL, source TEXT NOT NULL, name TEXT NOT NULL,
                  version INTEGER NOT NULL, value BLOB NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (kind, source, name))
                """,
                """
                CREATE TABLE driftline_log (sequence INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
                  source TEXT NOT NULL, at INTEGER NOT NULL, entry BLOB NOT NULL)
                """,
                "CREATE INDEX driftline_log_by_source ON driftline_log (kind, source, at)",
                """
                CREATE TABLE driftline_leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, token INTEGER NOT NULL,
                  expires_at INTEGER NOT NULL)
                """,
            ],
            postgres: [
                """
                CREATE TABLE driftline_records (kind TEXT NOT NULL, source TEXT NOT NULL, name TEXT NOT NULL,
                  version BIGINT NOT NULL, value BYTEA NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (kind, source, name))
                """,
                """
                CREATE TABLE driftline_log (sequence BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, source TEXT NOT NULL,
                  at BIGINT NOT NULL, entry BYTEA NOT NULL)
                """,
                "CREATE INDEX driftline_log_by_source ON driftline_log (kind, source, at)",
                """
                CREATE TABLE driftline_leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, token BIGINT NOT NULL,
                  expires_at BIGINT NOT NULL)
                """,
            ]
        ),
        Migration(
            version: 2,
            sqlite: ["CREATE TABLE driftline_processed_commands (command_id TEXT PRIMARY KEY, at INTEGER NOT NULL)"],
            postgres: ["CREATE TABLE driftline_processed_commands (command_id TEXT PRIMARY KEY, at BIGINT NOT NULL)"]
        ),
    ]

    static var latest: Int { all.last!.version }
}
