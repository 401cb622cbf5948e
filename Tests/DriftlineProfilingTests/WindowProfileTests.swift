@testable import DriftlineProfiling
import DriftlineSampleData
import Testing

/// Profiles records `range` of `dataset` into a new window profile.
func profile(_ dataset: DriftDataset, _ range: Range<Int>? = nil, configuration: ProfileConfiguration = ProfileConfiguration(), partition: Int32 = 0) -> WindowProfile {
    let window = WindowProfile(configuration: configuration)
    let scanner = JSONScanner(options: configuration.scannerOptions)
    dataset.forEachRecord { index, record in
        guard range?.contains(index) ?? true else { return }
        #expect(window.add(record, eventTime: 1_000 + Int64(index), scanner: scanner) == nil)
        window.cover(topic: "events", partition: partition, offset: Int64(index))
    }
    return window
}

/// Asserts `a` and `b` describe the same records: exact parts exactly, moments to rounding,
/// sketches within their bounds.
func expectSameProfile(_ a: WindowProfile, _ b: WindowProfile, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.recordCount == b.recordCount, sourceLocation: sourceLocation)
    #expect(a.malformedCount == b.malformedCount && a.malformedByReason == b.malformedByReason, sourceLocation: sourceLocation)
    #expect(a.firstEventTime == b.firstEventTime && a.lastEventTime == b.lastEventTime, sourceLocation: sourceLocation)
    #expect(a.overflowLeaves == b.overflowLeaves && a.overflowFields == b.overflowFields, sourceLocation: sourceLocation)
    #expect(a.offsetRanges == b.offsetRanges, sourceLocation: sourceLocation)
    #expect(a.fields.map(\.path) == b.fields.map(\.path), sourceLocation: sourceLocation)
    for (x, y) in zip(a.fields, b.fields) {
        let what = "field \(x.path)"
        #expect(x.present == y.present && x.typeCounts == y.typeCounts && x.arrayElementTypes == y.arrayElementTypes, "\(what) counts", sourceLocation: sourceLocation)
        for (m, n) in [(x.numbers, y.numbers), (x.stringLengths, y.stringLengths), (x.arrayLengths, y.arrayLengths)] {
            #expect(m.count == n.count && m.min == n.min && m.max == n.max, "\(what) moments", sourceLocation: sourceLocation)
            #expect(abs(m.mean - n.mean) <= 1e-9 * max(1, abs(m.mean)), "\(what) mean", sourceLocation: sourceLocation)
            #expect(abs(m.m2 - n.m2) <= 1e-7 * max(1, abs(m.m2)), "\(what) variance", sourceLocation: sourceLocation)
        }
        #expect(x.distinct == y.distinct, "\(what): HyperLogLog merge is exact", sourceLocation: sourceLocation)
        #expect((x.quantiles == nil) == (y.quantiles == nil), sourceLocation: sourceLocation)
        if let p = x.quantiles, let q = y.quantiles {
            #expect(p.count == q.count && p.min == q.min && p.max == q.max, sourceLocation: sourceLocation)
            for level in stride(from: 0.05, through: 0.95, by: 0.05) {
                // With ties a value spans a range of ranks; the error is the distance to that range.
                let answer = p.quantile(level)!
                let drift = max(0, q.rank(answer, inclusive: false) - level, level - q.rank(answer))
                #expect(drift <= 2 * p.rankErrorBound + 1.0 / Double(p.count), "\(what) quantile \(level)", sourceLocation: sourceLocation)
            }
        }
        #expect((x.frequent == nil) == (y.frequent == nil), sourceLocation: sourceLocation)
        if let f = x.frequent, let g = y.frequent {
            #expect(f.total == g.total, sourceLocation: sourceLocation)
            // Below capacity SpaceSaving is exact, so merged and whole must agree entry for entry.
            if f.entries.count < f.capacity && g.entries.count < g.capacity {
                #expect(f.entries == g.entries, "\(what) frequent values", sourceLocation: sourceLocation)
            }
        }
    }
}

@Suite struct WindowProfileTests {
    let dataset = DriftDataset(records: 12_000)

    @Test func profilesTheDatasetsFields() {
        let window = profile(dataset)
        #expect(window.recordCount == 12_000)
        #expect(window.fields.map(\.path) == [
            "amount", "country", "currency", "device", "device.os", "device.version", "discount", "event_id",
            "is_member", "quantity", "score", "session", "ts", "user_id",
        ])
        let quantity = window.field("quantity")!
        #expect(quantity.count(of: .string) > 0 && quantity.count(of: .integer) > quantity.count(of: .string), "type change in the drifted tail")
        let discount = window.field("discount")!
        #expect(discount.nulls > 0 && window.absent(discount) == 0)
        let currency = window.field("currency")!
        #expect(Set(currency.frequent!.entries.map(\.text)) == ["EUR", "USD", "GBP"])
        #expect(currency.frequent!.entries.allSatisfy { $0.error == 0 }, "few categories are counted exactly")
        #expect(abs(currency.distinct!.estimate - 3) < 0.1)
        let eventID = window.field("event_id")!
        #expect(eventID.numbers.min == 0 && eventID.numbers.max == 11_999)
        #expect(abs(eventID.distinct!.estimate - 12_000) / 12_000 < 0.02)
        #expect(window.firstEventTime == 1_000 && window.lastEventTime == 12_999)
        #expect(window.offsetRanges == [OffsetRange(topic: "events", partition: 0, first: 0, last: 11_999)])
    }

    @Test func absentCountsRecordsMissingTheField() {
        let window = WindowProfile()
        let scanner = JSONScanner()
        for record in [#"{"a": 1, "b": 2}"#, #"{"a": 2}"#, #"{"a": 3, "b": null}"#, "{oops", #"{"a": 4, "a": 5}"#] {
            Array(record.utf8).withUnsafeBytes { _ = window.add($0, scanner: scanner) }
        }
        #expect(window.recordCount == 4 && window.malformedCount == 1)
        #expect(window.malformedByReason == [.unexpectedCharacter: 1])
        let a = window.field("a")!, b = window.field("b")!
        #expect(a.present == 4 && a.count == 5, "a repeated key counts its values but the record once")
        #expect(window.absent(a) == 0)
        #expect(b.present == 2 && window.absent(b) == 2 && b.nulls == 1)
    }

    @Test func splitThenMergeEqualsWhole() throws {
        let whole = profile(dataset)
        var random = SeededRandom(seed: 17)
        for _ in 0..<5 {
            let cut1 = Int(random.next() % 12_000)
            let cut2 = Int(random.next() % 12_000)
            let (low, high) = (min(cut1, cut2), max(cut1, cut2))
            let merged = profile(dataset, 0..<low)
            try merged.merge(profile(dataset, low..<high))
            try merged.merge(profile(dataset, high..<12_000))
            expectSameProfile(merged, whole)
        }
    }

    @Test func mergeIsAssociativeAndCommutative() throws {
        let parts = [profile(dataset, 0..<3_000), profile(dataset, 3_000..<8_500, partition: 1), profile(dataset, 8_500..<12_000, partition: 2)]
        func merged(_ order: [Int], grouping leftFirst: Bool) throws -> WindowProfile {
            if leftFirst {
                let result = parts[order[0]].copy()
                try result.merge(parts[order[1]])
                try result.merge(parts[order[2]])
                return result
            }
            let right = parts[order[1]].copy()
            try right.merge(parts[order[2]])
            let result = parts[order[0]].copy()
            try result.merge(right)
            return result
        }
        let reference = try merged([0, 1, 2], grouping: true)
        for order in [[0, 1, 2], [2, 1, 0], [1, 0, 2], [2, 0, 1]] {
            for grouping in [true, false] { expectSameProfile(try merged(order, grouping: grouping), reference) }
        }
        #expect(reference.offsetRanges.map(\.partition) == [0, 1, 2])
    }

    @Test func mergingDifferentSketchSizesIsRefused() {
        var other = ProfileConfiguration()
        other.quantileK = 100
        #expect(throws: ProfileConfigurationError.self) { try WindowProfile().merge(WindowProfile(configuration: other)) }
    }

    @Test func fieldsBeyondTheCapAreCountedAsOverflow() {
        var configuration = ProfileConfiguration()
        configuration.maxFields = 5
        let window = profile(DriftDataset(records: 500), configuration: configuration)
        #expect(window.fields.count == 5)
        #expect(window.overflowLeaves == 500 * 9, "nine leaves a record beyond the first five fields")
        #expect(abs(window.overflowFields.estimate - 9) < 0.5)
    }

    @Test func memoryIsBoundedByConfigurationNotByRecords() {
        let steady = DriftDataset(records: 1_000_000, driftFraction: 0)
        let small = profile(DriftDataset(records: 100_000, driftFraction: 0))
        let large = profile(steady)
        #expect(large.recordCount == 1_000_000)
        let difference = abs(large.allocatedBytes - small.allocatedBytes)
        // KLL keeps 8 more items per extra level (one level per doubling): a few hundred bytes, nothing more.
        #expect(Double(difference) <= 0.01 * Double(small.allocatedBytes), "100k: \(small.allocatedBytes) B, 1M: \(large.allocatedBytes) B")
        // Per field: fixed parts, the buffer of hashes waiting for the HLL, HLL registers, KLL items (3k + 8 per level, up to 64 levels, with slack),
        // SpaceSaving counters and their index; plus the field table and the overflow HLL.
        let perField = 256 + FieldProfile.distinctBatch * 8 + 64 + (1 << 14) + 8 * (3 * 200 + QuantileSketch.minimumWidth * 64) * 2 + 64 * (48 + 28) + 128 * 4
        let bound = 14 * perField + 512 * 4 + 1024 + 2048
        #expect(large.allocatedBytes <= bound, "configuration bound \(bound) B")
    }
}

@Suite struct ProfileEncodingTests {
    @Test func roundTripPreservesEverything() throws {
        let original = profile(DriftDataset(records: 5_000))
        let malformed = "{\"truncated\": "
        Array(malformed.utf8).withUnsafeBytes { _ = original.add($0, scanner: JSONScanner()) }
        let bytes = original.encoded()
        let decoded = try WindowProfile(encoded: bytes)
        expectSameProfile(decoded, original)
        for (x, y) in zip(decoded.fields, original.fields) {
            #expect(x.quantiles == y.quantiles && x.frequent == y.frequent, "sketches survive byte for byte")
        }
        let again = decoded.encoded()
        #expect(again == bytes, "encoding is deterministic")
        #expect(bytes.count < 200_000, "compact: \(bytes.count) bytes")
    }

    @Test func everyTruncationIsRejected() {
        let bytes = profile(DriftDataset(records: 300)).encoded()
        for length in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 500)) {
            #expect(throws: ProfileDecodingError.self) { try WindowProfile(encoded: Array(bytes.prefix(length))) }
        }
    }

    /// The checksum stays CRC-32 (IEEE) whatever the implementation: its published check value, and
    /// the byte-at-a-time definition on every length and alignment around the 8-byte steps.
    @Test func checksumIsCRC32() {
        #expect(CRC32.checksum(Array("123456789".utf8)[...]) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()[...]) == 0)
        var table = [UInt32](repeating: 0, count: 256)
        for index in 0..<256 {
            var value = UInt32(index)
            for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
            table[index] = value
        }
        func bytewise(_ bytes: ArraySlice<UInt8>) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
            return crc ^ 0xFFFF_FFFF
        }
        var random = SeededRandom(seed: 5)
        let bytes = (0..<300).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        for start in 0..<9 {
            for end in start...min(bytes.count, start + 40) { #expect(CRC32.checksum(bytes[start..<end]) == bytewise(bytes[start..<end])) }
            #expect(CRC32.checksum(bytes[start...]) == bytewise(bytes[start...]))
        }
    }

    @Test func corruptionIsRejected() {
        let bytes = profile(DriftDataset(records: 300)).encoded()
        var random = SeededRandom(seed: 23)
        for _ in 0..<300 {
            var corrupt = bytes
            let index = Int(random.next() % UInt64(corrupt.count))
            corrupt[index] ^= UInt8(1 << (random.next() % 8))
            #expect(throws: ProfileDecodingError.self) { try WindowProfile(encoded: corrupt) }
        }
        var wrongVersion = bytes
        wrongVersion[4] = 99
        let error = #expect(throws: ProfileDecodingError.self) { try WindowProfile(encoded: wrongVersion) }
        #expect(error?.reason.contains("unsupported format version 99") == true)
        #expect(throws: ProfileDecodingError.self) { try WindowProfile(encoded: Array("not a profile at all".utf8)) }
    }
}
