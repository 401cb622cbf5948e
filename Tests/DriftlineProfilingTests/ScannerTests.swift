@testable import DriftlineProfiling
import Foundation
import DriftlineSampleData
import Testing

/// What a test expects of a leaf, in comparable form.
enum Seen: Equatable, CustomStringConvertible {
    case null, bool(Bool), integer(Int64), float(Double), string(String), object(Int), array(Int, Set<JSONValueType>)

    var description: String {
        switch self {
        case .null: "null"
        case let .bool(v): "\(v)"
        case let .integer(v): "int \(v)"
        case let .float(v): "float \(v)"
        case let .string(v): "\"\(v)\""
        case let .object(n): "object(\(n))"
        case let .array(n, types): "array(\(n), \(types.map(\.description).sorted()))"
        }
    }
}

func scanLeaves(_ text: String, options: ScannerOptions = ScannerOptions()) throws(ScanError) -> [(String, Seen)] {
    try scanLeaves(Array(text.utf8), options: options)
}

func scanLeaves(_ bytes: [UInt8], options: ScannerOptions = ScannerOptions()) throws(ScanError) -> [(String, Seen)] {
    let scanner = JSONScanner(options: options)
    var failure: ScanError?
    let result: [(String, Seen)] = bytes.withUnsafeBytes { buffer in
        do throws(ScanError) { try scanner.scan(buffer) } catch { failure = error; return [] }
        return (0..<scanner.count).map { index in
            let leaf = scanner[index]
            let seen: Seen = switch leaf.type {
            case .null: .null
            case .bool: .bool(leaf.integer == 1)
            case .integer: .integer(leaf.integer)
            case .float: .float(leaf.number)
            case .string: .string(String(decoding: scanner.string(of: leaf), as: UTF8.self))
            case .object: .object(Int(leaf.integer))
            case .array: .array(Int(leaf.integer), Set(JSONValueType.allCases.filter { leaf.elementTypes & (1 << $0.rawValue) != 0 }))
            }
            #expect(leaf.pathHash == Hash64.bytes(scanner.path(of: leaf)), "hash depends on the path text only")
            return (scanner.pathString(of: leaf), seen)
        }
    }
    if let failure { throw failure }
    return result
}

@Suite struct ScannerTests {
    @Test func flattensNestedObjectsAndSummarizesArrays() throws {
        let leaves = try scanLeaves(#"{"id": 7, "user": {"name": "ann", "tags": ["a", 1, null], "geo": {}}, "ok": true, "x": -1.5e2}"#)
        let expected: [(String, Seen)] = [
            ("id", .integer(7)),
            ("user.name", .string("ann")),
            ("user.tags[]", .string("a")),
            ("user.tags[]", .integer(1)),
            ("user.tags[]", .null),
            ("user.tags", .array(3, [.string, .integer, .null])),
            ("user.geo", .object(0)),
            ("user", .object(3)),
            ("ok", .bool(true)),
            ("x", .float(-150)),
        ]
        #expect(leaves.map(\.0) == expected.map(\.0))
        #expect(leaves.map(\.1) == expected.map(\.1))
    }

    @Test func arrayElementsCanBeSummarizedOnly() throws {
        var options = ScannerOptions()
        options.profileArrayElements = false
        let leaves = try scanLeaves(#"{"a": [{"b": 1}, [2, 3], "s"]}"#, options: options)
        #expect(leaves.map(\.0) == ["a"])
        #expect(leaves.first?.1 == .array(3, [.object, .array, .string]))
    }

    @Test(arguments: [
        (#"{"s": "\u00e9\u4e2d\ud83d\ude00"}"#, "é中😀"),
        (#"{"s": "tab\tquote\"slash\/back\\"}"#, "tab\tquote\"slash/back\\"),
        (#"{"s": "\b\f\n\r"}"#, "\u{8}\u{c}\n\r"),
        (#"{"s": "plain ascii that is longer than eight bytes"}"#, "plain ascii that is longer than eight bytes"),
        (#"{"s": "mixed é and \n escapes 中文"}"#, "mixed é and \n escapes 中文"),
        (#"{"s": ""}"#, ""),
    ])
    func decodesStrings(json: String, expected: String) throws {
        #expect(try scanLeaves(json).first?.1 == .string(expected))
    }

    @Test(arguments: [
        ("0", Seen.integer(0)), ("-0", .integer(0)), ("-0.0", .float(-0.0)), ("9223372036854775807", .integer(.max)),
        ("-9223372036854775808", .integer(.min)), ("1e3", .float(1000)), ("1E-2", .float(0.01)), ("2.5e+1", .float(25)),
        ("0.1", .float(0.1)), ("123.456", .float(123.456)), ("1.7976931348623157e308", .float(.greatestFiniteMagnitude)),
        ("5e-324", .float(.leastNonzeroMagnitude)), ("0.30000000000000004", .float(0.30000000000000004)),
        ("12345678901234567890.5", .float(12345678901234567890.5)), ("3.141592653589793238462643383279", .float(.pi)),
    ])
    func parsesNumbersExactly(literal: String, expected: Seen) throws {
        let seen = try scanLeaves(#"{"n": \#(literal)}"#).first?.1
        #expect(seen == expected)
        if case let .float(value) = seen { #expect(value == Double(literal)!, "matches Swift's correctly rounded parse") }
    }

    @Test func duplicateKeysEachProduceALeaf() throws {
        #expect(try scanLeaves(#"{"a": 1, "a": "x"}"#).map(\.1) == [.integer(1), .string("x")])
    }

    @Test func keysWithEscapesBecomePlainPaths() throws {
        #expect(try scanLeaves(#"{"caf\u00e9": {"\"q\"": 1}}"#).first?.0 == "café.\"q\"")
    }

    @Test func deepNestingUpToTheLimitIsFine() throws {
        let depth = 64
        let json = String(repeating: #"{"a":"#, count: depth - 1) + "{}" + String(repeating: "}", count: depth - 1)
        #expect(throws: Never.self) { try scanLeaves(json) }
        let tooDeep = String(repeating: #"{"a":"#, count: depth) + "{}" + String(repeating: "}", count: depth)
        #expect(throws: ScanError.self) { try scanLeaves(tooDeep) }
    }

    @Test(arguments: [
        ("", ScanErrorReason.empty, 0), ("   ", .empty, 3), ("[1,2]", .notAnObject, 0), (#"{"a": 1"#, .truncated, 7),
        (#"{"a": "x}"#, .truncated, 9), (#"{"a": tru}"#, .unexpectedCharacter, 9), (#"{"a": 01}"#, .invalidNumber, 7),
        (#"{"a": 1.}"#, .invalidNumber, 8), (#"{"a": .5}"#, .unexpectedCharacter, 6), (#"{"a": 1e}"#, .invalidNumber, 8),
        (#"{"a": -}"#, .invalidNumber, 7), (#"{"a": 1e400}"#, .numberOutOfRange, 6), (#"{"a": 99999999999999999999}"#, .numberOutOfRange, 6),
        (#"{"a": "\x"}"#, .badEscape, 7), (#"{"a": "\u12G4"}"#, .badEscape, 11), (#"{"a": "\ud83d"}"#, .badEscape, 13),
        (#"{"a": "\udc00"}"#, .badEscape, 13), ("{\"a\": \"\u{1}\"}", .controlCharacterInString, 7), (#"{"a": 1,}"#, .unexpectedCharacter, 8),
        (#"{"a" 1}"#, .unexpectedCharacter, 5), (#"{a: 1}"#, .unexpectedCharacter, 1), (#"{"a": 1} x"#, .trailingCharacters, 9),
        (#"{"a": [1 2]}"#, .unexpectedCharacter, 9), (#"{"a": nul"#, .truncated, 6),
    ])
    func malformedRecordsReportReasonAndOffset(json: String, reason: ScanErrorReason, offset: Int) {
        let error = #expect(throws: ScanError.self) { try scanLeaves(json) }
        #expect(error == ScanError(reason: reason, offset: offset), "\(json)")
    }

    @Test(arguments: [
        [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D],  // bad continuation
        [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xC0, 0xAF, 0x22, 0x7D],  // overlong '/'
        [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x7D],  // encoded surrogate
        [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xF4, 0x90, 0x80, 0x80, 0x22, 0x7D],  // above U+10FFFF
        [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D],
    ] as [[UInt8]])
    func invalidUTF8IsRejected(bytes: [UInt8]) {
        let error = #expect(throws: ScanError.self) { try scanLeaves(bytes) }
        #expect(error?.reason == .invalidUTF8)
        #expect(error?.offset == 6)
    }

    @Test func limitsOnLeavesAndPathsAreErrorsNotCrashes() {
        var options = ScannerOptions()
        options.maxLeaves = 10
        let many = "{" + (0..<11).map { "\"k\($0)\": \($0)" }.joined(separator: ",") + "}"
        #expect((try? scanLeaves(many, options: options)) == nil)
        options = ScannerOptions()
        options.maxPathBytes = 8
        let error = #expect(throws: ScanError.self) { try scanLeaves(#"{"abcdefghij": 1}"#, options: options) }
        #expect(error?.reason == .pathTooLong)
    }

    /// Random documents built from a model, serialized with random escaping, must scan back to the
    /// model's leaves.
    @Test func randomDocumentsScanToTheirModel() throws {
        var random = SeededRandom(seed: 99)
        for _ in 0..<500 {
            let model = RandomJSON.object(&random, depth: 0)
            let text = RandomJSON.serialize(model, &random)
            let leaves = try scanLeaves(text)
            let expected = RandomJSON.leaves(model, path: "")
            #expect(leaves.map(\.0) == expected.map(\.0), "\(text)")
            #expect(leaves.map(\.1) == expected.map(\.1), "\(text)")
        }
    }

    /// Truncations and byte mutations of valid documents: never a crash, always a result or an error
    /// pointing inside the input.
    @Test func mutatedDocumentsNeverCrash() {
        var random = SeededRandom(seed: 5)
        var errors = 0
        for _ in 0..<3000 {
            var bytes = Array(RandomJSON.serialize(RandomJSON.object(&random, depth: 0), &random).utf8)
            switch random.next() % 3 {
            case 0: bytes = Array(bytes.prefix(Int(random.next() % UInt64(bytes.count))))
            case 1: bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
            default: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: Int(random.next() % UInt64(bytes.count)))
            }
            do {
                _ = try scanLeaves(bytes)
            } catch {
                errors += 1
                #expect(error.offset >= 0 && error.offset <= bytes.count)
            }
        }
        #expect(errors > 1000, "most mutations break a document")
    }
}

/// A small JSON model for property tests.
indirect enum RandomJSON {
    case null, bool(Bool), integer(Int64), float(Double), string(String), object([(String, RandomJSON)]), array([RandomJSON])

    static let alphabet: [Character] = ["a", "b", "z", "_", " ", "é", "中", "😀", "\"", "\\", "\n", "/", "\u{1}"]

    static func string(_ random: inout SeededRandom) -> String {
        String((0..<Int(random.next() % 12)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
    }

    static func value(_ random: inout SeededRandom, depth: Int) -> RandomJSON {
        switch random.next() % (depth < 4 ? 7 : 5) {
        case 0: .null
        case 1: .bool(random.next() % 2 == 0)
        case 2: .integer(Int64(bitPattern: random.next()) >> Int64(random.next() % 64))
        case 3: .float((random.uniform() - 0.5) * pow(10, Double(Int(random.next() % 40)) - 20))
        case 4: .string(string(&random))
        case 5: object(&random, depth: depth + 1)
        default: .array((0..<Int(random.next() % 4)).map { _ in value(&random, depth: depth + 1) })
        }
    }

    static func object(_ random: inout SeededRandom, depth: Int) -> RandomJSON {
        .object((0..<Int(random.next() % 5)).map { index in ("k\(index)" + string(&random).filter { $0 != "." }, value(&random, depth: depth)) })
    }

    static func serialize(_ value: RandomJSON, _ random: inout SeededRandom) -> String {
        func quote(_ text: String, _ random: inout SeededRandom) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += random.next() % 2 == 0 ? "\\n" : "\\u000a"
                case "/": out += random.next() % 2 == 0 ? "/" : "\\/"
                case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
                case _ where scalar.value >= 0x80 && random.next() % 2 == 0:
                    for unit in String(scalar).utf16 { out += String(format: "\\u%04X", unit) }
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        let space = random.next() % 4 == 0 ? " \n\t" : ""
        switch value {
        case .null: return "null"
        case let .bool(v): return v ? "true" : "false"
        case let .integer(v): return String(v)
        case let .float(v): return random.next() % 2 == 0 ? "\(v)" : String(format: "%.17e", v)
        case let .string(s): return quote(s, &random)
        case let .object(members):
            return "{" + space + members.map { quote($0.0, &random) + space + ":" + serialize($0.1, &random) }.joined(separator: "," + space) + "}"
        case let .array(elements):
            return "[" + space + elements.map { serialize($0, &random) }.joined(separator: ",") + space + "]"
        }
    }

    static func leaves(_ value: RandomJSON, path: String) -> [(String, Seen)] {
        switch value {
        case .null: return [(path, .null)]
        case let .bool(v): return [(path, .bool(v))]
        case let .integer(v): return [(path, .integer(v))]
        case let .float(v):
            // "1.0" style output of whole floats still has a fraction or exponent, so stays a float.
            return [(path, .float(v))]
        case let .string(s): return [(path, .string(s))]
        case let .object(members):
            let inner = members.flatMap { leaves($0.1, path: path.isEmpty ? $0.0 : path + "." + $0.0) }
            return path.isEmpty ? inner : inner + [(path, .object(members.count))]
        case let .array(elements):
            let types = Set(elements.map(\.type))
            return elements.flatMap { leaves($0, path: path + "[]") } + [(path, .array(elements.count, types))]
        }
    }

    var type: JSONValueType {
        switch self {
        case .null: .null
        case .bool: .bool
        case .integer: .integer
        case .float: .float
        case .string: .string
        case .object: .object
        case .array: .array
        }
    }
}
