/// The JSON types a field can be observed with.
public enum JSONValueType: UInt8, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case null, bool, integer, float, string, object, array

    public var description: String {
        switch self {
        case .null: "null"
        case .bool: "bool"
        case .integer: "integer"
        case .float: "float"
        case .string: "string"
        case .object: "object"
        case .array: "array"
        }
    }
}

/// Why a record could not be scanned.
public enum ScanErrorReason: String, Sendable, CaseIterable, Codable {
    case empty = "empty record"
    case notAnObject = "record is not a JSON object"
    case truncated = "truncated input"
    case unexpectedCharacter = "unexpected character"
    case invalidUTF8 = "invalid UTF-8"
    case badEscape = "invalid escape sequence"
    case controlCharacterInString = "unescaped control character in string"
    case invalidNumber = "invalid number"
    case numberOutOfRange = "number out of range"
    case nestingTooDeep = "nesting deeper than the limit"
    case pathTooLong = "field path longer than the limit"
    case tooManyLeaves = "more fields than the per-record limit"
    case trailingCharacters = "characters after the record"
}

/// A malformed record: what is wrong and at which byte.
public struct ScanError: Error, Equatable, Sendable, CustomStringConvertible {
    public var reason: ScanErrorReason
    public var offset: Int
    public var description: String { "\(reason.rawValue) at byte \(offset)" }
}

/// One leaf of a scanned record: a field path, its observed type and its value. Objects and arrays
/// appear too (type `.object`/`.array`), after their contents, so a field's type mix includes them.
public struct JSONLeaf {
    public var pathHash: UInt64
    var pathOffset: Int32
    var pathLength: Int32
    public var type: JSONValueType
    /// bool: 0/1; integer: the value; array: element count; object: member count.
    public var integer: Int64
    /// float and integer values as a double.
    public var number: Double
    /// string: where its (unescaped) bytes are; negative offsets point into the scanner's arena.
    var stringOffset: Int
    var stringLength: Int
    var stringInArena: Bool
    /// array: bit i set when an element of `JSONValueType(rawValue: i)` occurred.
    public var elementTypes: UInt8
}
