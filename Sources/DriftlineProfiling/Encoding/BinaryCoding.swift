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
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func signedVarint(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))  // zigzag
    }

    mutating func double(_ value: Double) {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func bytes(_ values: [UInt8]) { bytes.append(contentsOf: values) }

    mutating func string(_ text: String) {
        varint(UInt64(text.utf8.count))
        bytes.append(contentsOf: text.utf8)
    }
}

struct BinaryReader {
    private let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }
    var remaining: Int { bytes.count - offset }

    func error(_ reason: String) -> ProfileDecodingError { ProfileDecodingError(reason: reason, offset: offset) }

    mutating func byte() throws(ProfileDecodingError) -> UInt8 {
        guard offset < bytes.count else { throw error("truncated: expected 1 more byte") }
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
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
