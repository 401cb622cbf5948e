/// The binary form of a window profile, as it travels between detector instances:
///
///     "DLWP" · format version (1 byte) · body · CRC-32 of everything before it (4 bytes, little endian)
///
/// Integers are LEB128 varints (zigzag where signed), doubles 8 bytes little endian. Decoding checks
/// the checksum first, then every length and count against the configuration, and names the byte
/// where it gave up.
extension WindowProfile {
    public static let formatVersion: UInt8 = 1
    private static let magic: [UInt8] = Array("DLWP".utf8)

    public func encoded() -> [UInt8] {
        var writer = BinaryWriter()
        writer.bytes(Self.magic)
        writer.byte(Self.formatVersion)
        let c = configuration
        for value in [c.maxFields, c.quantileK, c.hllPrecision, c.frequentValues, c.maxValueBytes] { writer.varint(UInt64(value)) }
        writer.varint(UInt64(recordCount))
        writer.varint(UInt64(malformedCount))
        let reasons = malformedByReason.sorted { $0.key.rawValue < $1.key.rawValue }
        writer.varint(UInt64(reasons.count))
        for (reason, count) in reasons {
            writer.byte(UInt8(ScanErrorReason.allCases.firstIndex(of: reason)!))
            writer.varint(UInt64(count))
        }
        writeOptional(firstEventTime, &writer)
        writeOptional(lastEventTime, &writer)
        writer.varint(UInt64(overflowLeaves))
        overflowFields.encode(into: &writer)
        let ranges = offsetRanges
        writer.varint(UInt64(ranges.count))
        for range in ranges {
            writer.string(range.topic)
            writer.signedVarint(Int64(range.partition))
            writer.signedVarint(range.first)
            writer.signedVarint(range.last)
        }
        let fields = self.fields
        writer.varint(UInt64(fields.count))
        for field in fields { Self.encode(field, into: &writer) }
        var bytes = writer.bytes
        let checksum = CRC32.checksum(bytes[...])
        withUnsafeBytes(of: checksum.littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    private func writeOptional(_ value: Int64?, _ writer: inout BinaryWriter) {
        writer.byte(value == nil ? 0 : 1)
        if let value { writer.signedVarint(value) }
    }

    private static func writeMoments(_ moments: RunningMoments, _ writer: inout BinaryWriter) {
        writer.varint(UInt64(moments.count))
        guard moments.count > 0 else { return }
        writer.double(moments.mean)
        writer.double(moments.m2)
        writer.double(moments.min)
        writer.double(moments.max)
    }

    private static func encode(_ field: FieldProfile, into writer: inout BinaryWriter) {
        writer.varint(UInt64(field.pathBytes.count))
        writer.bytes(field.pathBytes)
        writer.varint(UInt64(field.present))
        for count in field.typeCounts { writer.varint(UInt64(count)) }
        for count in field.arrayElementTypes { writer.varint(UInt64(count)) }
        writeMoments(field.numbers, &writer)
        writeMoments(field.stringLengths, &writer)
        writeMoments(field.arrayLengths, &writer)
        let presentParts: UInt8 = (field.quantiles == nil ? 0 : 1) | (field.distinct == nil ? 0 : 2) | (field.frequent == nil ? 0 : 4)
        writer.byte(presentParts)
        field.quantiles?.encode(into: &writer)
        field.distinct?.encode(into: &writer)
        field.frequent?.encode(into: &writer)
    }

    /// Decodes bytes made by `encoded()`; throws on any corruption or truncation.
    public convenience init(encoded bytes: [UInt8]) throws(ProfileDecodingError) {
        guard bytes.count >= Self.magic.count + 1 + 4 else {
            throw ProfileDecodingError(reason: "truncated: \(bytes.count) bytes is shorter than any profile", offset: bytes.count)
        }
        guard Array(bytes.prefix(4)) == Self.magic else { throw ProfileDecodingError(reason: "not a Driftline window profile (bad magic)", offset: 0) }
        guard bytes[4] == Self.formatVersion else {
            throw ProfileDecodingError(reason: "unsupported format version \(bytes[4]) (this build reads \(Self.formatVersion))", offset: 4)
        }
        let body = bytes.count - 4
        let stored = (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[body + $1]) << (8 * UInt32($1)) }
        guard CRC32.checksum(bytes[..<body]) == stored else {
            throw ProfileDecodingError(reason: "checksum mismatch: the profile is corrupt or truncated", offset: body)
        }
        // Reads the body in place (a copy of it was a tenth of decoding a partial).
        var reader = BinaryReader(bytes, from: 5, to: body)
        try self.init(reading: &reader)
        guard reader.isAtEnd else { throw ProfileDecodingError(reason: "\(reader.remaining) unexpected bytes after the profile", offset: reader.offset) }
    }

    private convenience init(reading reader: inout BinaryReader) throws(ProfileDecodingError) {
        var configuration = ProfileConfiguration()
        configuration.maxFields = Int(try reader.varint(max: 1 << 20, "maxFields"))
        configuration.quantileK = Int(try reader.varint(max: 65_536, "quantileK"))
        configuration.hllPrecision = Int(try reader.varint(max: 18, "hllPrecision"))
        configuration.frequentValues = Int(try reader.varint(max: 65_536, "frequentValues"))
        configuration.maxValueBytes = Int(try reader.varint(max: 65_536, "maxValueBytes"))
        do { try configuration.validate() } catch { throw reader.error(error.description) }
        self.init(configuration: configuration)
        let records = Int64(try reader.varint(max: UInt64(Int64.max), "record count"))
        let malformed = Int64(try reader.varint(max: UInt64(Int64.max), "malformed count"))
        var byReason: [ScanErrorReason: Int64] = [:]
        for _ in 0..<(try reader.varint(max: UInt64(ScanErrorReason.allCases.count), "malformed reasons")) {
            let index = Int(try reader.byte())
            guard index < ScanErrorReason.allCases.count else { throw reader.error("unknown malformed reason \(index)") }
            byReason[ScanErrorReason.allCases[index]] = Int64(try reader.varint(max: UInt64(malformed), "malformed count for a reason"))
        }
        let first = try Self.readOptional(&reader)
        let last = try Self.readOptional(&reader)
        let overflowLeaves = Int64(try reader.varint(max: UInt64(Int64.max), "overflow leaves"))
        let overflowFields = try HyperLogLog(from: &reader)
        var ranges: [OffsetRange] = []
        for _ in 0..<(try reader.varint(max: 1 << 20, "offset ranges")) {
            let topic = try reader.string()
            let partition = try reader.signedVarint()
            guard let partition32 = Int32(exactly: partition) else { throw reader.error("partition \(partition) out of range") }
            ranges.append(OffsetRange(topic: topic, partition: partition32, first: try reader.signedVarint(), last: try reader.signedVarint()))
        }
        var fields: [FieldProfile] = []
        let fieldCount = try reader.varint(max: UInt64(configuration.maxFields), "field count")
        for _ in 0..<fieldCount { fields.append(try Self.decodeField(&reader, configuration, records: records)) }
        guard restore(
            recordCount: records, malformedCount: malformed, malformedByReason: byReason, firstEventTime: first,
            lastEventTime: last, overflowLeaves: overflowLeaves, overflowFields: overflowFields, ranges: ranges, fields: fields
        ) else { throw reader.error("duplicate field paths") }
    }

    private static func readOptional(_ reader: inout BinaryReader) throws(ProfileDecodingError) -> Int64? {
        switch try reader.byte() {
        case 0: return nil
        case 1: return try reader.signedVarint()
        case let flag: throw reader.error("invalid presence flag \(flag)")
        }
    }

    private static func readMoments(_ reader: inout BinaryReader) throws(ProfileDecodingError) -> RunningMoments {
        let count = Int64(try reader.varint(max: UInt64(Int64.max), "moment count"))
        guard count > 0 else { return RunningMoments() }
        let moments = RunningMoments(count: count, mean: try reader.double(), m2: try reader.double(), min: try reader.double(), max: try reader.double())
        guard moments.mean.isFinite, moments.m2 >= 0, moments.min <= moments.max else { throw reader.error("inconsistent moments") }
        return moments
    }

    private static func decodeField(_ reader: inout BinaryReader, _ configuration: ProfileConfiguration, records: Int64) throws(ProfileDecodingError) -> FieldProfile {
        let length = try reader.varint(max: 1 << 16, "path length")
        let path = try reader.bytes(Int(length))
        guard String(validating: path, as: UTF8.self) != nil else { throw reader.error("field path is not valid UTF-8") }
        let field = path.withUnsafeBytes { FieldProfile(path: path, hash: Hash64.bytes($0), configuration: configuration) }
        field.present = Int64(try reader.varint(max: UInt64(records), "present count"))
        for index in JSONValueType.allCases.indices { field.setCount(of: index, to: Int64(try reader.varint(max: UInt64(Int64.max), "type count"))) }
        for index in JSONValueType.allCases.indices { field.setArrayElementCount(of: index, to: Int64(try reader.varint(max: UInt64(Int64.max), "element type count"))) }
        field.numbers = try readMoments(&reader)
        field.stringLengths = try readMoments(&reader)
        field.arrayLengths = try readMoments(&reader)
        let parts = try reader.byte()
        guard parts < 8 else { throw reader.error("invalid sketch flags \(parts)") }
        if parts & 1 != 0 {
            let sketch = try QuantileSketch(from: &reader)
            guard sketch.k == configuration.quantileK else { throw reader.error("quantile sketch k differs from the profile's") }
            field.quantiles = sketch
        }
        if parts & 2 != 0 {
            let sketch = try HyperLogLog(from: &reader)
            guard sketch.precision == configuration.hllPrecision else { throw reader.error("HyperLogLog precision differs from the profile's") }
            field.distinct = sketch
        }
        if parts & 4 != 0 {
            let summary = try FrequentValues(from: &reader)
            guard summary.capacity == configuration.frequentValues, summary.maxValueBytes == configuration.maxValueBytes else {
                throw reader.error("frequent values size differs from the profile's")
            }
            field.frequent = summary
        }
        return field
    }
}
