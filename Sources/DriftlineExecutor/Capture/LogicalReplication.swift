/// A position in PostgreSQL's write-ahead log (`pg_lsn`), written `X/Y` in hexadecimal.
public struct LogSequenceNumber: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var value: UInt64
    public init(_ value: UInt64) { self.value = value }

    /// Parses `16/B374D848`; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let high = UInt32(parts[0], radix: 16), let low = UInt32(parts[1], radix: 16) else { return nil }
        value = UInt64(high) << 32 | UInt64(low)
    }

    public var description: String {
        String(value >> 32, radix: 16, uppercase: true) + "/" + String(value & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }

    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }
}

/// One message of PostgreSQL's logical replication protocol as the `pgoutput` plugin (protocol
/// version 1) writes it, one per row of `pg_logical_slot_peek_binary_changes`: the part the logical
/// capture reads to learn which keys of a table changed.
public enum PgOutputMessage: Equatable, Sendable {
    case begin
    /// The end of the commit record: a slot advanced to it has consumed the transaction.
    case commit(end: LogSequenceNumber)
    case relation(Relation)
    case insert(relation: UInt32, new: [TupleValue])
    /// `old` is the old key ('K') or old row ('O') when the update changed the replica identity.
    case update(relation: UInt32, old: [TupleValue]?, new: [TupleValue])
    case delete(relation: UInt32, old: [TupleValue])
    case truncate(relations: [UInt32])
    /// Origin, type and logical messages: nothing the capture needs.
    case other(UInt8)

    public struct Relation: Equatable, Sendable {
        public var id: UInt32
        public var namespace: String
        public var name: String
        /// Column names in the order tuples carry their values.
        public var columns: [String]
        public init(id: UInt32, namespace: String, name: String, columns: [String]) {
            self.id = id; self.namespace = namespace; self.name = name; self.columns = columns
        }
    }

    public enum TupleValue: Equatable, Sendable {
        case null
        /// A TOASTed value the change left as it was (not sent).
        case unchanged
        case text(String)
    }

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { "unreadable logical replication message: \(reason)" }
    }

    public static func parse(_ bytes: [UInt8]) throws(ParseError) -> PgOutputMessage {
        var reader = Reader(bytes: bytes)
        let kind = try reader.byte()
        switch kind {
        case UInt8(ascii: "B"):
            return .begin
        case UInt8(ascii: "C"):
            _ = try reader.byte()  // flags
            _ = try reader.uint64()  // the commit record's start
            return .commit(end: LogSequenceNumber(try reader.uint64()))
        case UInt8(ascii: "R"):
            let id = try reader.uint32()
            let namespace = try reader.string(), name = try reader.string()
            _ = try reader.byte()  // replica identity setting
            let count = try reader.uint16()
            var columns: [String] = []
            for _ in 0..<count {
                _ = try reader.byte()  // flags (part of the key)
                columns.append(try reader.string())
                _ = try reader.uint32()  // type
                _ = try reader.uint32()  // type modifier
            }
            return .relation(Relation(id: id, namespace: namespace, name: name, columns: columns))
        case UInt8(ascii: "I"):
            let relation = try reader.uint32()
            try reader.expect("N")
            return .insert(relation: relation, new: try reader.tuple())
        case UInt8(ascii: "U"):
            let relation = try reader.uint32()
            var old: [TupleValue]?
            var marker = try reader.byte()
            if marker == UInt8(ascii: "K") || marker == UInt8(ascii: "O") {
                old = try reader.tuple()
                marker = try reader.byte()
            }
            guard marker == UInt8(ascii: "N") else { throw ParseError(reason: "update without a new tuple") }
            return .update(relation: relation, old: old, new: try reader.tuple())
        case UInt8(ascii: "D"):
            let relation = try reader.uint32()
            let marker = try reader.byte()
            guard marker == UInt8(ascii: "K") || marker == UInt8(ascii: "O") else { throw ParseError(reason: "delete without an old key") }
            return .delete(relation: relation, old: try reader.tuple())
        case UInt8(ascii: "T"):
            let count = try reader.uint32()
            _ = try reader.byte()  // options (CASCADE, RESTART IDENTITY)
            var relations: [UInt32] = []
            for _ in 0..<count { relations.append(try reader.uint32()) }
            return .truncate(relations: relations)
        default:
            return .other(kind)
        }
    }

    /// Big-endian fields, NUL-terminated strings.
    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        mutating func byte() throws(ParseError) -> UInt8 {
            guard index < bytes.count else { throw ParseError(reason: "ends early, at byte \(index)") }
            defer { index += 1 }
            return bytes[index]
        }

        mutating func expect(_ marker: Unicode.Scalar) throws(ParseError) {
            let found = try byte()
            guard found == UInt8(ascii: marker) else { throw ParseError(reason: "expected '\(marker)' at byte \(index - 1), found \(found)") }
        }

        mutating func integer(_ size: Int) throws(ParseError) -> UInt64 {
            guard index + size <= bytes.count else { throw ParseError(reason: "ends early, at byte \(index)") }
            var value: UInt64 = 0
            for offset in 0..<size { value = value << 8 | UInt64(bytes[index + offset]) }
            index += size
            return value
        }

        mutating func uint16() throws(ParseError) -> Int { Int(try integer(2)) }
        mutating func uint32() throws(ParseError) -> UInt32 { UInt32(try integer(4)) }
        mutating func uint64() throws(ParseError) -> UInt64 { try integer(8) }

        mutating func string() throws(ParseError) -> String {
            guard let end = bytes[index...].firstIndex(of: 0) else { throw ParseError(reason: "unterminated string at byte \(index)") }
            defer { index = end + 1 }
            return String(decoding: bytes[index..<end], as: UTF8.self)
        }

        mutating func tuple() throws(ParseError) -> [TupleValue] {
            let count = try uint16()
            var values: [TupleValue] = []
            values.reserveCapacity(count)
            for _ in 0..<count {
                switch try byte() {
                case UInt8(ascii: "n"): values.append(.null)
                case UInt8(ascii: "u"): values.append(.unchanged)
                case UInt8(ascii: "t"):
                    let length = Int(try uint32())
                    guard index + length <= bytes.count else { throw ParseError(reason: "a value runs past the end") }
                    values.append(.text(String(decoding: bytes[index..<index + length], as: UTF8.self)))
                    index += length
                case let other: throw ParseError(reason: "unknown value kind \(other) (binary values are not asked for)")
                }
            }
            return values
        }
    }
}

/// Reads a slot's `pgoutput` messages and answers which keys of one table they changed, as the
/// change log records them: (op, key values as text). Relations are announced in the stream
/// before their first change (again in every decoding session), so the reader learns where the
/// key columns sit from the messages themselves.
public struct ChangedKeyReader: Sendable {
    public let schema: String
    public let table: String
    public let keyColumns: [String]
    /// Relation id → positions of the key columns in its tuples (only the table's own relation).
    private var keyPositions: [UInt32: [Int]] = [:]
    /// The end of the last commit read: where the slot may advance once the keys are stored.
    public private(set) var lastCommitEnd: LogSequenceNumber?

    public init(schema: String, table: String, keyColumns: [String]) {
        self.schema = schema; self.table = table; self.keyColumns = keyColumns
    }

    public struct Change: Equatable, Sendable {
        public var op: Character
        public var key: [String]
        public init(op: Character, key: [String]) { self.op = op; self.key = key }
    }

    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    public mutating func read(_ message: PgOutputMessage) throws(Failure) -> [Change] {
        switch message {
        case let .relation(relation):
            guard relation.namespace == schema, relation.name == table else { return [] }
            var positions: [Int] = []
            for column in keyColumns {
                guard let position = relation.columns.firstIndex(of: column) else {
                    throw Failure(reason: "the logical capture's stream has no key column \(column) for \(schema).\(table)")
                }
                positions.append(position)
            }
            keyPositions[relation.id] = positions
            return []
        case let .insert(relation, new):
            guard let positions = keyPositions[relation] else { return [] }
            return [Change(op: "I", key: try key(new, positions))]
        case let .update(relation, old, new):
            guard let positions = keyPositions[relation] else { return [] }
            var changes = [Change(op: "U", key: try key(new, positions))]
            // The key changed: the old one is gone (the trigger capture logs the same pair).
            if let old { changes.append(Change(op: "D", key: try key(old, positions))) }
            return changes
        case let .delete(relation, old):
            guard let positions = keyPositions[relation] else { return [] }
            return [Change(op: "D", key: try key(old, positions))]
        case let .truncate(relations):
            if relations.contains(where: { keyPositions[$0] != nil }) {
                throw Failure(reason: "\(schema).\(table) was truncated during the migration: a truncation cannot be replayed by key")
            }
            return []
        case let .commit(end):
            lastCommitEnd = end
            return []
        case .begin, .other:
            return []
        }
    }

    private func key(_ values: [PgOutputMessage.TupleValue], _ positions: [Int]) throws(Failure) -> [String] {
        var key: [String] = []
        for (column, position) in zip(keyColumns, positions) {
            guard position < values.count, case let .text(value) = values[position] else {
                throw Failure(reason: "a change to \(schema).\(table) came without its key column \(column)")
            }
            key.append(value)
        }
        return key
    }
}
