import DriftlinePlanning
import DriftlineSQL
import Testing

@Suite struct PredicateExtractionTests {
    func scan(_ sql: String, table: String = "events") throws -> TableScan {
        let shape = try PredicateExtractor.shape(of: sql)
        return try #require(shape.scans.first { $0.table == table }, "no scan of \(table) in \(shape)")
    }

    @Test func everyKindOfRestriction() throws {
        let sql = """
            SELECT count(*) FROM events e WHERE e.ts >= '2026-01-01' AND e.ts < $1 AND e.kind IN ('a', 'b')
            AND e.note LIKE 'ab%' AND e.x IS NULL AND e.id BETWEEN 1 AND 5 AND e.v = 3.5 AND e.t = -2 AND e.z = 0
            AND e.w <> 4 AND e.y IS NOT NULL AND e.u = ANY($2)
            """
        let events = try scan(sql).predicates
        #expect(events["ts"] == [.lower(.literal(Literal("2026-01-01", kind: .string)), inclusive: true), .upper(.parameter(1), inclusive: false)])
        #expect(events["kind"] == [.inList([.literal(Literal("a", kind: .string)), .literal(Literal("b", kind: .string))])])
        #expect(events["note"] == [.prefix("ab")])
        #expect(events["x"] == [.isNull])
        #expect(events["id"] == [.lower(.literal(Literal("1", kind: .integer)), inclusive: true), .upper(.literal(Literal("5", kind: .integer)), inclusive: true)])
        #expect(events["v"] == [.equal(.literal(Literal("3.5", kind: .float)))])
        // libpg_query 15-4.0 prints no value for these; they are read back from the text.
        #expect(events["t"] == [.equal(.literal(Literal("-2", kind: .integer)))])
        #expect(events["z"] == [.equal(.literal(Literal("0", kind: .integer)))])
        #expect(events["w"] == [.notEqual])
        #expect(events["y"] == [.isNotNull])
        #expect(events["u"] == [.inList([.parameter(2)])])
    }

    @Test func reversedComparisonsCastsAndOrOfEqualities() throws {
        let events = try scan("SELECT 1 FROM events WHERE '2026-02-01'::timestamptz > ts AND (kind = 'a' OR kind = 'b' OR kind IN ('c')) AND (a = 1 OR b = 2)").predicates
        #expect(events["ts"] == [.upper(.literal(Literal("2026-02-01", kind: .string, cast: "timestamptz")), inclusive: false)])
        #expect(events["kind"] == [.inList(["a", "b", "c"].map { .literal(Literal($0, kind: .string)) })])
        #expect(events["a"] == nil && events["b"] == nil)
        let shape = try PredicateExtractor.shape(of: "SELECT 1 FROM events WHERE a = 1 OR b = 2")
        #expect(shape.unreducedConditions == 1)
    }

    @Test func joinsSubqueriesAndUnqualifiedColumns() throws {
        let sql = """
            SELECT u.name, count(*) FROM events e JOIN users u ON u.id = e.user_id
            WHERE e.ts >= '2026-01-01' AND u.country = 'NZ' AND status = 'open'
            AND e.id IN (SELECT event_id FROM flags WHERE flag = 'x')
            GROUP BY u.name ORDER BY e.ts
            """
        let shape = try PredicateExtractor.shape(of: sql)
        #expect(Set(shape.scans.map(\.table)) == ["events", "users", "flags"])
        #expect(shape.joinKeys.sorted() == ["events.user_id", "users.id"])
        #expect(shape.groupBy == ["users.name"])
        #expect(shape.orderBy == ["events.ts"])
        let events = try #require(shape.scans.first { $0.table == "events" })
        #expect(events.predicates["ts"] != nil && events.predicates["country"] == nil)
        // `status` is unqualified with two tables in scope: it belongs to whichever has the column.
        #expect(events.unqualified["status"] == [.equal(.literal(Literal("open", kind: .string)))])
        #expect(events.restrictions(columns: ["ts", "status"])["status"] != nil)
        #expect(events.restrictions(columns: ["ts"])["status"] == nil)
        let flags = try #require(shape.scans.first { $0.table == "flags" })
        #expect(flags.predicates["flag"] == [.equal(.literal(Literal("x", kind: .string)))])
    }

    @Test func unionsAndCommonTableExpressions() throws {
        let union = try PredicateExtractor.shape(of: "SELECT id FROM events WHERE user_id = 1 UNION ALL SELECT id FROM events WHERE user_id = 2")
        #expect(union.scans.count == 2)
        #expect(union.scans.allSatisfy { $0.predicates["user_id"] != nil })
        let cte = try PredicateExtractor.shape(of: "WITH recent AS (SELECT * FROM events WHERE ts > '2026-02-01') SELECT count(*) FROM recent")
        #expect(cte.scans.first { $0.table == "events" }?.predicates["ts"] != nil)
    }

    @Test func updatesDeletesInsertsAndExplain() throws {
        let update = try PredicateExtractor.shape(of: "UPDATE events SET amount = 0 WHERE user_id = 7")
        #expect(update.kind == .update && update.writes == ["events"])
        #expect(update.scans.first?.predicates["user_id"] != nil)
        let delete = try PredicateExtractor.shape(of: "DELETE FROM events WHERE ts < '2025-01-01'")
        #expect(delete.kind == .delete && delete.scans.first?.predicates["ts"] != nil)
        let insert = try PredicateExtractor.shape(of: "INSERT INTO events (id) VALUES (1)")
        #expect(insert.kind == .insert && insert.writes == ["events"] && insert.scans.isEmpty)
        let explain = try PredicateExtractor.shape(of: "EXPLAIN SELECT * FROM events WHERE id = 1")
        #expect(explain.kind == .select)
        let outer = try PredicateExtractor.shape(of: "SELECT * FROM events e LEFT JOIN users u ON u.id = e.user_id AND u.country = 'NZ'")
        // An outer join's ON restricts nothing on the preserved side.
        #expect(outer.scans.allSatisfy { $0.predicates.isEmpty })
    }

    @Test func parseErrorsCarryPostgresMessageAndPosition() {
        #expect(throws: SQLParseError.self) { try PostgresParser.parse("SELEC 1") }
        do {
            _ = try PostgresParser.parse("SELECT * FROM WHERE")
        } catch {
            #expect(error.message.contains("syntax error"))
            #expect(error.position != nil)
        }
    }

    @Test func fingerprintsGroupLiteralsAndSplitterRespectsQuotes() throws {
        #expect(try PostgresParser.fingerprint("SELECT * FROM t WHERE a = 1") == PostgresParser.fingerprint("select *  from t where a = 42"))
        #expect(try PostgresParser.fingerprint("SELECT * FROM t WHERE a = 1") != PostgresParser.fingerprint("SELECT * FROM t WHERE b = 1"))
        #expect(try PostgresParser.normalize("SELECT * FROM t WHERE a = 'x'") == "SELECT * FROM t WHERE a = $1")
        let statements = try PostgresParser.split("SELECT 'a;b'; -- c;\nSELECT $$x;y$$; SELECT 3")
        #expect(statements.count == 3)
        #expect(statements[0] == "SELECT 'a;b'")
        // Text after an unclosed parenthesis is kept (to be reported as unparsable), not dropped.
        #expect(try PostgresParser.split("SELECT 1;\nnot sql (((;\nSELECT 2").count == 2)
    }
}

@Suite struct ServerLogTests {
    @Test func statementsExecuteWithParametersContinuationsAndGarbage() {
        let log = """
            2026-12-01 10:00:00.100 UTC [101] LOG:  duration: 1.250 ms  statement: SELECT * FROM events
            \tWHERE user_id = 5
            2026-12-01 10:00:01.000 UTC [101] LOG:  duration: 0.300 ms  parse <unnamed>: SELECT * FROM events WHERE id = $1
            2026-12-01 10:00:01.000 UTC [101] LOG:  duration: 0.500 ms  execute <unnamed>: SELECT * FROM events WHERE id = $1 AND note = $2
            2026-12-01 10:00:01.000 UTC [101] DETAIL:  parameters: $1 = '42', $2 = 'it''s'
            this line is garbage
            2026-12-01 10:00:02.000 UTC [102] LOG:  checkpoint starting: time
            2026-12-01 11:00:02.000 UTC [102] LOG:  statement: SELECT 1
            """
        var reader = ServerLogReader()
        var statements: [LoggedStatement] = []
        for line in log.split(separator: "\n", omittingEmptySubsequences: false) {
            if let statement = reader.feed(line) { statements.append(statement) }
        }
        if let last = reader.flush() { statements.append(last) }
        #expect(statements.map(\.sql) == ["SELECT * FROM events\nWHERE user_id = 5", "SELECT * FROM events WHERE id = '42' AND note = 'it''s'", "SELECT 1"])
        #expect(statements[0].totalMilliseconds == 1.25)
        #expect(statements[1].totalMilliseconds == 0.5)
        #expect(statements[2].time == (statements[0].time ?? 0) + 3600 + 1.9)
        #expect(reader.ignoredLines == 1)
    }

    @Test func workloadCountsClassesAndUnparsedStatements() {
        var workload = Workload()
        for user in 0..<100 { workload.add(LoggedStatement(sql: "SELECT * FROM events WHERE user_id = \(user)", time: Double(user * 60))) }
        workload.add(LoggedStatement(sql: "SELEKT nonsense"))
        workload.add(LoggedStatement(sql: "SELECT * FROM users WHERE id = 1", calls: 5))
        #expect(workload.classes.count == 2)
        #expect(workload.classes(touching: "events").first?.calls == 100)
        #expect(workload.classes(touching: "events").first?.samples.count == Workload.samplesPerClass)
        #expect(workload.unparsed == 1)
        #expect(workload.unparsedExamples.first?.contains("SELEKT") == true)
        #expect(abs((workload.periodDays ?? 0) - 99.0 * 60 / 86_400) < 1e-9)
    }
}

@Suite struct CatalogTextTests {
    @Test func arrayLiterals() {
        #expect(CatalogText.array("{a,\"b c\",NULL,\"NULL\",\"q\\\"x\"}") == ["a", "b c", nil, "NULL", "q\"x"])
        #expect(CatalogText.array("{}") == [])
        #expect(CatalogText.array("{\"2026-01-01 00:00:00+00\",\"2026-01-02 00:00:00+00\"}") == ["2026-01-01 00:00:00+00", "2026-01-02 00:00:00+00"])
        #expect(CatalogText.array("not an array") == nil)
    }

    @Test func partitionBoundsThroughPostgresParser() throws {
        #expect(try CatalogText.bound("FOR VALUES FROM (MINVALUE) TO ('2026-01-02 00:00:00+00')") == .range(lower: nil, upper: "2026-01-02 00:00:00+00"))
        #expect(try CatalogText.bound("FOR VALUES FROM ('-5') TO (10)") == .range(lower: "-5", upper: "10"))
        #expect(try CatalogText.bound("FOR VALUES IN ('a', NULL)") == .list(["a", nil]))
        #expect(try CatalogText.bound("FOR VALUES WITH (modulus 4, remainder 0)") == .hash(modulus: 4, remainder: 0))
        #expect(try CatalogText.bound("FOR VALUES WITH (modulus 8, remainder 5)") == .hash(modulus: 8, remainder: 5))
        #expect(try CatalogText.bound("DEFAULT") == .default)
        #expect(throws: CatalogText.BoundError.self) { try CatalogText.bound("FOR VALUES NONSENSE") }
    }

    @Test func postgresTimes() {
        #expect(PostgresTime.seconds("1970-01-01") == 0)
        #expect(PostgresTime.seconds("2026-01-31 12:00:00") == 1_769_860_800)
        #expect(PostgresTime.seconds("2026-01-31 12:00:00+00") == 1_769_860_800)
        #expect(PostgresTime.seconds("2026-01-31T14:30:00+02:30") == 1_769_860_800)
        #expect(PostgresTime.seconds("2026-01-31 12:00:00.25Z") == 1_769_860_800.25)
        #expect(PostgresTime.seconds("2026-01-31 11:00:00-01") == 1_769_860_800)
        #expect(PostgresTime.seconds("2026-13-01") == nil)
        #expect(PostgresTime.seconds("yesterday") == nil)
        #expect(PostgresTime.text(seconds: 1_769_860_800, type: .timestamp) == "2026-01-31 12:00:00+00")
        #expect(PostgresTime.text(seconds: 1_769_860_800, type: .date) == "2026-01-31")
    }
}
