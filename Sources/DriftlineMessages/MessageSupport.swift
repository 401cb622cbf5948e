import Foundation

/// Times on the wire: RFC 3339, UTC, milliseconds ("2026-11-25T21:06:39.123Z").
public enum WireTime {
    public static func format(milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}

/// Deterministic message ids: the same logical message (same source, field, window, kind) always
/// gets the same id, so consumers can drop duplicates. 128 bits, hex.
public enum StableID {
    public static func make(_ parts: [String]) -> String {
        let text = parts.joined(separator: "\u{1F}")  // unit separator: parts cannot run together
        return hex(fnv(text, basis: 0xCBF2_9CE4_8422_2325)) + hex(fnv(text, basis: 0x8422_2325_CBF2_9CE4))
    }

    private static func fnv(_ text: String, basis: UInt64) -> UInt64 {
        var hash = basis
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        // Final avalanche so close inputs give unrelated ids.
        hash ^= hash >> 33
        hash &*= 0xFF51_AFD7_ED55_8CCD
        hash ^= hash >> 33
        return hash
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// The source a message is about: a topic (and, for records, where in it).
public struct SourceReference: Codable, Equatable, Sendable {
    public var topic: String
    public var partition: Int32?
    public var offset: Int64?

    public init(topic: String, partition: Int32? = nil, offset: Int64? = nil) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}

/// A window of event time, [start, end).
public struct WindowReference: Codable, Equatable, Sendable {
    public var start: String
    public var end: String

    public init(startMilliseconds: Int64, endMilliseconds: Int64) {
        start = WireTime.format(milliseconds: startMilliseconds)
        end = WireTime.format(milliseconds: endMilliseconds)
    }
}

/// JSON as Driftline writes it: sorted keys, no escaped slashes.
public enum WireJSON {
    public static func encode<T: Encodable>(_ message: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(message)
    }
}
