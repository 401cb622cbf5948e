import DriftlineProfiling
import Foundation

/// The schema people think a source has: a JSON Schema file (the subset Driftline checks).
///
/// Understood per property (nested `properties` flatten to `a.b`, `items` to `a[]`): `type` (a name
/// or a list; `number` admits integers), `required`, `enum` (strings, numbers, booleans), `minimum`,
/// `maximum`. Anything else in the file is ignored, not rejected.
public struct DeclaredSchema: Equatable, Sendable {
    public struct Field: Equatable, Sendable {
        public var path: String
        /// Allowed JSON types; empty means any.
        public var types: Set<JSONValueType>
        public var required: Bool
        public var allowedValues: Set<String>?
        public var minimum: Double?
        public var maximum: Double?
    }

    public var fields: [String: Field]

    public enum LoadError: Error, Equatable, CustomStringConvertible {
        case unreadable(String)
        case invalid(String)

        public var description: String {
            switch self {
            case let .unreadable(reason): "cannot read the declared schema: \(reason)"
            case let .invalid(reason): "invalid declared schema: \(reason)"
            }
        }
    }

    public init(fields: [Field]) {
        self.fields = Dictionary(uniqueKeysWithValues: fields.map { ($0.path, $0) })
    }

    public init(contentsOf url: URL) throws(LoadError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .unreadable("\(url.path): \(error.localizedDescription)") }
        try self.init(json: data)
    }

    public init(json data: Data) throws(LoadError) {
        let root: SchemaJSON
        do { root = try JSONDecoder().decode(SchemaJSON.self, from: data) } catch { throw .invalid("not JSON: \(error)") }
        guard case let .object(object) = root else { throw .invalid("the top level must be an object") }
        var fields: [Field] = []
        try Self.collect(object, prefix: "", into: &fields)
        self.init(fields: fields)
    }

    private static func collect(_ schema: [String: SchemaJSON], prefix: String, into fields: inout [Field]) throws(LoadError) {
        var required: Set<String> = []
        if case let .array(names)? = schema["required"] {
            for case let .string(name) in names { required.insert(name) }
        }
        guard let properties = schema["properties"] else { return }
        guard case let .object(map) = properties else { throw .invalid("'properties' of '\(prefix.isEmpty ? "$" : prefix)' must be an object") }
        for (name, value) in map.sorted(by: { $0.key < $1.key }) {
            guard case let .object(property) = value else { throw .invalid("property '\(name)' must be an object") }
            let path = prefix.isEmpty ? name : "\(prefix).\(name)"
            fields.append(try field(property, path: path, required: required.contains(name)))
            try collect(property, prefix: path, into: &fields)
            if case let .object(items)? = property["items"] {
                fields.append(try field(items, path: path + "[]", required: false))
                try collect(items, prefix: path + "[]", into: &fields)
            }
        }
    }

    private static func field(_ property: [String: SchemaJSON], path: String, required: Bool) throws(LoadError) -> Field {
        var names: [String] = []
        switch property["type"] {
        case let .string(name)?: names = [name]
        case let .array(list)?: for case let .string(name) in list { names.append(name) }
        case nil: break
        default: throw .invalid("'type' of '\(path)' must be a name or a list of names")
        }
        var types: Set<JSONValueType> = []
        for name in names {
            switch name {
            case "null": types.insert(.null)
            case "boolean": types.insert(.bool)
            case "integer": types.insert(.integer)
            case "number": types.formUnion([.integer, .float])
            case "string": types.insert(.string)
            case "object": types.insert(.object)
            case "array": types.insert(.array)
            default: throw .invalid("unknown type '\(name)' for '\(path)'")
            }
        }
        var allowed: Set<String>?
        if case let .array(values)? = property["enum"] {
            allowed = Set(values.compactMap(\.scalarText))
        }
        func number(_ key: String) -> Double? {
            if case let .number(value)? = property[key] { return value }
            return nil
        }
        return Field(path: path, types: types, required: required, allowedValues: allowed, minimum: number("minimum"), maximum: number("maximum"))
    }
}

/// Just enough JSON to read a schema file, keeping booleans apart from numbers.
enum SchemaJSON: Decodable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([SchemaJSON]), object([String: SchemaJSON])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([SchemaJSON].self) { self = .array(value) }
        else { self = .object(try container.decode([String: SchemaJSON].self)) }
    }

    /// The text a frequent-values summary would hold for this scalar.
    var scalarText: String? {
        switch self {
        case let .string(text): text
        case let .bool(value): value ? "true" : "false"
        case let .number(value): value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        default: nil
        }
    }
}
