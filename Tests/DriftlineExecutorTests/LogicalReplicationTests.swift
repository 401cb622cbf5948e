import DriftlineExecutor
import Testing

/// The logical capture's reading of `pgoutput` messages, on bytes a PostgreSQL 15 server wrote for
/// a table `public.ev (id bigint PRIMARY KEY, v text)` hash-partitioned into ev0 and ev1, published
/// with `publish_via_partition_root`: two inserts, an update, an update that moved a row between
/// partitions (id 2 → 5), a delete; read with `pg_logical_slot_peek_binary_changes(…, 'proto_version', '1', …)`.
@Suite struct LogicalReplicationTests {
    static let stream = [
        "420000000001539da8000304bc39ed5232000002d9",
        "52000040007075626c6963006576006400020169640000000014ffffffff00760000000019ffffffff",
        "52000040057075626c696300657630006400020169640000000014ffffffff00760000000019ffffffff",
        "49000040004e0002740000000131740000000161",
        "49000040004e00027400000001327400000003622771",
        "43000000000001539da80000000001539dd8000304bc39ed5232",
        "420000000001539f38000304bc39ed640a000002db",
        "55000040004e0002740000000131740000000178",
        "43000000000001539f380000000001539f68000304bc39ed640a",
        "42000000000153a0b0000304bc39ed67ab000002dc",
        "44000040004b00027400000001326e",
        "52000040007075626c6963006576006400020169640000000014ffffffff00760000000019ffffffff",
        "520000400c7075626c696300657631006400020169640000000014ffffffff00760000000019ffffffff",
        "49000040004e00027400000001357400000003622771",
        "4300000000000153a0b0000000000153a0e0000304bc39ed67ab",
        "42000000000153a128000304bc39ed6d74000002dd",
        "44000040004b00027400000001316e",
        "4300000000000153a128000000000153a158000304bc39ed6d74",
    ].map(bytes)

    static func bytes(_ hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            result.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return result
    }

    @Test func messagesParseAsTheServerWroteThem() throws {
        let messages = try Self.stream.map(PgOutputMessage.parse)
        #expect(messages[0] == .begin)
        #expect(messages[1] == .relation(.init(id: 0x4000, namespace: "public", name: "ev", columns: ["id", "v"])))
        #expect(messages[2] == .relation(.init(id: 0x4005, namespace: "public", name: "ev0", columns: ["id", "v"])))
        #expect(messages[3] == .insert(relation: 0x4000, new: [.text("1"), .text("a")]))
        #expect(messages[4] == .insert(relation: 0x4000, new: [.text("2"), .text("b'q")]))
        #expect(messages[5] == .commit(end: LogSequenceNumber("0/1539DD8")!))
        #expect(messages[7] == .update(relation: 0x4000, old: nil, new: [.text("1"), .text("x")]))
        // A delete sends the key; the other columns are null.
        #expect(messages[10] == .delete(relation: 0x4000, old: [.text("2"), .null]))
    }

    @Test func theReaderListsTheTablesChangedKeysAndWhereTheSlotMayAdvance() throws {
        var reader = ChangedKeyReader(schema: "public", table: "ev", keyColumns: ["id"])
        var changes: [ChangedKeyReader.Change] = []
        for bytes in Self.stream { changes += try reader.read(try PgOutputMessage.parse(bytes)) }
        // The move between partitions comes as a delete of the old key and an insert of the new one.
        #expect(changes == [.init(op: "I", key: ["1"]), .init(op: "I", key: ["2"]), .init(op: "U", key: ["1"]),
                            .init(op: "D", key: ["2"]), .init(op: "I", key: ["5"]), .init(op: "D", key: ["1"])])
        #expect(reader.lastCommitEnd == LogSequenceNumber("0/153A158"))
        // Changes of another table are not the reader's; a truncation of its own fails the job.
        var other = ChangedKeyReader(schema: "public", table: "ev0", keyColumns: ["id"])
        var changesOfOther: [ChangedKeyReader.Change] = []
        for bytes in Self.stream { changesOfOther += try other.read(try PgOutputMessage.parse(bytes)) }
        #expect(changesOfOther.isEmpty)
        #expect(throws: ChangedKeyReader.Failure.self) { try reader.read(.truncate(relations: [0x4000])) }
        #expect(try reader.read(.truncate(relations: [0x4005])).isEmpty)
        // A key column missing from the relation, or a change without its key, is an error, not a guess.
        var wrongKey = ChangedKeyReader(schema: "public", table: "ev", keyColumns: ["uuid"])
        #expect(throws: ChangedKeyReader.Failure.self) { try wrongKey.read(try PgOutputMessage.parse(Self.stream[1])) }
        #expect(throws: ChangedKeyReader.Failure.self) { try reader.read(.insert(relation: 0x4000, new: [.unchanged, .text("a")])) }
    }

    @Test func damagedMessagesAreErrors() throws {
        let damaged: [[UInt8]] = [Array(Self.stream[3].dropLast(3)), Array(Self.stream[1].prefix(12)), [UInt8(ascii: "I"), 0, 0, 64, 0, UInt8(ascii: "X")]]
        for bytes in damaged {
            #expect(throws: PgOutputMessage.ParseError.self) { try PgOutputMessage.parse(bytes) }
        }
        #expect(try PgOutputMessage.parse([UInt8(ascii: "Y"), 1, 2]) == .other(UInt8(ascii: "Y")))
    }

    @Test func logPositionsReadAndPrintAsPostgreSQLDoes() {
        #expect(LogSequenceNumber("16/B374D848")?.value == 0x16_B374_D848)
        #expect(LogSequenceNumber(0x16_B374_D848).description == "16/B374D848")
        #expect(LogSequenceNumber("0/0") == LogSequenceNumber(0))
        for bad in ["", "16", "16/", "/1", "x/1", "1/2/3"] { #expect(LogSequenceNumber(bad) == nil, "\(bad)") }
        #expect(LogSequenceNumber("0/1539DD8")! < LogSequenceNumber("1/0")!)
    }

    @Test func slotNamesAreValidAndDistinct() {
        let dialect = PostgresDialect(schema: "public", table: "Événements", key: [.init(name: "id", type: "bigint")], commandId: "Cmd-Ω-42")
        let name = dialect.slotName(database: "app")
        #expect(name.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" } && name.utf8.count <= 63, "\(name)")
        #expect(name != dialect.slotName(database: "other"))
        #expect(name != PostgresDialect(schema: "public", table: "events", key: dialect.key, commandId: "Cmd-Ω-42").slotName(database: "app"))
        let twoColumns = PostgresDialect(schema: "public", table: "events", key: [.init(name: "id", type: "bigint"), .init(name: "ts", type: "timestamp with time zone")], commandId: "c")
        #expect(twoColumns.insertChangedKeys == "INSERT INTO public.driftline_changes_events (op, id, ts) SELECT u.op::\"char\", u.k0::bigint, u.k1::timestamp with time zone FROM unnest($1::text[], $2::text[], $3::text[]) AS u(op, k0, k1)")
    }
}
