/// How the executor learns which rows writers changed while it copies.
public enum ChangeCapture: String, CaseIterable, Sendable {
    /// A row trigger on the original logs (op, key) into the change table, in the writer's own
    /// transaction: works on any server, costs each write an insert (about a fifth of a small
    /// transaction's throughput, measured by `ops/capture-variants.sh`).
    case trigger
    /// During the copy, the keys come from the write-ahead log through a logical replication slot
    /// (`pgoutput`, a publication on the original alone) and writers pay nothing beyond
    /// `wal_level = logical`; for verification and the swap the trigger takes over (the final
    /// replay needs the log in the writers' transactions). Needs `wal_level = logical`, a free
    /// replication slot and a role with REPLICATION that owns the table. PostgreSQL only.
    case logical
}

/// The logical capture's SQL. The slot is named per database, table and command: slots are
/// server-wide, and a leftover one keeps the server's write-ahead log from being recycled, so every
/// path that ends a job drops it (`dropSlot`), as it drops the trigger.
extension PostgresDialect {
    /// A replication slot name (lower-case letters, digits and underscores only) unique to the
    /// database, the table and the command.
    public func slotName(database: String) -> String {
        let tagPart = String(tag.unicodeScalars.filter { ("a"..."z").contains($0) || ("0"..."9").contains($0) }.map(Character.init))
        return "driftline_\(tagPart)_\(tableSuffix(database: database))"
    }

    /// The part of a slot's name that names the database and table (the same for every command).
    func tableSuffix(database: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in "\(database)\u{0}\(schema)\u{0}\(table)".utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// Every Driftline slot of this table, whichever command made it: a failed job that could not
    /// clean up leaves its slot with its shadow, and the next job on the table drops both.
    public func tableSlots(database: String) -> String {
        "SELECT slot_name::text FROM pg_replication_slots WHERE slot_name LIKE \(Self.literal("driftline\\_%\\_" + tableSuffix(database: database)))"
    }

    /// The publication the slot decodes: the original alone, its partitions' changes reported as
    /// the original's.
    public func publicationName(slot: String) -> String { slot }

    /// What the server must offer: `wal_level`, whether the role may use replication slots, free slots.
    public static let logicalCaptureRequirements = """
        SELECT current_setting('wal_level'), (SELECT rolsuper OR rolreplication FROM pg_roles WHERE rolname = current_user),
               current_setting('max_replication_slots')::int - (SELECT count(*)::int FROM pg_replication_slots)
        """

    public func createPublication(_ name: String) -> String {
        "CREATE PUBLICATION \(Self.identifier(name)) FOR TABLE \(source) WITH (publish = 'insert, update, delete, truncate', publish_via_partition_root = true)"
    }

    public static func publicationExists(_ name: String) -> String {
        "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = \(literal(name)))"
    }

    public static func dropPublication(_ name: String) -> String { "DROP PUBLICATION IF EXISTS \(identifier(name))" }

    /// Waits for the transactions running now to end (its consistent point): every transaction
    /// that commits after it returns is decoded, every one before is visible to the copy that follows.
    public static func createSlot(_ name: String) -> String {
        "SELECT pg_create_logical_replication_slot(\(literal(name)), 'pgoutput')::text"
    }

    public static func slotExists(_ name: String) -> String {
        "SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = \(literal(name)))"
    }

    /// The decoded messages of transactions committed before `$1` (a `pg_lsn` as text), without
    /// consuming them: the slot advances (`advanceSlot`) only after their keys are stored.
    public static func peekSlot(_ slot: String, publication: String) -> String {
        "SELECT data FROM pg_logical_slot_peek_binary_changes(\(literal(slot)), $1::pg_lsn, NULL, 'proto_version', '1', 'publication_names', \(literal(publication)))"
    }

    /// Only forward: a slot just created may confirm a position past the flushed end read after
    /// it, and PostgreSQL refuses to move a slot backwards.
    public static func advanceSlot(_ name: String) -> String {
        "SELECT pg_replication_slot_advance(slot_name, $1::pg_lsn)::text FROM pg_replication_slots WHERE slot_name = \(literal(name)) AND confirmed_flush_lsn < $1::pg_lsn"
    }

    public static func dropSlot(_ name: String) -> String {
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = \(literal(name))"
    }

    /// Where the log is flushed to: a drain takes the transactions committed before it.
    public static let flushedPosition = "SELECT pg_current_wal_flush_lsn()::text"

    /// Decoded keys into the change log: parameters are text arrays, the op's first, then one per key column.
    public var insertChangedKeys: String {
        let names = ["op"] + key.indices.map { "k\($0)" }
        let arrays = names.indices.map { "$\($0 + 1)::text[]" }.joined(separator: ", ")
        let casts = key.enumerated().map { "u.k\($0.offset)::\($0.element.type)" }.joined(separator: ", ")
        return "INSERT INTO \(changes) (op, \(keyList)) SELECT u.op::\"char\", \(casts) FROM unnest(\(arrays)) AS u(\(names.joined(separator: ", ")))"
    }
}
