import DriftlineConfiguration
import DriftlinePlanning
import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// Reads what the planner needs from a live PostgreSQL: the table's size, `pg_stats`, indexes and
/// unique keys, its current partitioning, and the workload from `pg_stat_statements`. One
/// connection, opened for the reading and closed after.
public final class PostgresCatalog: Sendable {
    let connection: PostgresConnection
    public let description: String

    private init(connection: PostgresConnection, description: String) {
        self.connection = connection
        self.description = description
    }

    public static func withCatalog<T>(_ url: String, connectTimeout: Duration = .seconds(10), _ body: (PostgresCatalog) async throws -> T) async throws -> T {
        let catalog = try await open(url, connectTimeout: connectTimeout)
        do {
            let result = try await body(catalog)
            await catalog.close()
            return result
        } catch {
            await catalog.close()
            throw error
        }
    }

    /// One connection; `close()` it when done (or use `withCatalog`).
    public static func open(_ url: String, connectTimeout: Duration = .seconds(10)) async throws(TargetError) -> PostgresCatalog {
        try await connect(url, connectTimeout: connectTimeout)
    }

    public func close() async {
        try? await connection.close()  // nothing is pending on a reading connection; a failed close loses nothing
    }

    static func connect(_ url: String, connectTimeout: Duration) async throws(TargetError) -> PostgresCatalog {
        let parsed: PostgresURL
        do { parsed = try PostgresURL(url) } catch { throw .invalidURL(error.reason) }
        let tls: PostgresConnection.Configuration.TLS
        if parsed.requireTLS {
            do { tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration())) } catch { throw .invalidURL("TLS setup failed: \(error)") }
        } else {
            tls = .disable
        }
        var configuration = PostgresConnection.Configuration(host: parsed.host, port: parsed.port, username: parsed.user,
                                                             password: parsed.password, database: parsed.database, tls: tls)
        configuration.options.connectTimeout = .milliseconds(connectTimeout.wholeMilliseconds)
        var logger = Logger(label: "driftline.targets.postgres")
        logger.logLevel = .error
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        } catch {
            throw .unavailable("cannot connect to \(parsed): \(reason(error))")
        }
        let catalog = PostgresCatalog(connection: connection, description: parsed.description)
        // The statistics print times in the session's zone and style; the planner reads ISO, UTC.
        try await catalog.execute("SET TimeZone = 'UTC'")
        try await catalog.execute("SET DateStyle = 'ISO, YMD'")
        return catalog
    }

    /// A failed statement as a target error: lock waits that ended (lock_not_available, deadlock_detected)
    /// apart, since the caller may try them again.
    static func targetError(_ error: any Error) -> TargetError {
        if let error = error as? PSQLError, let state = error.serverInfo?[.sqlState], state == "55P03" || state == "40P01" {
            return .lockNotGranted(reason(error))
        }
        return .query(reason(error))
    }

    static func reason(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return "\(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    private static let logger: Logger = {
        var logger = Logger(label: "driftline.targets.postgres")
        logger.logLevel = .error
        return logger
    }()

    public func execute(_ sql: String) async throws(TargetError) {
        do { _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger).collect() } catch { throw Self.targetError(error) }
    }

    /// The one bigint a query returns (a count).
    public func integer(_ sql: String) async throws(TargetError) -> Int64 {
        let found = try await rows(PostgresQuery(unsafeSQL: sql))
        guard let row = found.first else { throw .query("no row from: \(sql)") }
        do { return try row.decode(Int64.self) } catch { throw .query("\(error)") }
    }

    public func rows(_ query: PostgresQuery) async throws(TargetError) -> [PostgresRow] {
        do { return try await connection.query(query, logger: Self.logger).collect() } catch { throw Self.targetError(error) }
    }

    /// Streams a query's rows into `body` as they arrive (memory: what `body` keeps). Errors of
    /// the query are target errors; `body`'s own pass through.
    public func forEachRow(_ query: PostgresQuery, _ body: (PostgresRow) async throws -> Void) async throws {
        let rows: PostgresRowSequence
        do { rows = try await connection.query(query, logger: Self.logger) } catch { throw Self.targetError(error) }
        var iterator = rows.makeAsyncIterator()
        while true {
            let row: PostgresRow?
            do { row = try await iterator.next() } catch { throw Self.targetError(error) }
            guard let row else { return }
            try await body(row)
        }
    }

    // MARK: Statistics

    /// `table` is `name` or `schema.name`; without a schema, the first match on the search path.
    public func statistics(_ table: String) async throws(TargetError) -> (TableStatistics, [String]) {
        let parts = table.split(separator: ".", maxSplits: 1).map(String.init)
        let schemaName = parts.count == 2 ? parts[0] : ""
        let relationName = parts.count == 2 ? parts[1] : parts[0]
        var notes: [String] = []
        let found = try await rows("""
            SELECT c.oid::int8, n.nspname::text, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relname = \(relationName) AND c.relkind IN ('r', 'p') AND (\(schemaName) = '' OR n.nspname = \(schemaName))
            ORDER BY array_position(current_schemas(false), n.nspname::name) NULLS LAST LIMIT 1
            """)
        guard let row = found.first else { throw .tableMissing(table) }
        let (oid, schema, kind) = try decode(row, as: (Int64, String, String).self)

        let sizes = try await rows("""
            SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::float8, coalesce(sum(c.relpages), 0)::float8,
                   coalesce(sum(pg_total_relation_size(c.oid)), 0)::float8, coalesce(min(c.reltuples), 0)::float8
            FROM pg_class c WHERE c.oid = \(oid)::oid AND c.relkind = 'r'
               OR c.oid IN (SELECT relid FROM pg_partition_tree(\(oid)::oid::regclass) WHERE isleaf)
            """)
        let (rowCount, pages, bytes, leastTuples) = try decode(sizes[0], as: (Double, Double, Double, Double).self)
        if leastTuples < 0 { notes.append("\(schema).\(relationName) (or a partition) was never analyzed: row counts are 0 until ANALYZE runs") }

        var columns: [ColumnStatistics] = []
        let attributes = try await rows("""
            SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
            WHERE a.attrelid = \(oid)::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
            """)
        let statsRows = try await rows("""
            SELECT attname::text, null_frac::float8, n_distinct::float8, most_common_vals::text, most_common_freqs::text,
                   histogram_bounds::text, correlation::float8, avg_width::float8
            FROM pg_stats WHERE schemaname = \(schema) AND tablename = \(relationName) AND inherited = \(kind == "p")
            """)
        var stats: [String: PostgresRow] = [:]
        for row in statsRows { if let name = try? row.decode(String.self) { stats[name] = row } }  // a row without a name names nothing
        for attribute in attributes {
            let (name, typeName) = try decode(attribute, as: (String, String).self)
            let type = ColumnType(postgresType: typeName)
            guard let row = stats[name] else {
                columns.append(ColumnStatistics(name: name, type: type, distinct: -1))
                continue
            }
            let values = try decode(row, as: (String, Double, Double, String?, String?, String?, Double?, Double).self)
            columns.append(ColumnStatistics(
                name: name, type: type, nullFraction: values.1, distinct: values.2,
                mostCommonValues: values.3.flatMap(CatalogText.array)?.compactMap { $0 } ?? [],
                mostCommonFrequencies: values.4.flatMap(CatalogText.array)?.compactMap { $0.flatMap(Double.init) } ?? [],
                histogramBounds: values.5.flatMap(CatalogText.array)?.compactMap { $0 } ?? [],
                correlation: values.6, averageWidth: values.7))
        }
        if statsRows.isEmpty { notes.append("pg_stats has nothing for \(schema).\(relationName): run ANALYZE for selectivity from its data") }

        var indexes: [[String]] = []
        var uniqueKeys: [[String]] = []
        let indexRows = try await rows("""
            SELECT (i.indisunique OR i.indisprimary), am.amname::text,
                   array_to_string(array(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                                         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord), ',')
            FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
            WHERE i.indrelid = \(oid)::oid
            """)
        for row in indexRows {
            let (unique, method, names) = try decode(row, as: (Bool, String, String).self)
            let columns = names.split(separator: ",").map(String.init)
            if method == "btree" { indexes.append(columns) }
            if unique { uniqueKeys.append(columns) }
        }

        var layout = CurrentLayout.unpartitioned
        if kind == "p" {
            layout = try await currentLayout(oid: oid, columns: columns, notes: &notes)
        }
        let statistics = TableStatistics(schema: schema, table: relationName, rows: rowCount, pages: pages, totalBytes: bytes,
                                         columns: columns, indexes: indexes, uniqueKeys: uniqueKeys, layout: layout)
        return (statistics, notes)
    }

    private func currentLayout(oid: Int64, columns: [ColumnStatistics], notes: inout [String]) async throws(TargetError) -> CurrentLayout {
        let keyRows = try await rows("""
            SELECT p.partstrat::text, array_to_string(array(SELECT a.attname FROM unnest(p.partattrs::int2[]) k(attnum)
                   JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = k.attnum), ',')
            FROM pg_partitioned_table p WHERE p.partrelid = \(oid)::oid
            """)
        guard let keyRow = keyRows.first else { return .unpartitioned }
        let (strategy, keyText) = try decode(keyRow, as: (String, String).self)
        let keyColumns = keyText.split(separator: ",").map(String.init)
        guard keyColumns.count == 1, let column = columns.first(where: { $0.name == keyColumns[0] }) else {
            notes.append("the current partition key (\(keyText.isEmpty ? "an expression" : keyText)) is not one column: its cost is taken as unpartitioned")
            return .unpartitioned
        }
        let partitionRows = try await rows("""
            SELECT pg_get_expr(c.relpartbound, c.oid), 
                   (SELECT coalesce(sum(l.relpages), 0)::float8 FROM pg_class l WHERE l.oid = c.oid AND l.relkind = 'r'
                       OR l.oid IN (SELECT relid FROM pg_partition_tree(c.oid::regclass) WHERE isleaf)),
                   (SELECT coalesce(sum(greatest(l.reltuples, 0)), 0)::float8 FROM pg_class l WHERE l.oid = c.oid AND l.relkind = 'r'
                       OR l.oid IN (SELECT relid FROM pg_partition_tree(c.oid::regclass) WHERE isleaf)),
                   c.relkind::text
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = \(oid)::oid
            """)
        var partitions: [(bound: CatalogText.Bound, pages: Double, rows: Double)] = []
        var subpartitioned = false
        for row in partitionRows {
            let (boundText, pages, count, kind) = try decode(row, as: (String, Double, Double, String).self)
            if kind == "p" { subpartitioned = true }
            do { partitions.append((try CatalogText.bound(boundText), pages, count)) } catch {
                notes.append("\(error): its cost is taken as unpartitioned")
                return .unpartitioned
            }
        }
        if subpartitioned { notes.append("sub-partitions are costed as part of their first-level partition") }
        guard let layout = CatalogText.layout(strategy: strategy, column: column.name, type: column.type, partitions: partitions) else {
            notes.append("the current \(strategy) partitioning could not be modelled: its cost is taken as unpartitioned")
            return .unpartitioned
        }
        return layout
    }

    // MARK: Workload

    /// Statements from `pg_stat_statements` for this database, and the days since its counters
    /// were reset (the period the calls cover).
    public func statementStatistics() async throws(TargetError) -> (statements: [LoggedStatement], periodDays: Double?) {
        let installed = try await rows("SELECT count(*)::int8 FROM pg_extension WHERE extname = 'pg_stat_statements'")
        guard try decodeOne(installed[0], as: Int64.self) > 0 else {
            throw .statementsUnavailable("the extension is not installed in this database (CREATE EXTENSION pg_stat_statements; the server needs shared_preload_libraries = 'pg_stat_statements')")
        }
        let found: [PostgresRow]
        do {
            found = try await connection.query("""
                SELECT query, calls::float8, total_exec_time::float8 FROM pg_stat_statements
                WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND calls > 0
                """, logger: Self.logger).collect()
        } catch {
            throw .statementsUnavailable(Self.reason(error))
        }
        var statements: [LoggedStatement] = []
        for row in found {
            let (query, calls, milliseconds) = try decode(row, as: (String, Double, Double).self)
            statements.append(LoggedStatement(sql: query, calls: calls, totalMilliseconds: milliseconds))
        }
        let reset = try await rows("SELECT extract(epoch FROM now() - stats_reset)::float8 FROM pg_stat_statements_info")
        let seconds = reset.first.flatMap { try? $0.decode(Double?.self) } ?? nil  // no row: counters never reset, period unknown
        return (statements, seconds.map { $0 / 86_400 })
    }

    private func decodeOne<T: PostgresDecodable>(_ row: PostgresRow, as type: T.Type) throws(TargetError) -> T {
        do { return try row.decode(T.self) } catch { throw .query("unexpected catalog row: \(error)") }
    }

    private func decode<each T: PostgresDecodable>(_ row: PostgresRow, as type: (repeat each T).Type) throws(TargetError) -> (repeat each T) {
        do { return try row.decode((repeat each T).self) } catch { throw .query("unexpected catalog row: \(error)") }
    }
}
