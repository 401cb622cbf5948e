/// Why bytes could not be read back as a profile, and where.
public struct ProfileDecodingError: Error, Equatable, CustomStringConvertible {
    public var reason: String
    public var offset: Int
    public var description: String { "cannot decode profile at byte \(offset): \(reason)" }
}

/// Little-endian writer with LEB128 varints; the encoding's only primitive types.
struct BinaryWriter {
    private(set) var bytes: [UInt8] = []

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func varint(_ value: UInt64) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 10) { buffer in
            let length = Self.varint(value, at: buffer.baseAddress!)
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<length]))
        }
    }

    mutating func signedVarint(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))  // zigzag
    }

    mutating func double(_ value: Double) {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// The doubles one after another, 8 little-endian bytes each (one copy on little-endian hosts:
    /// sketch levels are most of a partial's bytes).
    mutating func doubles(_ values: [Double]) {
        #if _endian(little)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for value in values { double(value) }
        #endif
    }

    mutating func bytes(_ values: [UInt8]) { bytes.append(contentsOf: values) }

    /// Lets `body` write up to `maximum` bytes in place (it returns how many it wrote): for long runs
    /// of small items, where appending each byte checked the array's uniqueness and capacity.
    mutating func append(upTo maximum: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: maximum))
        let written = bytes.withUnsafeMutableBufferPointer { body($0.baseAddress! + start) }
        precondition(written <= maximum, "wrote past the room asked for")
        bytes.removeLast(maximum - written)
    }

    /// `value` as a LEB128 varint at `out`; returns its length (at most 10 bytes).
    @inline(__always)
    static func varint(_ value: UInt64, at out: UnsafeMutablePointer<UInt8>) -> Int {
        var value = value
        var length = 0
        while value >= 0x80 {
            out[length] = UInt8(truncatingIfNeeded: value) | 0x80
            value >>= 7
            length += 1
        }
        out[length] = UInt8(value)
        return length + 1
    }

    mutating func string(_ text: String) {
        varint(UInt64(text.utf8.count))
        bytes.append(contentsOf: text.utf8)
    }
}

struct BinaryReader {
    private let bytes: [UInt8]
    /// Where reading stops (a profile's checksum follows its body); offsets count from `bytes`' start.
    private let end: Int
    private(set) var offset: Int

    init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.end = end ?? bytes.count
        offset = start
        precondition(0 <= start && start <= self.end && self.end <= bytes.count, "reader range outside its bytes")
    }

    var isAtEnd: Bool { offset == end }
    var remaining: Int { end - offset }

    func error(_ reason: String) -> ProfileDecodingError { ProfileDecodingError(reason: reason, offset: offset) }

    mutating func byte() throws(ProfileDecodingError) -> UInt8 {
        guard offset < end else { throw error("truncated: expected 1 more byte") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func varint() throws(ProfileDecodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let next = try byte()
            if shift == 63, next > 1 { throw error("varint overflows 64 bits") }
            result |= UInt64(next & 0x7F) << shift
            if next & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw error("varint longer than 10 bytes") }
        }
    }

    /// A varint no larger than `max`; `what` names it in the error.
    mutating func varint(max: UInt64, _ what: String) throws(ProfileDecodingError) -> UInt64 {
        let start = offset
        let value = try varint()
        guard value <= max else { throw ProfileDecodingError(reason: "\(what) \(value) exceeds \(max)", offset: start) }
        return value
    }

    mutating func signedVarint() throws(ProfileDecodingError) -> Int64 {
        let raw = try varint()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    mutating func double() throws(ProfileDecodingError) -> Double {
        guard remaining >= 8 else { throw error("truncated: expected 8 more bytes") }
        var raw: UInt64 = 0
        for index in 0..<8 { raw |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        offset += 8
        return Double(bitPattern: raw)
    }

    /// `count` doubles as `doubles(_:)` wrote them, appended to `values`.
    mutating func doubles(_ count: Int, into values: inout [Double]) throws(ProfileDecodingError) {
        guard count >= 0, remaining / 8 >= count else { throw error("truncated: expected \(count) doubles") }
        let start = offset
        values.reserveCapacity(values.count + count)
        bytes.withUnsafeBytes { raw in
            for index in 0..<count {
                values.append(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: start + 8 * index, as: UInt64.self))))
            }
        }
        offset += 8 * count
    }

    mutating func bytes(_ count: Int) throws(ProfileDecodingError) -> [UInt8] {
        guard count >= 0, remaining >= count else { throw error("truncated: expected \(count) more bytes") }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func string(maxBytes: Int = 1 << 16) throws(ProfileDecodingError) -> String {
        let length = try varint(max: UInt64(maxBytes), "string length")
        let raw = try bytes(Int(length))
        guard let text = String(validating: raw, as: UTF8.self) else { throw error("string is not valid UTF-8") }
        return text
    }
}

/// CRC-32 (IEEE), so corruption anywhere in an encoded profile is caught before decoding.
/// Slicing-by-8 (eight bytes a step through eight derived tables): the byte-at-a-time loop ran at
/// ~0.4 GB/s and checked every partial twice (encode, decode), 0.13 s of CPU per 1M benchmark records.
enum CRC32 {
    /// `tables[0]` is the classic byte table; `tables[n][b]` is the CRC of byte b followed by n zero bytes.
    private static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for index in 0..<256 {
            var value = UInt32(index)
            for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
            tables[index] = value
        }
        for slice in 1..<8 {
            for index in 0..<256 {
                let previous = tables[(slice - 1) * 256 + index]
                tables[slice * 256 + index] = tables[Int(previous & 0xFF)] ^ (previous >> 8)
            }
        }
        return tables
    }()

    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        tables.withUnsafeBufferPointer { table in
            var crc: UInt32 = 0xFFFF_FFFF
            var offset = 0
            let count = bytes.count
            while count - offset >= 8 {
                let low = crc ^ UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                let high = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
                crc = table[7 * 256 + Int(low & 0xFF)] ^ table[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((low >> 16) & 0xFF)] ^ table[4 * 256 + Int(low >> 24)]
                    ^ table[3 * 256 + Int(high & 0xFF)] ^ table[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ table[1 * 256 + Int((high >> 16) & 0xFF)] ^ table[Int(high >> 24)]
                offset += 8
            }
            while offset < count {
                crc = table[Int((crc ^ UInt32(bytes[offset])) & 0xFF)] ^ (crc >> 8)
                offset += 1
            }
            return crc ^ 0xFFFF_FFFF
        }
    }
}
