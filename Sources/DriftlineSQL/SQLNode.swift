/// A node of libpg_query's JSON parse tree: `{"SelectStmt": {...}}`, lists, strings, numbers.
/// Navigation is by the field names of PostgreSQL's `parsenodes.h` (`whereClause`, `lexpr` …).
public indirect enum SQLNode: Equatable, Sendable {
    case object([String: SQLNode])
    case array([SQLNode])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    init(json: Any) {
        switch json {
        case let dictionary as [String: Any]: self = .object(dictionary.mapValues(SQLNode.init(json:)))
        case let list as [Any]: self = .array(list.map(SQLNode.init(json:)))
        case let text as String: self = .string(text)
        // JSONSerialization gives NSNumber; booleans arrive as NSNumber too, told apart by type.
        case let number as Bool where type(of: json) != type(of: 0 as Any): self = .bool(number)
        case let number as Double: self = .number(number)
        case let number as Int: self = .number(Double(number))
        default: self = .null
        }
    }

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
