/// A node of libpg_query's JSON parse tree: `{"SelectStmt": {...}}`, lists, strings, numbers.
/// Navigation is by the field names of PostgreSQL's `parsenodes.h` (`whereClause`, `lexpr` …).
public indirect enum SQLNode: Equatable, Sendable {
    case object([String: SQLNode])
    case array([SQLNode])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    public subscript(key: String) -> SQLNode? {
        if case let .object(fields) = self { return fields[key] }
        return nil
    }

    public var array: [SQLNode] {
        if case let .array(items) = self { return items }
        return []
    }

    public var string: String? {
        if case let .string(text) = self { return text }
        return nil
    }

    public var number: Double? {
        if case let .number(value) = self { return value }
        return nil
    }

    public var bool: Bool? {
        if case let .bool(value) = self { return value }
        return nil
    }

    /// A node is `{"NodeType": {fields}}`; this is its type name and fields.
    public var tagged: (type: String, fields: SQLNode)? {
        guard case let .object(fields) = self, fields.count == 1, let (key, value) = fields.first else { return nil }
        return (key, value)
    }

    /// The string values of a `[{"String": {"sval": …}}]` list (names, qualified names).
    public var names: [String] {
        array.compactMap { $0["String"]?["sval"]?.string }
    }
}

extension SQLNode: Decodable {
    /// Decoded with JSONDecoder, which keeps `true` and `1` apart (JSONSerialization on Linux does not).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }  // not a Bool: try the next type
        else if let value = try? container.decode(Double.self) { self = .number(value) }  // not a number: next
        else if let value = try? container.decode(String.self) { self = .string(value) }  // not a string: next
        else if let value = try? container.decode([SQLNode].self) { self = .array(value) }  // not a list: an object
        else { self = .object(try container.decode([String: SQLNode].self)) }
    }
}
