#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct ScannerOptions: Sendable, Equatable {
    /// Objects and arrays nested deeper than this make the record malformed.
    public var maxDepth: Int = 64
    /// A record with more leaves than this is malformed (bounds the per-record buffers).
    public var maxLeaves: Int = 4096
    /// Longest flattened field path, in bytes.
    public var maxPathBytes: Int = 512
    /// Profile array elements as the field `path[]` (objects inside as `path[].child`).
    public var profileArrayElements: Bool = true

    public init() {}
}

/// Scans one JSON record into leaves without Foundation and, once its buffers have grown to the
/// largest record seen, without allocating. Not thread-safe: one scanner per thread.
///
/// Paths flatten nested objects with `.` (`a.b.c`); array elements are `a[]`. Numbers: integer
/// literals must fit Int64 and other numbers a finite Double, otherwise the record is malformed.
/// Duplicate keys each produce a leaf.
public final class JSONScanner {
    public let options: ScannerOptions

    // Per-record arenas, reset for every record and grown (never shrunk) on demand.
    private var leaves: UnsafeMutablePointer<JSONLeaf>
    private var leafCount = 0
    private var paths: UnsafeMutablePointer<UInt8>
    private var pathsUsed = 0
    private var pathsCapacity: Int
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaUsed = 0
    private var arenaCapacity: Int
    // The current path while descending.
    private var currentPath: UnsafeMutablePointer<UInt8>
    private var currentPathLength = 0

    private var input: UnsafePointer<UInt8> = UnsafePointer(bitPattern: 8)!
    private var end = 0
    private var position = 0

    public init(options: ScannerOptions = ScannerOptions()) {
        self.options = options
        leaves = .allocate(capacity: options.maxLeaves)
        pathsCapacity = 4096
        paths = .allocate(capacity: pathsCapacity)
        arenaCapacity = 4096
        arena = .allocate(capacity: arenaCapacity)
        currentPath = .allocate(capacity: options.maxPathBytes + 4)
    }

    deinit {
        leaves.deallocate()
        paths.deallocate()
        arena.deallocate()
        currentPath.deallocate()
    }

    // MARK: Results of the last scan (valid until the next one)

    public var count: Int { leafCount }

    public subscript(index: Int) -> JSONLeaf { leaves[index] }

    /// The leaf's field path bytes (UTF-8).
    public func path(of leaf: JSONLeaf) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: paths + Int(leaf.pathOffset), count: Int(leaf.pathLength))
    }

    public func pathString(of leaf: JSONLeaf) -> String { String(decoding: path(of: leaf), as: UTF8.self) }

    /// The leaf's string value (unescaped UTF-8), for `.string` leaves.
    public func string(of leaf: JSONLeaf) -> UnsafeRawBufferPointer {
        let base = leaf.stringInArena ? UnsafePointer(arena) : input
        return UnsafeRawBufferPointer(start: base + leaf.stringOffset, count: leaf.stringLength)
    }

    // MARK: Scanning

    /// Scans `record`; afterwards `count` and `self[i]` describe its leaves. `record` must stay
    /// alive and unchanged while the leaves are read.
    public func scan(_ record: UnsafeRawBufferPointer) throws(ScanError) {
        leafCount = 0
        pathsUsed = 0
        arenaUsed = 0
        currentPathLength = 0
        guard let base = record.baseAddress, record.count > 0 else { throw ScanError(reason: .empty, offset: 0) }
        input = base.assumingMemoryBound(to: UInt8.self)
        end = record.count
        position = 0
        skipWhitespace()
        guard position < end else { throw ScanError(reason: .empty, offset: position) }
        guard input[position] == UInt8(ascii: "{") else { throw ScanError(reason: .notAnObject, offset: position) }
        _ = try scanObject(depth: 1, isRoot: true)
        skipWhitespace()
        if position < end { throw ScanError(reason: .trailingCharacters, offset: position) }
    }

    @inline(__always)
    private func fail(_ reason: ScanErrorReason) -> ScanError { ScanError(reason: reason, offset: position) }

    @inline(__always)
    private func skipWhitespace() {
        while position < end {
            let byte = input[position]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            position += 1
        }
    }

    @inline(__always)
    private func expect(_ byte: UInt8) throws(ScanError) {
        guard position < end else { throw fail(.truncated) }
        guard input[position] == byte else { throw fail(.unexpectedCharacter) }
        position += 1
    }

    /// Scans an object starting at `{`; returns its member count.
    private func scanObject(depth: Int, isRoot: Bool) throws(ScanError) -> Int {
        guard depth <= options.maxDepth else { throw fail(.nestingTooDeep) }
        position += 1  // {
        skipWhitespace()
        guard position < end else { throw fail(.truncated) }
        if input[position] == UInt8(ascii: "}") {
            position += 1
            return 0
        }
        let parentLength = currentPathLength
        var members = 0
        while true {
            skipWhitespace()
            guard position < end else { throw fail(.truncated) }
            guard input[position] == UInt8(ascii: "\"") else { throw fail(.unexpectedCharacter) }
            // The key extends the path: "parent.key" (no dot at the root).
            let key = try scanString()
            var length = parentLength
            if !isRoot {
                guard length + 1 <= options.maxPathBytes else { throw fail(.pathTooLong) }
                currentPath[length] = UInt8(ascii: ".")
                length += 1
            }
            guard length + key.count <= options.maxPathBytes else { throw fail(.pathTooLong) }
            if key.count > 0 { (currentPath + length).update(from: key.base, count: key.count) }
            length += key.count
            currentPathLength = length
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            _ = try scanValue(depth: depth)
            currentPathLength = parentLength
            members += 1
            skipWhitespace()
            guard position < end else { throw fail(.truncated) }
            let next = input[position]
            position += 1
            if next == UInt8(ascii: ",") { continue }
            if next == UInt8(ascii: "}") { return members }
            position -= 1
            throw fail(.unexpectedCharacter)
        }
    }

    /// Scans any value at the current path and records its leaf; returns its type.
    private func scanValue(depth: Int) throws(ScanError) -> JSONValueType {
        guard position < end else { throw fail(.truncated) }
        let byte = input[position]
        switch byte {
        case UInt8(ascii: "{"):
            let members = try scanObject(depth: depth + 1, isRoot: false)
            try emit(.object, integer: Int64(members))
            return .object
        case UInt8(ascii: "["):
            return try scanArray(depth: depth + 1)
        case UInt8(ascii: "\""):
            let value = try scanString()
            var leaf = try makeLeaf(.string)
            leaf.stringOffset = value.offset
            leaf.stringLength = value.count
            leaf.stringInArena = value.inArena
            leaves[leafCount - 1] = leaf
            return .string
        case UInt8(ascii: "t"):
            try literal("true")
            try emit(.bool, integer: 1)
            return .bool
        case UInt8(ascii: "f"):
            try literal("false")
            try emit(.bool, integer: 0)
            return .bool
        case UInt8(ascii: "n"):
            try literal("null")
            try emit(.null, integer: 0)
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try scanNumber()
        default:
            throw fail(.unexpectedCharacter)
        }
    }

    private func scanArray(depth: Int) throws(ScanError) -> JSONValueType {
        guard depth <= options.maxDepth else { throw fail(.nestingTooDeep) }
        position += 1  // [
        var elements: Int64 = 0
        var types: UInt8 = 0
        let parentLength = currentPathLength
        skipWhitespace()
        guard position < end else { throw fail(.truncated) }
        if input[position] != UInt8(ascii: "]") {
            while true {
                skipWhitespace()
                let type: JSONValueType
                if options.profileArrayElements {
                    guard parentLength + 2 <= options.maxPathBytes else { throw fail(.pathTooLong) }
                    currentPath[parentLength] = UInt8(ascii: "[")
                    currentPath[parentLength + 1] = UInt8(ascii: "]")
                    currentPathLength = parentLength + 2
                    type = try scanValue(depth: depth)
                    currentPathLength = parentLength
                } else {
                    type = try skipValue(depth: depth)
                }
                types |= 1 << type.rawValue
                elements += 1
                skipWhitespace()
                guard position < end else { throw fail(.truncated) }
                let next = input[position]
                position += 1
                if next == UInt8(ascii: ",") { continue }
                if next == UInt8(ascii: "]") { break }
                position -= 1
                throw fail(.unexpectedCharacter)
            }
        } else {
            position += 1
        }
        var leaf = try makeLeaf(.array)
        leaf.integer = elements
        leaf.number = Double(elements)
        leaf.elementTypes = types
        leaves[leafCount - 1] = leaf
        return .array
    }

    /// Validates a value without recording leaves (array elements when element profiling is off).
    private func skipValue(depth: Int) throws(ScanError) -> JSONValueType {
        let savedCount = leafCount
        let savedPaths = pathsUsed
        // Scan normally into scratch leaves, then drop them: one code path validates everything.
        let type = try scanValue(depth: depth)
        leafCount = savedCount
        pathsUsed = savedPaths
        return type
    }

    @inline(__always)
    private func literal(_ word: StaticString) throws(ScanError) {
        let length = word.utf8CodeUnitCount
        guard position + length <= end else { throw fail(.truncated) }
        let expected = word.utf8Start
        for index in 0..<length where input[position + index] != expected[index] {
            position += index
            throw fail(.unexpectedCharacter)
        }
        position += length
    }

    @inline(__always)
    private func makeLeaf(_ type: JSONValueType) throws(ScanError) -> JSONLeaf {
        guard leafCount < options.maxLeaves else { throw fail(.tooManyLeaves) }
        if pathsUsed + currentPathLength > pathsCapacity { growPaths(pathsUsed + currentPathLength) }
        if currentPathLength > 0 { (paths + pathsUsed).update(from: currentPath, count: currentPathLength) }
        // The hash depends on the path text only, so `{"a":{"b":1}}` and `{"a.b":1}` are one field.
        let leaf = JSONLeaf(
            pathHash: Hash64.bytes(UnsafeRawPointer(currentPath), currentPathLength), pathOffset: Int32(pathsUsed), pathLength: Int32(currentPathLength), type: type,
            integer: 0, number: 0, stringOffset: 0, stringLength: 0, stringInArena: false, elementTypes: 0
        )
        pathsUsed += currentPathLength
        leaves[leafCount] = leaf
        leafCount += 1
        return leaf
    }

    @inline(__always)
    private func emit(_ type: JSONValueType, integer: Int64, number: Double? = nil) throws(ScanError) {
        var leaf = try makeLeaf(type)
        leaf.integer = integer
        leaf.number = number ?? Double(integer)
        leaves[leafCount - 1] = leaf
    }

    private func growPaths(_ needed: Int) {
        let capacity = Swift.max(needed, pathsCapacity * 2)
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        grown.update(from: paths, count: pathsUsed)
        paths.deallocate()
        paths = grown
        pathsCapacity = capacity
    }

    private func growArena(_ needed: Int) {
        let capacity = Swift.max(needed, arenaCapacity * 2)
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        grown.update(from: arena, count: arenaUsed)
        arena.deallocate()
        arena = grown
        arenaCapacity = capacity
    }

    // MARK: Strings

    struct ScannedString {
        var offset: Int
        var count: Int
        var inArena: Bool
        /// Valid until the arena grows (used immediately for keys).
        var base: UnsafePointer<UInt8>
    }

    /// Scans a string starting at `"`, validating UTF-8 and escapes. Without escapes the result
    /// points into the input; with escapes, into the arena.
    private func scanString() throws(ScanError) -> ScannedString {
        let input = input, end = end
        let start = position + 1  // after the opening quote
        // The cursor in a local while the bytes are plain (see `scanNumber`); the slow paths take
        // it back into `position`.
        var at = start
        // Fast path: 8 bytes at a time while they are plain ASCII (no quote, backslash or control).
        while at + 8 <= end {
            let word = UnsafeRawPointer(input + at).loadUnaligned(as: UInt64.self)
            if Self.needsAttention(word) { break }
            at += 8
        }
        while at < end {
            let byte = input[at]
            if byte == UInt8(ascii: "\"") {
                position = at + 1
                return ScannedString(offset: start, count: at - start, inArena: false, base: input + start)
            }
            if byte < 0x80, byte >= 0x20, byte != UInt8(ascii: "\\") {
                at += 1
                continue
            }
            position = at
            if byte == UInt8(ascii: "\\") { return try scanEscapedString(start: start) }
            if byte < 0x20 { throw fail(.controlCharacterInString) }
            try validateMultibyte()
            at = position
        }
        position = at
        throw fail(.truncated)
    }

    /// True when any byte of `word` is a quote, backslash, control character or non-ASCII.
    @inline(__always)
    private static func needsAttention(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let hasQuote = (quote &- ones) & ~quote & highs
        let hasBackslash = (backslash &- ones) & ~backslash & highs
        let hasControl = (word &- ones &* 0x20) & ~word & highs
        return (hasQuote | hasBackslash | hasControl | (word & highs)) != 0
    }

    /// Validates one multi-byte UTF-8 sequence at `position` (no overlongs, no surrogates, ≤ U+10FFFF).
    @inline(__always)
    private func validateMultibyte() throws(ScanError) {
        let lead = input[position]
        let length: Int
        var minimum: UInt32
        var scalar: UInt32
        switch lead {
        case 0xC2...0xDF: length = 2; minimum = 0x80; scalar = UInt32(lead & 0x1F)
        case 0xE0...0xEF: length = 3; minimum = 0x800; scalar = UInt32(lead & 0x0F)
        case 0xF0...0xF4: length = 4; minimum = 0x10000; scalar = UInt32(lead & 0x07)
        default: throw fail(.invalidUTF8)
        }
        guard position + length <= end else { throw fail(.truncated) }
        for index in 1..<length {
            let next = input[position + index]
            guard next & 0xC0 == 0x80 else { throw fail(.invalidUTF8) }
            scalar = scalar << 6 | UInt32(next & 0x3F)
        }
        guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else { throw fail(.invalidUTF8) }
        position += length
    }

    /// Continues a string that contains escapes, writing its unescaped bytes to the arena.
    private func scanEscapedString(start: Int) throws(ScanError) -> ScannedString {
        let arenaStart = arenaUsed
        // Unescaped output is never longer than the escaped input.
        var remainingBound = end - start
        if arenaUsed + remainingBound > arenaCapacity { growArena(arenaUsed + remainingBound) }
        remainingBound = 0
        var out = arenaUsed
        let prefix = position - start
        if prefix > 0 { (arena + out).update(from: input + start, count: prefix) }
        out += prefix
        while position < end {
            let byte = input[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                arenaUsed = out
                return ScannedString(offset: arenaStart, count: out - arenaStart, inArena: true, base: arena + arenaStart)
            }
            if byte == UInt8(ascii: "\\") {
                guard position + 1 < end else { throw fail(.truncated) }
                let escaped = input[position + 1]
                let simple: UInt8? = switch escaped {
                case UInt8(ascii: "\""): 0x22
                case UInt8(ascii: "\\"): 0x5C
                case UInt8(ascii: "/"): 0x2F
                case UInt8(ascii: "b"): 0x08
                case UInt8(ascii: "f"): 0x0C
                case UInt8(ascii: "n"): 0x0A
                case UInt8(ascii: "r"): 0x0D
                case UInt8(ascii: "t"): 0x09
                default: nil
                }
                if let simple {
                    arena[out] = simple
                    out += 1
                    position += 2
                    continue
                }
                guard escaped == UInt8(ascii: "u") else { throw fail(.badEscape) }
                var scalar = try hex4(at: position + 2)
                position += 6
                if (0xD800...0xDBFF).contains(scalar) {
                    // A high surrogate must be followed by \u and a low surrogate.
                    guard position + 6 <= end, input[position] == UInt8(ascii: "\\"), input[position + 1] == UInt8(ascii: "u") else {
                        throw fail(.badEscape)
                    }
                    let low = try hex4(at: position + 2)
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail(.badEscape) }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    position += 6
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw fail(.badEscape)
                }
                out += Self.writeUTF8(scalar, to: arena + out)
                continue
            }
            if byte < 0x20 { throw fail(.controlCharacterInString) }
            if byte < 0x80 {
                arena[out] = byte
                out += 1
                position += 1
            } else {
                let sequenceStart = position
                try validateMultibyte()
                let length = position - sequenceStart
                (arena + out).update(from: input + sequenceStart, count: length)
                out += length
            }
        }
        throw fail(.truncated)
    }

    @inline(__always)
    private func hex4(at offset: Int) throws(ScanError) -> UInt32 {
        guard offset + 4 <= end else { position = end; throw fail(.truncated) }
        var value: UInt32 = 0
        for index in 0..<4 {
            let byte = input[offset + index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: position = offset + index; throw fail(.badEscape)
            }
            value = value << 4 | digit
        }
        return value
    }

    private static func writeUTF8(_ scalar: UInt32, to out: UnsafeMutablePointer<UInt8>) -> Int {
        switch scalar {
        case 0..<0x80:
            out[0] = UInt8(scalar)
            return 1
        case 0x80..<0x800:
            out[0] = UInt8(0xC0 | (scalar >> 6))
            out[1] = UInt8(0x80 | (scalar & 0x3F))
            return 2
        case 0x800..<0x10000:
            out[0] = UInt8(0xE0 | (scalar >> 12))
            out[1] = UInt8(0x80 | ((scalar >> 6) & 0x3F))
            out[2] = UInt8(0x80 | (scalar & 0x3F))
            return 3
        default:
            out[0] = UInt8(0xF0 | (scalar >> 18))
            out[1] = UInt8(0x80 | ((scalar >> 12) & 0x3F))
            out[2] = UInt8(0x80 | ((scalar >> 6) & 0x3F))
            out[3] = UInt8(0x80 | (scalar & 0x3F))
            return 4
        }
    }

    // MARK: Numbers

    private static let powersOfTen: [Double] = (0...22).map { pow(10.0, Double($0)) }

    /// Validates a JSON number and records it as an integer (fits Int64, no fraction or exponent) or
    /// a float (finite Double). Common floats convert exactly on a fast path; the rest use strtod.
    private func scanNumber() throws(ScanError) -> JSONValueType {
        // The cursor in a local, not the scanner's field: the digit loops then keep it in a register
        // (as far as the optimiser knows, loads through `input` could alias the field). Errors
        // report where the cursor is, as `fail` does.
        let input = input, end = end
        let start = position
        var at = start
        var negative = false
        if input[at] == UInt8(ascii: "-") {
            negative = true
            at += 1
        }
        guard at < end else { throw ScanError(reason: .truncated, offset: at) }
        var mantissa: UInt64 = 0
        var digits = 0
        var overflowDigits = false
        let first = input[at]
        guard first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { throw ScanError(reason: .invalidNumber, offset: at) }
        if first == UInt8(ascii: "0") {
            at += 1
            if at < end, input[at] >= UInt8(ascii: "0"), input[at] <= UInt8(ascii: "9") { throw ScanError(reason: .invalidNumber, offset: at) }
        } else {
            while at < end {
                let digit = input[at] &- UInt8(ascii: "0")
                guard digit <= 9 else { break }
                if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(digit) } else { overflowDigits = true }
                digits += 1
                at += 1
            }
        }
        var isFloat = false
        var fractionDigits = 0
        if at < end, input[at] == UInt8(ascii: ".") {
            isFloat = true
            at += 1
            let fractionStart = at
            while at < end {
                let digit = input[at] &- UInt8(ascii: "0")
                guard digit <= 9 else { break }
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(digit)
                    fractionDigits += 1
                    if mantissa != 0 || digits > 0 { digits += 1 }
                } else {
                    overflowDigits = true
                }
                at += 1
            }
            guard at > fractionStart else {
                throw ScanError(reason: at >= end ? .truncated : .invalidNumber, offset: at)
            }
        }
        var exponent = 0
        if at < end, input[at] == UInt8(ascii: "e") || input[at] == UInt8(ascii: "E") {
            isFloat = true
            at += 1
            guard at < end else { throw ScanError(reason: .truncated, offset: at) }
            var exponentNegative = false
            if input[at] == UInt8(ascii: "+") || input[at] == UInt8(ascii: "-") {
                exponentNegative = input[at] == UInt8(ascii: "-")
                at += 1
            }
            let exponentStart = at
            while at < end {
                let digit = input[at] &- UInt8(ascii: "0")
                guard digit <= 9 else { break }
                if exponent < 100_000 { exponent = exponent * 10 + Int(digit) }
                at += 1
            }
            guard at > exponentStart else {
                throw ScanError(reason: at >= end ? .truncated : .invalidNumber, offset: at)
            }
            if exponentNegative { exponent = -exponent }
        }
        position = at

        if !isFloat {
            guard !overflowDigits else { throw ScanError(reason: .numberOutOfRange, offset: start) }
            let limit: UInt64 = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
            guard mantissa <= limit else { throw ScanError(reason: .numberOutOfRange, offset: start) }
            let value = negative ? Int64(truncatingIfNeeded: 0 &- mantissa) : Int64(mantissa)
            try emit(.integer, integer: value)
            return .integer
        }

        let value: Double
        let scale = exponent - fractionDigits
        let exact = !overflowDigits && mantissa <= (1 << 53) && abs(scale) <= 22
        if exact {
            // Clinger's fast path: both operands exact, one correctly rounded operation.
            let m = Double(mantissa)
            value = scale >= 0 ? m * Self.powersOfTen[scale] : m / Self.powersOfTen[-scale]
        } else {
            value = parseWithStrtod(from: start, to: at)
        }
        let signed = negative && exact ? -value : value
        guard signed.isFinite else { throw ScanError(reason: .numberOutOfRange, offset: start) }
        try emit(.float, integer: 0, number: signed)
        return .float
    }

    private func parseWithStrtod(from start: Int, to stop: Int) -> Double {
        let length = stop - start
        if arenaUsed + length + 1 > arenaCapacity { growArena(arenaUsed + length + 1) }
        let text = arena + arenaUsed
        text.update(from: input + start, count: length)
        text[length] = 0
        return text.withMemoryRebound(to: CChar.self, capacity: length + 1) { strtod($0, nil) }
    }
}
