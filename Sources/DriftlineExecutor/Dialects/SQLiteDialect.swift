import DriftlinePlanning
import DriftlineProfiling

/// The executor's SQL for SQLite, as values (tests assert it without a database).
///
/// SQLite has no declarative partitioning, so a partitioned table is a set of tables (the plan's
/// leaf partitions, each created from the original's own `CREATE TABLE` text and indexes) behind a
/// view with the original's name; `INSTEAD OF` triggers on the view route every write to the leaf
/// whose bounds hold the row. Routing is plain SQL every connection can run (no custom function):
/// ranges compare values (times through `julianday`, or as Unix seconds in integer columns), lists
/// compare values, hash places integers by `key mod modulus` (SQLite has no hash function an
/// application's connection could call, so hash partitioning needs an integer column).
///
/// Names: captured changes go to `driftline_changes_<table>` through the triggers
/// `driftline_capture_<table>_{insert,update,delete}`; after the swap the old table is
/// `<table>_before_<id>` and the view's triggers log the keys they write into
/// `driftline_back_<id>_<table>` while that table exists, so a rollback loses nothing.
public struct SQLiteDialect: Sendable {
    public struct Column: Equatable, Sendable {
        public var name: String
        /// The declared type (`INTEGER`, `TEXT`, `DATETIME`, empty).
        public var type: String
        /// The default's SQL text, when the column has one.
        public var defaultValue: String?
        public init(name: String, type: String, defaultValue: String?) {
            self.name = name; self.type = type; self.defaultValue = defaultValue
        }

        /// SQLite's affinity rules (section 3.1 of its datatype page), for how bounds compare.
        var hasIntegerAffinity: Bool { type.uppercased().contains("INT") }
        var hasNumberAffinity: Bool {
            let upper = type.uppercased()
            return hasIntegerAffinity || ["REAL", "FLOA", "DOUB"].contains { upper.contains($0) }
        }
    }

    /// An index of the original: created on every partition (`CREATE INDEX`) or part of the table's
    /// body (`UNIQUE` constraints, which the partitions copy with the body).
    public struct Index: Equatable, Sendable {
        public var name: String
        public var unique: Bool
        /// Rendered terms: `"ts" DESC`, `"name" COLLATE NOCASE`.
        public var terms: [String]
        /// From a `CREATE INDEX` statement (not a constraint of the table's body).
        public var created: Bool
        public init(name: String, unique: Bool, terms: [String], created: Bool) {
            self.name = name; self.unique = unique; self.terms = terms; self.created = created
        }
    }

    public let table: String
    public let columns: [Column]
    public let key: [String]
    public let commandId: String
    public let tree: PartitionTree
    /// The original's `CREATE TABLE` text from `sqlite_master`: the partitions copy its body.
    public let tableSQL: String
    public let indexes: [Index]

    public init(table: String, columns: [Column], key: [String], commandId: String, tree: PartitionTree, tableSQL: String, indexes: [Index]) {
        self.table = table; self.columns = columns; self.key = key; self.commandId = commandId
        self.tree = tree; self.tableSQL = tableSQL; self.indexes = indexes
    }

    public static func identifier(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
    public static func literal(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    /// The command's short id in names: several jobs' leftovers never share a name.
    static func tag(_ commandId: String) -> String { String(commandId.filter { $0.isLetter || $0.isNumber }.suffix(8).lowercased()) }
    /// The original table after the swap, kept for a rollback.
    public static func beforeName(table: String, commandId: String) -> String { "\(table)_before_\(tag(commandId))" }
    public static func backName(table: String, commandId: String) -> String { "driftline_back_\(tag(commandId))_\(table)" }
    public var source: String { Self.identifier(table) }
    public var changesName: String { "driftline_changes_\(table)" }
    public var beforeName: String { Self.beforeName(table: table, commandId: commandId) }
    public var backName: String { Self.backName(table: table, commandId: commandId) }
    var nextName: String { "driftline_next_\(table)" }
    var captureTriggers: [String] { ["insert", "update", "delete"].map { "driftline_capture_\(table)_\($0)" } }
    var viewTriggers: [String] { ["insert", "update", "delete"].map { "driftline_\(table)_\($0)" } }
    public var leafNames: [String] { tree.leaves.map(\.name) }

    var columnList: String { columns.map { Self.identifier($0.name) }.joined(separator: ", ") }
    func columnList(_ alias: String) -> String { columns.map { "\(alias).\(Self.identifier($0.name))" }.joined(separator: ", ") }
    /// `("a", "b")`: the key as a row value.
    var keyRow: String { "(" + key.map(Self.identifier).joined(separator: ", ") + ")" }
    func keyRow(_ alias: String) -> String { "(" + key.map { "\(alias).\(Self.identifier($0))" }.joined(separator: ", ") + ")" }
    var keyList: String { key.map(Self.identifier).joined(separator: ", ") }
    var keyParameters: String { "(" + key.map { _ in "?" }.joined(separator: ", ") + ")" }
    var keyText: String { key.map { "CAST(\(Self.identifier($0)) AS TEXT)" }.joined(separator: ", ") }
    var orderByKey: String { keyList }
    var orderByKeyDescending: String { key.map { "\(Self.identifier($0)) DESC" }.joined(separator: ", ") }

    /// An integer primary key is the rowid: inserts that leave it out get the next one, which the
    /// view must allocate across all partitions (each table would count on its own).
    public var allocatesKey: Bool {
        key.count == 1 && columns.first(where: { $0.name == key[0] })?.type.uppercased() == "INTEGER"
    }

    // MARK: Checks

    /// Why the layout cannot be built on this table, or nil.
    public var problem: String? {
        for level in tree.levels {
            guard let column = columns.first(where: { $0.name == level.column }) else {
                return "column \"\(level.column)\" does not exist in \(table)"
            }
            if level.strategy == "hash", !column.hasIntegerAffinity {
                return "hash partitioning on SQLite needs an integer column; \(table).\(column.name) is \(column.type.isEmpty ? "untyped" : column.type) (SQLite has no hash function every connection can call)"
            }
        }
        guard tableSQL.contains("("), !table.contains("(") else {
            return "cannot read the definition of \(table) from sqlite_master"
        }
        for index in indexes where index.unique {
            let indexed = Set(index.terms.map { $0.split(separator: " ").first.map(String.init) ?? $0 })
            for level in tree.levels where !indexed.contains(Self.identifier(level.column)) {
                return "unique index \(index.name) does not include the partition column \(level.column): uniqueness would hold per partition only"
            }
        }
        return nil
    }

    // MARK: Routing

    /// The condition, over the columns of `alias`, that a row belongs to `leaf`: true or false, never NULL.
    public func route(_ leaf: PartitionTree.Leaf, _ alias: String) -> String {
        var conditions: [String] = []
        for (level, bound) in leaf.bounds.enumerated() {
            let column = columns.first { $0.name == leaf.levels[level].column }!
            let value = "\(alias).\(Self.identifier(column.name))"
            if bound == .default {
                // The rest: no sibling (same bounds above this level) takes the row.
                let siblings = tree.leaves.filter { $0.bounds.count > level && Array($0.bounds.prefix(level)) == Array(leaf.bounds.prefix(level)) }
                    .map { $0.bounds[level] }.filter { $0 != .default }
                var seen: [CatalogText.Bound] = []
                for sibling in siblings where !seen.contains(sibling) { seen.append(sibling) }
                let any = seen.map { condition($0, column, value) }.joined(separator: " OR ")
                conditions.append(seen.isEmpty ? "1" : "NOT coalesce(\(any), 0)")
            } else {
                conditions.append("coalesce(\(condition(bound, column, value)), 0)")
            }
        }
        return conditions.joined(separator: " AND ")
    }

    func condition(_ bound: CatalogText.Bound, _ column: Column, _ value: String) -> String {
        switch bound {
        case let .range(lower, upper):
            var parts: [String] = []
            if let lower { parts.append(comparison(value, ">=", lower, column)) }
            if let upper { parts.append(comparison(value, "<", upper, column)) }
            return parts.isEmpty ? "1" : "(" + parts.joined(separator: " AND ") + ")"
        case let .list(values):
            var parts: [String] = []
            let present = values.compactMap { $0 }
            if !present.isEmpty { parts.append("\(value) IN (" + present.map { constant($0, column) }.joined(separator: ", ") + ")") }
            if values.contains(where: { $0 == nil }) { parts.append("\(value) IS NULL") }
            return parts.isEmpty ? "0" : "(" + parts.joined(separator: " OR ") + ")"
        case let .hash(modulus, remainder):
            return "(coalesce(((\(value) % \(modulus)) + \(modulus)) % \(modulus), 0) = \(remainder))"
        case .default:
            return "1"
        }
    }

    /// A bound compared with a value: numbers as numbers; times through `julianday` in text columns
    /// (any ISO-8601 form SQLite reads) and as Unix seconds in numeric ones; other text as text.
    func comparison(_ value: String, _ op: String, _ bound: String, _ column: Column) -> String {
        if Double(bound) != nil { return "\(value) \(op) \(bound)" }
        if let seconds = PostgresTime.seconds(bound) {
            if column.hasNumberAffinity { return "\(value) \(op) \(Int64(seconds.rounded(.down)))" }
            let instant = RFC3339.string(milliseconds: Int64((seconds * 1000).rounded()))
            return "julianday(\(value)) \(op) julianday(\(Self.literal(instant)))"
        }
        return "\(value) \(op) \(Self.literal(bound))"
    }

    func constant(_ text: String, _ column: Column) -> String {
        column.hasNumberAffinity && Double(text) != nil ? text : Self.literal(text)
    }

    // MARK: Shadow and capture

    /// The partitions (the original's body and indexes each), the change table and the capture triggers.
    public var prepare: [String] {
        let body = tableSQL[tableSQL.firstIndex(of: "(")!...]
        var statements: [String] = []
        for leaf in leafNames {
            statements.append("CREATE TABLE IF NOT EXISTS \(Self.identifier(leaf)) \(body)")
            for index in indexes where index.created {
                statements.append("CREATE \(index.unique ? "UNIQUE " : "")INDEX IF NOT EXISTS \(Self.identifier("\(leaf)_\(index.name)")) ON \(Self.identifier(leaf)) (\(index.terms.joined(separator: ", ")))")
            }
        }
        statements.append("CREATE TABLE IF NOT EXISTS \(Self.identifier(changesName)) (seq INTEGER PRIMARY KEY, \(keyList))")
        let changes = Self.identifier(changesName)
        let newKey = key.map { "NEW.\(Self.identifier($0))" }.joined(separator: ", ")
        let oldKey = key.map { "OLD.\(Self.identifier($0))" }.joined(separator: ", ")
        statements += [
            "CREATE TRIGGER IF NOT EXISTS \(Self.identifier(captureTriggers[0])) AFTER INSERT ON \(source) BEGIN INSERT INTO \(changes) (\(keyList)) VALUES (\(newKey)); END",
            "CREATE TRIGGER IF NOT EXISTS \(Self.identifier(captureTriggers[1])) AFTER UPDATE ON \(source) BEGIN INSERT INTO \(changes) (\(keyList)) VALUES (\(newKey)); INSERT INTO \(changes) (\(keyList)) SELECT \(oldKey) WHERE \(keyRow("OLD")) IS NOT \(keyRow("NEW")); END",
            "CREATE TRIGGER IF NOT EXISTS \(Self.identifier(captureTriggers[2])) AFTER DELETE ON \(source) BEGIN INSERT INTO \(changes) (\(keyList)) VALUES (\(oldKey)); END",
        ]
        return statements
    }

    /// Every partition's rows as one relation.
    public var shadowRows: String {
        "(" + leafNames.map { "SELECT \(columnList) FROM \(Self.identifier($0))" }.joined(separator: " UNION ALL ") + ")"
    }

    /// The largest key copied so far (as text) and the partitions' rows.
    public var copiedThrough: (key: String, rows: String) {
        ("SELECT \(keyText) FROM \(shadowRows) ORDER BY \(orderByKeyDescending) LIMIT 1", "SELECT count(*) FROM \(shadowRows)")
    }

    // MARK: Copy

    /// The last key of the next batch (parameters: the key after which it starts, when `after`; then the offset).
    public func batchEnd(after: Bool) -> String {
        "SELECT \(keyText) FROM \(source)\(after ? " WHERE \(keyRow) > \(keyParameters)" : "") ORDER BY \(orderByKey) LIMIT 1 OFFSET ?"
    }

    /// The last key of all (when fewer rows than a batch are left).
    public func lastKey(after: Bool) -> String {
        "SELECT \(keyText) FROM \(source)\(after ? " WHERE \(keyRow) > \(keyParameters)" : "") ORDER BY \(orderByKeyDescending) LIMIT 1"
    }

    /// Copies the source's rows with keys in (after, through] into their partitions: one statement per
    /// partition (parameters: after's key when `after`, then through's key).
    public func copyRange(after: Bool) -> [String] {
        let range = (after ? "\(keyRow) > \(keyParameters) AND " : "") + "\(keyRow) <= \(keyParameters)"
        return tree.leaves.map { leaf in
            "INSERT INTO \(Self.identifier(leaf.name)) (\(columnList)) SELECT \(columnList) FROM \(source) AS s WHERE \(range) AND \(route(leaf, "s"))"
        }
    }

    // MARK: Replay

    /// Replays captured keys up to sequence `?`: for each, the partitions lose the key and get the
    /// source's current row, if any (idempotent; SQLite runs one writer at a time, so the source
    /// cannot change while this transaction holds the write lock).
    public func replay(from log: String, into leavesAndRoutes: [(table: String, route: String)], readingFrom origin: String, through: String) -> [String] {
        let keys = "SELECT \(keyList) FROM \(Self.identifier(log)) WHERE seq <= \(through)"
        var statements = leavesAndRoutes.map { "DELETE FROM \(Self.identifier($0.table)) WHERE \(keyRow) IN (\(keys))" }
        statements += leavesAndRoutes.map {
            "INSERT INTO \(Self.identifier($0.table)) (\(columnList)) SELECT \(columnList) FROM \(origin) AS s WHERE \(keyRow) IN (\(keys)) AND \($0.route)"
        }
        statements.append("DELETE FROM \(Self.identifier(log)) WHERE seq <= \(through)")
        return statements
    }

    public var intoShadow: [(table: String, route: String)] { tree.leaves.map { ($0.name, route($0, "s")) } }

    /// The last sequence number of the next `limit` captured changes (all when nil).
    public func replayEnd(limit: Int?) -> String {
        "SELECT max(seq) FROM (SELECT seq FROM \(Self.identifier(changesName)) ORDER BY seq\(limit.map { " LIMIT \($0)" } ?? ""))"
    }

    public func distinctKeys(through: String) -> String {
        "SELECT count(*) FROM (SELECT DISTINCT \(keyList) FROM \(Self.identifier(changesName)) WHERE seq <= \(through))"
    }

    public var pendingChanges: String { "SELECT count(*) FROM \(Self.identifier(changesName))" }

    // MARK: Verify

    /// Rows and a checksum per key range (`driftline_row_hash`, registered on the executor's own
    /// connection), leaving out keys whose changes are still to replay.
    public func checksums(of relation: String) -> String {
        """
        SELECT driftline_row_hash(\(keyList)) % 64 AS bucket, count(*), sum(driftline_row_hash(\(columnList))) FROM \(relation)
        WHERE \(keyRow) NOT IN (SELECT \(keyList) FROM \(Self.identifier(changesName))) GROUP BY bucket
        """
    }

    // MARK: Swap

    /// Under the write lock, after the last replay: the original becomes `<table>_before_<id>`, the view
    /// takes its name, the capture turns around.
    public var swap: [String] {
        var statements = captureTriggers.map { "DROP TRIGGER IF EXISTS \(Self.identifier($0))" }
        statements += [
            "DROP TABLE IF EXISTS \(Self.identifier(changesName))",
            "ALTER TABLE \(source) RENAME TO \(Self.identifier(beforeName))",
            "CREATE TABLE IF NOT EXISTS \(Self.identifier(backName)) (seq INTEGER PRIMARY KEY, \(keyList))",
        ]
        if allocatesKey {
            statements += ["CREATE TABLE IF NOT EXISTS \(Self.identifier(nextName)) (id INTEGER)", "DELETE FROM \(Self.identifier(nextName))",
                           "INSERT INTO \(Self.identifier(nextName)) VALUES (NULL)"]
        }
        statements.append("CREATE VIEW \(source) AS SELECT \(columnList) FROM " + leafNames.map(Self.identifier).joined(separator: " UNION ALL SELECT \(columnList) FROM "))
        return statements + viewTriggerStatements
    }

    /// The view's `INSTEAD OF` triggers: each write goes to the partition whose bounds hold the row,
    /// keeps the primary key unique across partitions, and logs its keys for a rollback while the
    /// old table exists.
    var viewTriggerStatements: [String] {
        let back = Self.identifier(backName)
        let keeping = "EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = \(Self.literal(beforeName)))"
        let next = Self.identifier(nextName)
        // An insert's left-out column takes its default (a view has none of its own); an update's
        // values are the row's.
        func value(_ column: Column, defaults: Bool) -> String {
            let raw = "NEW.\(Self.identifier(column.name))"
            if allocatesKey, column.name == key[0] { return "(SELECT id FROM \(next))" }
            guard defaults, let fallback = column.defaultValue else { return raw }
            return "coalesce(\(raw), \(fallback))"
        }
        func insertNew(checkingKey: String, defaults: Bool) -> [String] {
            // The row as the partitions will store it, for routing.
            let routed = "(SELECT " + columns.map { "\(value($0, defaults: defaults)) AS \(Self.identifier($0.name))" }.joined(separator: ", ") + ")"
            let newKey = key.map { k in value(columns.first { $0.name == k }!, defaults: defaults) }.joined(separator: ", ")
            let noPartition = tree.leaves.contains { $0.bounds.contains(.default) } ? [] :
                ["SELECT RAISE(ABORT, 'no partition of \(table) holds the row') WHERE NOT (SELECT " + tree.leaves.map { "(\(route($0, "r")))" }.joined(separator: " OR ") + " FROM \(routed) AS r);"]
            var body: [String] = []
            if allocatesKey {
                let maximum = "(SELECT max(m) FROM (" + leafNames.map { "SELECT max(\(Self.identifier(key[0]))) AS m FROM \(Self.identifier($0))" }.joined(separator: " UNION ALL ") + "))"
                body.append("UPDATE \(next) SET id = coalesce(NEW.\(Self.identifier(key[0])), coalesce(\(maximum), 0) + 1);")
            }
            body.append("SELECT RAISE(ABORT, 'UNIQUE constraint failed: \(table).\(key.joined(separator: ", \(table)."))') WHERE \(checkingKey)EXISTS (SELECT 1 FROM \(source) WHERE \(keyRow) = (\(newKey)));")
            body += noPartition
            body += tree.leaves.map { leaf in
                "INSERT INTO \(Self.identifier(leaf.name)) (\(columnList)) SELECT \(columnList("r")) FROM \(routed) AS r WHERE \(route(leaf, "r"));"
            }
            body.append("INSERT INTO \(back) (\(keyList)) SELECT \(newKey) WHERE \(keeping);")
            return body
        }
        let deleteOld = leafNames.map { "DELETE FROM \(Self.identifier($0)) WHERE \(keyRow) = \(keyRow("OLD"));" }
            + ["INSERT INTO \(back) (\(keyList)) SELECT \(key.map { "OLD.\(Self.identifier($0))" }.joined(separator: ", ")) WHERE \(keeping);"]
        return [
            "CREATE TRIGGER \(Self.identifier(viewTriggers[0])) INSTEAD OF INSERT ON \(source) BEGIN \(insertNew(checkingKey: "", defaults: true).joined(separator: " ")) END",
            "CREATE TRIGGER \(Self.identifier(viewTriggers[1])) INSTEAD OF UPDATE ON \(source) BEGIN \((deleteOld + insertNew(checkingKey: "\(keyRow("NEW")) IS NOT \(keyRow("OLD")) AND ", defaults: false)).joined(separator: " ")) END",
            "CREATE TRIGGER \(Self.identifier(viewTriggers[2])) INSTEAD OF DELETE ON \(source) BEGIN \(deleteOld.joined(separator: " ")) END",
        ]
    }

    // MARK: After the swap

    /// Puts the old table back after replaying into it every key written through the view since the swap.
    public var rollback: [String] {
        replay(from: backName, into: [(beforeName, "1")], readingFrom: source, through: "(SELECT coalesce(max(seq), 0) FROM \(Self.identifier(backName)))")
        + ["DROP VIEW IF EXISTS \(source)"]
        + leafNames.map { "DROP TABLE IF EXISTS \(Self.identifier($0))" }
        + ["DROP TABLE IF EXISTS \(Self.identifier(backName))", "DROP TABLE IF EXISTS \(Self.identifier(nextName))",
           "ALTER TABLE \(Self.identifier(beforeName)) RENAME TO \(source)"]
    }

    /// After the retention: the old table goes, and with it the view's logging for a rollback.
    public var retire: [String] {
        ["DROP TABLE IF EXISTS \(Self.identifier(beforeName))", "DELETE FROM \(Self.identifier(backName))"]
    }

    /// After a failure before the swap: the capture, the change table and the partitions go.
    public var cleanUp: [String] {
        captureTriggers.map { "DROP TRIGGER IF EXISTS \(Self.identifier($0))" }
        + ["DROP TABLE IF EXISTS \(Self.identifier(changesName))"]
        + leafNames.map { "DROP TABLE IF EXISTS \(Self.identifier($0))" }
    }
}
