import DriftlineProfiling

/// A partial window profile on the internal profiles topic (keyed by source): one partition's part
/// of one window, in the profile binary format (DLWP) behind a small versioned header.
///
/// Layout (little endian): "DLPP", version 1, source (u16 length + UTF-8), window start and end
/// (i64 ms), the source topic's partition count (i32), covered partitions (u32 count + i32 each),
/// profile (u32 length + DLWP bytes).
public struct PartialProfileMessage: Equatable, Sendable {
    public var source: String
    public var windowStart: Int64
    public var windowEnd: Int64
    /// Partitions of the source topic when the partial was made: how many the aggregator waits for.
    public var partitionCount: Int32
    public var partitions: [Int32]
    public var profile: [UInt8]

    public init(source: String, windowStart: Int64, windowEnd: Int64, partitionCount: Int32, partitions: [Int32], profile: [UInt8]) {
        self.source = source
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.partitionCount = partitionCount
        self.partitions = partitions
        self.profile = profile
    }

    public struct DecodingError: Error, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { "not a partial profile message: \(reason)" }
    }

    private static let magic: [UInt8] = Array("DLPP".utf8)
    private static let version: UInt8 = 1

    public func encoded() -> [UInt8] {
        var bytes = Self.magic
        bytes.append(Self.version)
        let name = Array(source.utf8)
        append(UInt16(name.count), to: &bytes)
        bytes += name
        append(windowStart, to: &bytes)
        append(windowEnd, to: &bytes)
        append(partitionCount, to: &bytes)
        append(UInt32(partitions.count), to: &bytes)
        for partition in partitions { append(partition, to: &bytes) }
        append(UInt32(profile.count), to: &bytes)
        bytes += profile
        return bytes
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(DecodingError) {
        var reader = Reader(bytes: bytes)
        guard try reader.take(4).elementsEqual(Self.magic) else { throw DecodingError(reason: "bad magic") }
        let version: UInt8 = try reader.integer()
        guard version == Self.version else { throw DecodingError(reason: "unsupported version \(version)") }
        let nameLength: UInt16 = try reader.integer()
        source = String(decoding: try reader.take(Int(nameLength)), as: UTF8.self)
        windowStart = try reader.integer()
        windowEnd = try reader.integer()
        partitionCount = try reader.integer()
        let count: UInt32 = try reader.integer()
        guard count <= 1 << 20 else { throw DecodingError(reason: "\(count) partitions") }
        var partitions: [Int32] = []
        for _ in 0..<count { partitions.append(try reader.integer()) }
        self.partitions = partitions
        let length: UInt32 = try reader.integer()
        profile = Array(try reader.take(Int(length)))
        guard reader.position == bytes.count else { throw DecodingError(reason: "trailing bytes") }
    }

    private func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        mutating func take(_ count: Int) throws(DecodingError) -> UnsafeRawBufferPointer {
            guard count >= 0, bytes.count - position >= count else { throw DecodingError(reason: "truncated") }
            defer { position += count }
            return UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
        }

        mutating func integer<T: FixedWidthInteger>() throws(DecodingError) -> T {
            let raw = try take(MemoryLayout<T>.size)
            var value = T.zero
            withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: raw) }
            return T(littleEndian: value)
        }
    }
}
