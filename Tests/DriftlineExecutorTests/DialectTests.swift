import DriftlineExecutor
import DriftlinePlanning
import Testing

/// The executor's SQL as values: what runs is asserted here exactly, without a database.
@Suite struct PostgresDialectTests {
    let dialect = PostgresDialect(schema: "public", table: "events",
                                  key: [.init(name: "id", type: "bigint"), .init(name: "ts", type: "timestamp with time zone")], commandId: "cmd-42")

    @Test func namesAreStableAndTaggedByCommand() {
        #expect(dialect.shadow == "public.events_repartitioned")
        #expect(dialect.changes == "public.driftline_changes_events")
        #expect(dialect.before == "public.events_before_cmd42")
        #expect(dialect.back == "public.driftline_back_cmd42_events")
    }

    @Test func copyGoesInKeyRanges() {
        #expect(dialect.batchEnd(after: true, limit: 500) == """
            WITH n AS MATERIALIZED (SELECT (SELECT ARRAY[w.id::text, w.ts::text] FROM (SELECT id, ts FROM public.events s WHERE (id, ts) > ($1::bigint, $2::timestamp with time zone) ORDER BY id, ts OFFSET 499 LIMIT 1) w) AS key)
            SELECT coalesce(n.key, (SELECT ARRAY[s.id::text, s.ts::text] FROM public.events s WHERE (id, ts) > ($1::bigint, $2::timestamp with time zone) ORDER BY s.id DESC, s.ts DESC LIMIT 1)),
                   CASE WHEN n.key IS NULL THEN (SELECT count(*)::int8 FROM public.events s WHERE (id, ts) > ($1::bigint, $2::timestamp with time zone)) ELSE 500::int8 END
            FROM n
            """)
        #expect(dialect.batchEnd(after: true, limit: 500, bounded: true).contains("WHERE (id, ts) > ($1::bigint, $2::timestamp with time zone) AND (id, ts) <= ($3::bigint, $4::timestamp with time zone) ORDER BY id, ts OFFSET 499"))
        #expect(dialect.batchEnd(after: false, limit: 500, bounded: true).contains("WHERE (id, ts) <= ($1::bigint, $2::timestamp with time zone) ORDER BY id, ts OFFSET 499"))
        #expect(dialect.copyRange(after: true) == "INSERT INTO public.events_repartitioned SELECT * FROM public.events WHERE (id, ts) > ($1::bigint, $2::timestamp with time zone) AND (id, ts) <= ($3::bigint, $4::timestamp with time zone)")
        #expect(dialect.copyRange(after: false) == "INSERT INTO public.events_repartitioned SELECT * FROM public.events WHERE (id, ts) <= ($1::bigint, $2::timestamp with time zone)")
    }

    @Test func replayTakesVisibleChangesByKey() {
        let replay = dialect.replayIntoShadow(limit: 100)
        #expect(replay.collect[1] == "WITH done AS (DELETE FROM public.driftline_changes_events l WHERE l.ctid = ANY (ARRAY(SELECT ctid FROM public.driftline_changes_events LIMIT 100)) RETURNING l.id, l.ts) INSERT INTO driftline_replay_keys SELECT DISTINCT * FROM done")
        // The log is a bare heap: a writer pays for one insert, no sequence and no index.
        #expect(dialect.prepareCapture[0] == "CREATE TABLE IF NOT EXISTS public.driftline_changes_events (op \"char\" NOT NULL, id bigint, ts timestamp with time zone)")
        #expect(replay.apply == [
            "DELETE FROM public.events_repartitioned t USING driftline_replay_keys k WHERE (t.id, t.ts) = (k.id, k.ts)",
            "INSERT INTO public.events_repartitioned SELECT s.* FROM public.events s JOIN driftline_replay_keys k ON (s.id, s.ts) = (k.id, k.ts)",
        ])
        #expect(!dialect.replayIntoShadow(limit: nil).collect[1].contains("LIMIT"))
    }

    @Test func theLockedSwapIsOneStatement() {
        let block = dialect.lockedBlock(lock: dialect.source, replay: dialect.replayIntoShadow(limit: nil), fewKeys: true, then: dialect.swap)
        let lines = block.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.first == "DO $driftline_locked$" && lines.last == "$driftline_locked$")
        #expect(lines[3] == "LOCK TABLE public.events IN ACCESS EXCLUSIVE MODE;")
        #expect(lines.contains("FOR changed IN SELECT * FROM driftline_replay_keys LOOP DELETE FROM public.events_repartitioned t WHERE (t.id, t.ts) = (changed.id, changed.ts); END LOOP;"))
        #expect(lines.contains("ALTER TABLE public.events RENAME TO events_before_cmd42;"))
        #expect(lines.contains("ALTER TABLE public.events_repartitioned RENAME TO events;"))
        // Only the renames under the lock: the backward capture is on the shadow before it, the
        // forward capture goes after the commit.
        #expect(!lines.contains { $0.contains("TRIGGER") || $0.contains("DROP") })
        #expect(dialect.swapPreparation.last?.hasPrefix("CREATE OR REPLACE TRIGGER driftline_back_capture_cmd42 AFTER INSERT OR UPDATE OR DELETE ON public.events_repartitioned") == true)
        #expect(dialect.afterSwap == ["DROP TRIGGER IF EXISTS driftline_capture ON public.events_before_cmd42", "DROP FUNCTION IF EXISTS public.driftline_capture_events()",
                                      "DROP TABLE IF EXISTS public.driftline_changes_events"])
        // The renames come after the last replay.
        let replayLine = lines.firstIndex { $0.hasPrefix("FOR changed IN SELECT") } ?? .max
        let renameLine = lines.firstIndex { $0.hasPrefix("ALTER TABLE public.events RENAME") } ?? -1
        #expect(replayLine < renameLine)
    }

    @Test func verificationLeavesOutPendingKeys() {
        let sql = dialect.checksums(of: dialect.shadow, buckets: 64, rowHash: .text)
        #expect(sql.contains("WHERE NOT EXISTS (SELECT 1 FROM public.driftline_changes_events c WHERE (c.id, c.ts) = (t.id, t.ts))"))
        #expect(sql.contains("abs(hashtext((t.id, t.ts)::text)) % 64"))
        #expect(sql.contains("sum(hashtext(t::text)::int8)"), "rows hash as text where a column type does not hash")
        #expect(dialect.checksums(of: dialect.shadow, buckets: 64, rowHash: .record).contains("sum(hash_record(t)::int8)"))
        let single = PostgresDialect(schema: "public", table: "events", key: [.init(name: "id", type: "bigint")], commandId: "x")
        #expect(single.checksums(of: single.source, buckets: 8, rowHash: .text).contains("width_bucket(t.id, (SELECT min(id) FROM public.events), (SELECT max(id) + 1 FROM public.events), 8)"))
    }
}

/// The SQLite target's layout comes from the plan's PostgreSQL DDL, read by PostgreSQL's parser;
/// its routing is plain SQL over the row.
@Suite struct SQLiteDialectTests {
    static let ddl = [
        "CREATE TABLE main.events_repartitioned (LIKE main.events INCLUDING ALL) PARTITION BY RANGE (ts);",
        "CREATE TABLE main.events_repartitioned_p_min PARTITION OF main.events_repartitioned FOR VALUES FROM (MINVALUE) TO ('2026-01-02 00:00:00+00') PARTITION BY HASH (user_id);",
        "CREATE TABLE main.events_repartitioned_p_min_h0 PARTITION OF main.events_repartitioned_p_min FOR VALUES WITH (MODULUS 2, REMAINDER 0);",
        "CREATE TABLE main.events_repartitioned_p_min_h1 PARTITION OF main.events_repartitioned_p_min FOR VALUES WITH (MODULUS 2, REMAINDER 1);",
        "CREATE TABLE main.events_repartitioned_rest PARTITION OF main.events_repartitioned DEFAULT PARTITION BY LIST (category);",
        "CREATE TABLE main.events_repartitioned_rest_a PARTITION OF main.events_repartitioned_rest FOR VALUES IN ('a', NULL);",
        "CREATE TABLE main.events_repartitioned_rest_other PARTITION OF main.events_repartitioned_rest DEFAULT;",
    ]

    @Test func theTreeIsReadFromTheDDL() throws {
        let tree = try PartitionTree(ddl: Self.ddl)
        #expect(tree.parent == "events_repartitioned")
        #expect(tree.leaves.map(\.name) == ["events_repartitioned_p_min_h0", "events_repartitioned_p_min_h1", "events_repartitioned_rest_a", "events_repartitioned_rest_other"])
        #expect(tree.leaves[1].bounds == [.range(lower: nil, upper: "2026-01-02 00:00:00+00"), .hash(modulus: 2, remainder: 1)])
        #expect(tree.leaves[2].bounds == [.default, .list(["a", nil])])
        #expect(throws: PartitionTree.Invalid.self) { try PartitionTree(ddl: ["CREATE TABLE t (id int)"]) }
        #expect(throws: PartitionTree.Invalid.self) { try PartitionTree(ddl: ["DROP TABLE events"]) }
    }

    @Test func routesArePlainSQLOverTheRow() throws {
        let tree = try PartitionTree(ddl: Self.ddl)
        let dialect = SQLiteDialect(table: "events", columns: [.init(name: "id", type: "INTEGER", defaultValue: nil), .init(name: "ts", type: "TEXT", defaultValue: nil),
                                                               .init(name: "user_id", type: "INTEGER", defaultValue: nil), .init(name: "category", type: "TEXT", defaultValue: "'a'")],
                                    key: ["id"], commandId: "cmd-42", tree: tree, tableSQL: "CREATE TABLE events (id INTEGER PRIMARY KEY, ts TEXT, user_id INTEGER, category TEXT DEFAULT 'a')", indexes: [])
        #expect(dialect.problem == nil)
        #expect(dialect.route(tree.leaves[1], "r") == "coalesce((julianday(r.\"ts\") < julianday('2026-01-02T00:00:00.000Z')), 0) AND coalesce((coalesce(((r.\"user_id\" % 2) + 2) % 2, 0) = 1), 0)")
        // The default takes what no sibling at its level takes, NULLs included.
        #expect(dialect.route(tree.leaves[3], "r") == "NOT coalesce((julianday(r.\"ts\") < julianday('2026-01-02T00:00:00.000Z')), 0) AND NOT coalesce((r.\"category\" IN ('a') OR r.\"category\" IS NULL), 0)")
        #expect(dialect.beforeName == "events_before_cmd42" && dialect.backName == "driftline_back_cmd42_events")
        #expect(dialect.allocatesKey)
        let onText = SQLiteDialect(table: "events", columns: dialect.columns, key: ["id"], commandId: "x",
                                   tree: try PartitionTree(ddl: PartitionDDL.statements(for: PartitionLayout(levels: [.hash(column: "category", type: .text, modulus: 4)]), schema: "main", table: "events")),
                                   tableSQL: dialect.tableSQL, indexes: [.init(name: "u", unique: true, terms: ["\"user_id\""], created: true)])
        #expect(onText.problem?.contains("needs an integer column") == true)
    }
}
