import DriftlinePlanning

/// The executor's SQL for PostgreSQL, as values (tests assert the exact statements without a
/// database). Names: the shadow table is the plan's `<table>_repartitioned`; captured changes go to
/// `driftline_changes_<table>` (op, key) through the trigger `driftline_capture`; after the swap the
/// old table is `<table>_before_<id>` and writes to the new one are captured back into
/// `driftline_back_<table>` until the retention ends.
public struct PostgresDialect: Sendable {
    public struct KeyColumn: Equatable, Sendable {
        public var name: String
        /// `format_type` of the column (`bigint`, `text`, `timestamp with time zone`).
        public var type: String
        public init(name: String, type: String) { self.name = name; self.type = type }
    }

    public let schema: String
    public let table: String
    public let key: [KeyColumn]
    public let commandId: String

    public init(schema: String, table: String, key: [KeyColumn], commandId: String) {
        self.schema = schema; self.table = table; self.key = key; self.commandId = commandId
    }

    static func identifier(_ name: String) -> String { PartitionDDL.identifier(name) }
    func qualified(_ name: String) -> String { "\(Self.identifier(schema)).\(Self.identifier(name))" }

    public var source: String { qualified(table) }
    public var shadowName: String { "\(table)_repartitioned" }
    public var shadow: String { qualified(shadowName) }
    public var changesName: String { Self.cut("driftline_changes_\(table)") }
    public var changes: String { qualified(changesName) }
    /// The command's short id in names: several jobs' leftovers never share a name.
    var tag: String { String(commandId.filter { $0.isLetter || $0.isNumber }.suffix(8).lowercased()) }
    public var backName: String { Self.cut("driftline_back_\(tag)_\(table)") }
    public var back: String { qualified(backName) }
    public var beforeName: String { Self.cut("\(table)_before_\(tag)") }
    public var before: String { qualified(beforeName) }
    var captureFunction: String { qualified(Self.cut("driftline_capture_\(table)")) }
    var backFunction: String { qualified(Self.cut("driftline_back_capture_\(tag)_\(table)")) }
    public static let captureTrigger = "driftline_capture"
    public var backTrigger: String { "driftline_back_capture_\(tag)" }

    /// PostgreSQL truncates identifiers at 63 bytes; cut them ourselves so the names are known.
    static func cut(_ name: String) -> String {
        var result = ""
        for character in name where result.utf8.count + String(character).utf8.count <= 63 { result.append(character) }
        return result
    }

    var keyList: String { key.map { Self.identifier($0.name) }.joined(separator: ", ") }
    func keyList(_ alias: String) -> String { key.map { "\(alias).\(Self.identifier($0.name))" }.joined(separator: ", ") }
    var keyDefinitions: String { key.map { "\(Self.identifier($0.name)) \($0.type)" }.joined(separator: ", ") }
    /// `($1::bigint, $2::text)`: a key given as text parameters.
    var keyParameters: String { keyParameters(from: 1) }
    func keyParameters(from first: Int) -> String { "(" + key.enumerated().map { "$\($0.offset + first)::\($0.element.type)" }.joined(separator: ", ") + ")" }
    func keyText(_ alias: String) -> String { "ARRAY[" + key.map { "\(alias).\(Self.identifier($0.name))::text" }.joined(separator: ", ") + "]" }
    var orderByKey: String { key.map { Self.identifier($0.name) }.joined(separator: ", ") }
    func orderByKeyDescending(_ alias: String) -> String { key.map { "\(alias).\(Self.identifier($0.name)) DESC" }.joined(separator: ", ") }

    // MARK: Capture

    /// A change table: (op, key) of writes, in no order.
    func changeLog(_ log: String) -> String { "CREATE TABLE IF NOT EXISTS \(log) (op \"char\" NOT NULL, \(keyDefinitions))" }

    /// The forward change log alone (the logical capture fills it from the slot).
    public var createChangeLog: String { changeLog(changes) }

    /// A change table and a trigger that logs (op, key) of every write to `target` into it.
    func capture(into log: String, function: String, trigger: String, on target: String) -> [String] {
        let newKeys = key.map { "NEW.\(Self.identifier($0.name))" }.joined(separator: ", ")
        let oldKeys = key.map { "OLD.\(Self.identifier($0.name))" }.joined(separator: ", ")
        let keyChanged = key.map { "NEW.\(Self.identifier($0.name)) IS DISTINCT FROM OLD.\(Self.identifier($0.name))" }.joined(separator: " OR ")
        return [
            // A heap with no sequence and no index: the trigger's insert is all a writer pays for
            // (a bigserial key cost every captured write a nextval and a B-tree insert). Replay needs
            // no order (see `replay`).
            changeLog(log),
            """
            CREATE OR REPLACE FUNCTION \(function)() RETURNS trigger LANGUAGE plpgsql AS $driftline$
            BEGIN
              IF TG_OP = 'DELETE' THEN
                INSERT INTO \(log) (op, \(keyList)) VALUES ('D', \(oldKeys));
              ELSE
                INSERT INTO \(log) (op, \(keyList)) VALUES (substr(TG_OP, 1, 1), \(newKeys));
                IF TG_OP = 'UPDATE' AND (\(keyChanged)) THEN
                  INSERT INTO \(log) (op, \(keyList)) VALUES ('D', \(oldKeys));
                END IF;
              END IF;
              RETURN NULL;
            END
            $driftline$
            """,
            "CREATE OR REPLACE TRIGGER \(trigger) AFTER INSERT OR UPDATE OR DELETE ON \(target) FOR EACH ROW EXECUTE FUNCTION \(function)()",
        ]
    }

    /// A transaction-level advisory lock per table: executors validating or preparing the same
    /// table take turns (their DDL would race on the same names).
    public var tableLock: String { "SELECT pg_advisory_xact_lock(hashtext('driftline:' || \(Self.literal(schema + "." + table))))" }

    public static func literal(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    /// Capture of writes to the original while it is copied.
    public var prepareCapture: [String] {
        capture(into: changes, function: captureFunction, trigger: Self.captureTrigger, on: source)
    }

    // MARK: Copy

    /// The last key of the next batch and its row count: the `limit`-th key after `$1…` (from the
    /// start when not `after`) and `limit`, or when fewer are left the last key of all and how many
    /// there are; NULL and 0 when none are. `bounded`: only keys up to the next parameters' key (the
    /// largest when the capture began: rows inserted since are in the change log, and chasing them
    /// batch by batch behind a busy writer would never end). Index-only walks. Run in the insert's
    /// snapshot, the count is the insert's (so the insert need not return its rows to be counted).
    public func batchEnd(after: Bool, limit: Int, bounded: Bool = false) -> String {
        var conditions: [String] = []
        if after { conditions.append("(\(keyList)) > \(keyParameters)") }
        if bounded { conditions.append("(\(keyList)) <= \(keyParameters(from: after ? key.count + 1 : 1))") }
        let range = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        // MATERIALIZED: the walk to the `limit`-th key runs once. As a plain subquery PostgreSQL
        // pulled it up and walked it for each of the two references (the copy ran at 0.5× raw).
        // The key becomes text only above the OFFSET: projected in the scan, every skipped row was
        // formatted too (28 ms of a 50k-row batch's walk, against 5 ms for the walk itself).
        return """
            WITH n AS MATERIALIZED (SELECT (SELECT \(keyText("w")) FROM (SELECT \(keyList) FROM \(source) s\(range) ORDER BY \(orderByKey) OFFSET \(limit - 1) LIMIT 1) w) AS key)
            SELECT coalesce(n.key, (SELECT \(keyText("s")) FROM \(source) s\(range) ORDER BY \(orderByKeyDescending("s")) LIMIT 1)),
                   CASE WHEN n.key IS NULL THEN (SELECT count(*)::int8 FROM \(source) s\(range)) ELSE \(limit)::int8 END
            FROM n
            """
    }

    /// The original's largest key (NULL when it is empty): where the copy stops.
    public var largestKey: String {
        "SELECT (SELECT \(keyText("s")) FROM \(source) s ORDER BY \(orderByKeyDescending("s")) LIMIT 1)"
    }

    /// Copies the rows with keys in (after, through] (parameters: after's key when `after`, then
    /// through's). The range is known before the insert, so PostgreSQL reads it in heap order (a
    /// bitmap scan) instead of walking the index row by row and sorting what it returned. A plain
    /// insert: `RETURNING` into a count cost the copy a few percent. A resumed copy starts after the
    /// largest key in the shadow, so no range is ever inserted twice; were one, the shadow's primary
    /// key would fail the job loudly.
    public func copyRange(after: Bool) -> String {
        let lower = after ? "(\(keyList)) > \(keyParameters) AND " : ""
        return "INSERT INTO \(shadow) SELECT * FROM \(source) WHERE \(lower)(\(keyList)) <= \(keyParameters(from: after ? key.count + 1 : 1))"
    }

    /// The largest key already copied and how many rows the shadow holds (where a resumed copy continues).
    public var copiedThrough: String {
        "SELECT (SELECT \(keyText("s")) FROM \(shadow) s ORDER BY \(orderByKeyDescending("s")) LIMIT 1), (SELECT count(*)::int8 FROM \(shadow))"
    }

    // MARK: Replay

    /// Replays up to `limit` captured changes (all when nil) from `log` into `target` by key, in one
    /// transaction: take visible change rows (a row whose transaction has not committed is not
    /// visible and stays for the next round, so out-of-order commits are never skipped), then for
    /// each key the target gets `from`'s current row or loses the key. Idempotent, and indifferent to
    /// the order changes are taken in: the row copied is read after the log rows were taken, so it is
    /// at least as new as any change they record (later ones stay logged for the next round).
    public struct Replay: Equatable, Sendable {
        /// The keys of this round, into a temporary table.
        public var collect: [String]
        public var count: String
        /// Statistics for the temporary table, so the planner reaches the target's rows by index.
        public var analyze: String
        public var apply: [String]
        /// `apply`'s delete for one key `changed` of a loop over the key table: a handful of keys looked up
        /// one by one (pruned to their partition, by index) beats one join that PostgreSQL may plan
        /// as a scan of every partition (5 ms for 16 keys under the swap's lock).
        public var deleteOne: String
    }

    func replay(from: String, into target: String, log: String, limit: Int?) -> Replay {
        // By tuple id: a TID scan of just the rows taken, where the log has no index to find them by.
        let taken = limit.map { "WHERE l.ctid = ANY (ARRAY(SELECT ctid FROM \(log) LIMIT \($0)))" } ?? ""
        return Replay(
            collect: [
                "CREATE TEMP TABLE IF NOT EXISTS driftline_replay_keys (\(keyDefinitions)) ON COMMIT DELETE ROWS",
                "WITH done AS (DELETE FROM \(log) l\(taken.isEmpty ? "" : " " + taken) RETURNING \(keyList(Self.identifier("l")))) INSERT INTO driftline_replay_keys SELECT DISTINCT * FROM done",
            ],
            count: "SELECT count(*)::int8 FROM driftline_replay_keys",
            analyze: "ANALYZE driftline_replay_keys",
            apply: [
                "DELETE FROM \(target) t USING driftline_replay_keys k WHERE (\(keyList("t"))) = (\(keyList("k")))",
                "INSERT INTO \(target) SELECT s.* FROM \(from) s JOIN driftline_replay_keys k ON (\(keyList("s"))) = (\(keyList("k")))",
            ],
            deleteOne: "DELETE FROM \(target) t WHERE (\(keyList("t"))) = (\(keyList("changed")))")
    }

    public func replayIntoShadow(limit: Int?) -> Replay { replay(from: source, into: shadow, log: changes, limit: limit) }

    /// Rollback's replay: writes to the new table since the swap, into the kept old one.
    public var replayBack: Replay { replay(from: source, into: before, log: back, limit: nil) }

    public var pendingChanges: String { "SELECT count(*)::int8 FROM \(changes)" }

    // MARK: Verify

    /// How verification hashes a row: `hash_record` (the column types' own hash functions, about
    /// twice as fast) where every column type has one, else the row's text (json, point, xml, …).
    public enum RowHash: Sendable, Equatable { case record, text }

    /// Fails (on the first row) when a column type has no hash function: verification then hashes
    /// text. An empty table cannot tell, and needs no hashing either.
    public var recordHashProbe: String { "SELECT hash_record(t) FROM \(source) t LIMIT 1" }

    /// Rows and a checksum per key range of `relation`, leaving out keys with captured changes not
    /// yet replayed; run for the original and the shadow in one REPEATABLE READ snapshot, the two
    /// must agree exactly.
    public func checksums(of relation: String, buckets: Int, rowHash: RowHash) -> String {
        let bucket: String
        if key.count == 1, ["bigint", "integer", "smallint"].contains(key[0].type) {
            // Key ranges of equal width over the original's keys.
            let name = Self.identifier(key[0].name)
            bucket = "width_bucket(t.\(name), (SELECT min(\(name)) FROM \(source)), (SELECT max(\(name)) + 1 FROM \(source)), \(buckets))"
        } else {
            bucket = "abs(hashtext((\(keyList("t")))::text)) % \(buckets)"
        }
        return """
            SELECT \(bucket)::int8 AS bucket, count(*)::int8, coalesce(sum(\(rowHash == .record ? "hash_record(t)" : "hashtext(t::text)")::int8), 0)::int8 FROM \(relation) t
            WHERE NOT EXISTS (SELECT 1 FROM \(changes) c WHERE (\(keyList("c"))) = (\(keyList("t")))) GROUP BY 1 ORDER BY 1
            """
    }

    // MARK: Swap

    /// Before the swap's lock: the backward capture, already on the shadow (the trigger goes with it
    /// when it takes the table's name). Until the swap only the replay writes to the shadow; the keys
    /// it logs meanwhile are harmless (a rollback copies their current rows back). Creating the
    /// trigger on every partition inside the lock held it several milliseconds longer.
    public var swapPreparation: [String] {
        capture(into: back, function: backFunction, trigger: backTrigger, on: shadow)
    }

    /// Inside the swap transaction, after the lock and the last changes (`replayIntoShadow(limit: nil)`):
    /// only the renames, so the lock is held briefly.
    public var swap: [String] {
        [
            // The new table takes the original's comment (which also clears the shadow's tag).
            "EXECUTE format('COMMENT ON TABLE %s IS %L', \(Self.literal(shadow)), obj_description(to_regclass(\(Self.literal(PostgresDialect.path(schema, table)))), 'pg_class'))",
            "ALTER TABLE \(source) RENAME TO \(Self.identifier(beforeName))",
            "ALTER TABLE \(shadow) RENAME TO \(Self.identifier(table))",
        ]
    }

    /// After the swap committed: the forward capture goes (writers reach the new table by name now,
    /// so nothing fires it any more). Idempotent: a resumed job runs it again.
    public var afterSwap: [String] {
        [
            "DROP TRIGGER IF EXISTS \(Self.captureTrigger) ON \(before)",
            "DROP FUNCTION IF EXISTS \(captureFunction)()",
            "DROP TABLE IF EXISTS \(changes)",
        ]
    }

    /// The locked part as one statement (one round trip while writers wait): lock, the last changes,
    /// `statements`, and the moment the lock was granted kept in `driftline.locked_at` for the caller
    /// to measure how long it held it. A lock not granted within `lock_timeout` raises 55P03.
    /// `fewKeys`: rounds just before the lock left only a handful of changes.
    public func lockedBlock(lock relation: String, replay: Replay, fewKeys: Bool, then statements: [String]) -> String {
        var body = ["LOCK TABLE \(relation) IN ACCESS EXCLUSIVE MODE;",
                    "PERFORM set_config('driftline.locked_at', clock_timestamp()::text, true);"]
        body += replay.collect.map { $0 + ";" }
        body.append("IF EXISTS (SELECT 1 FROM driftline_replay_keys) THEN")
        body.append("  \(replay.analyze);")
        if fewKeys {
            body.append("  FOR changed IN SELECT * FROM driftline_replay_keys LOOP \(replay.deleteOne); END LOOP;")
            body += replay.apply.dropFirst().map { "  " + $0 + ";" }
        } else {
            body += replay.apply.map { "  " + $0 + ";" }
        }
        body.append("END IF;")
        body += statements.map { $0 + ";" }
        return "DO $driftline_locked$\nDECLARE changed record;\nBEGIN\n" + body.map { "  " + $0 }.joined(separator: "\n") + "\nEND\n$driftline_locked$"
    }

    /// Milliseconds since the lock was granted (inside the same transaction, after `lockedBlock`).
    public static let heldMilliseconds = "SELECT (extract(epoch FROM clock_timestamp() - current_setting('driftline.locked_at')::timestamptz) * 1000)::float8"

    /// A failed job's capture trigger on the original (run under the original's lock).
    public var dropCaptureTrigger: String { "DROP TRIGGER IF EXISTS \(Self.captureTrigger) ON \(source)" }

    /// Whether the original has the capture trigger.
    public var hasCaptureTrigger: String {
        "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(\(Self.literal(PostgresDialect.path(schema, table)))) AND tgname = \(Self.literal(Self.captureTrigger)))"
    }

    /// The capture's function and change log, once no trigger fires them.
    public var dropCaptureLog: [String] {
        [
            "DROP FUNCTION IF EXISTS \(captureFunction)()",
            "DROP TABLE IF EXISTS \(changes)",
        ]
    }

    /// The rest of what a failed job left, which nothing but the job writes: the shadow and the
    /// backward capture prepared for a swap that did not happen (the original is untouched).
    public var cleanUp: [String] {
        [
            "DROP TABLE IF EXISTS \(shadow) CASCADE",
            "DROP FUNCTION IF EXISTS \(backFunction)() CASCADE",
            "DROP TABLE IF EXISTS \(back)",
        ]
    }

    /// The shadow is marked with the command that made it: a shadow another command left (a job
    /// that failed and could not clean up) is dropped, never adopted as this one's.
    public var tagShadow: String { "COMMENT ON TABLE \(shadow) IS \(Self.literal("driftline:" + commandId))" }
    public var shadowTag: String { "SELECT obj_description(to_regclass(\(Self.literal(PostgresDialect.path(schema, shadowName)))), 'pg_class')" }
    public var expectedShadowTag: String { "driftline:" + commandId }

    static func path(_ schema: String, _ name: String) -> String { "\(identifier(schema)).\(identifier(name))" }

    // MARK: Rollback

    /// Puts the old table back with every row written since the swap: after `replayBack` (the
    /// captured writes from the new table into the old one), swap the names back, drop the new table and the capture.
    public var rollback: [String] {
        [
            "DROP TRIGGER IF EXISTS \(backTrigger) ON \(source)",
            "DROP FUNCTION IF EXISTS \(backFunction)()",
            "DROP TABLE IF EXISTS \(back)",
            "ALTER TABLE \(source) RENAME TO \(Self.identifier(Self.cut("\(table)_rolled_back")))",
            "ALTER TABLE \(before) RENAME TO \(Self.identifier(table))",
        ]
    }

    public var dropRolledBack: String { "DROP TABLE IF EXISTS \(qualified(Self.cut("\(table)_rolled_back"))) CASCADE" }

    /// After the retention: the backward capture goes (run under the table's lock: its trigger is
    /// on the live table), then `retireTables`.
    public var retireCapture: [String] {
        [
            "DROP TRIGGER IF EXISTS \(backTrigger) ON \(source)",
            "DROP FUNCTION IF EXISTS \(backFunction)()",
        ]
    }

    /// The backward log and the old table, once nothing writes them.
    public var retireTables: [String] {
        [
            "DROP TABLE IF EXISTS \(back)",
            "DROP TABLE IF EXISTS \(before) CASCADE",
        ]
    }
}
