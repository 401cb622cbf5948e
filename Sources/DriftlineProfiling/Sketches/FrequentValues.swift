/// SpaceSaving heavy hitters (Metwally, Agrawal & El Abbadi 2005) with fixed storage: `capacity`
/// counters, each keeping its value's first `maxValueBytes` bytes inline, so tracking a stream of
/// ever-new values allocates nothing.
///
/// Guarantee: every value occurring more than n / capacity times is present, and a counter's
/// `count - error` never exceeds the value's true count, which never exceeds `count`.
/// Merging follows Agarwal et al. ("Mergeable Summaries", 2012) and keeps the guarantee.
public struct FrequentValues: Equatable, Sendable {
    public let capacity: Int
    public let maxValueBytes: Int
    public private(set) var total: Int64 = 0
    private var used = 0
    private var hashes: [UInt64]
    private var counts: [Int64]
    private var errors: [Int64]
    private var lengths: [Int32]  // original byte length (values longer than maxValueBytes are truncated)
    private var storage: [UInt8]
    /// Open addressing from value hash to counter slot + 1 (0 is empty), so lookups are O(1).
    private var index: [Int32]
    private var indexMask: Int
    /// A lower bound of the smallest count (counts only grow), and where to look for it next:
    /// finding the counter to replace is amortized O(1) instead of a scan per new value.
    private var minimumBound: Int64 = 0
    private var minimumCursor = 0

    public struct Entry: Equatable, Sendable {
        /// The value's bytes, truncated to `maxValueBytes`.
        public var value: [UInt8]
        public var isTruncated: Bool
        public var count: Int64
        /// How much `count` may overstate the true count.
        public var error: Int64
        public var text: String { String(decoding: value, as: UTF8.self) + (isTruncated ? "…" : "") }
    }

    public init(capacity: Int = 64, maxValueBytes: Int = 48) {
        precondition(capacity > 0 && maxValueBytes > 0)
        self.capacity = capacity
        self.maxValueBytes = maxValueBytes
        hashes = [UInt64](repeating: 0, count: capacity)
        counts = [Int64](repeating: 0, count: capacity)
        errors = [Int64](repeating: 0, count: capacity)
        lengths = [Int32](repeating: 0, count: capacity)
        storage = [UInt8](repeating: 0, count: capacity * maxValueBytes)
        var size = 4
        while size < capacity * 2 { size <<= 1 }
        index = [Int32](repeating: 0, count: size)
        indexMask = size - 1
    }

    public var allocatedBytes: Int {
        hashes.capacity * 8 + counts.capacity * 8 + errors.capacity * 8 + lengths.capacity * 4 + storage.capacity + index.capacity * 4
    }

    /// Counts one occurrence of the value whose bytes are `value` and whose hash is `hash`.
    @inline(__always)
    public mutating func add(_ value: UnsafeRawBufferPointer, hash: UInt64, weight: Int64 = 1) {
        total += weight
        if let slot = find(hash) {
            counts[slot] += weight
            return
        }
        if used < capacity {
            place(value, hash: hash, count: weight, error: 0, at: used)
            used += 1
            return
        }
        // Replace a smallest counter; its count becomes the newcomer's possible overcount.
        let victim = smallestCounter()
        let floor = counts[victim]
        unindex(victim)
        place(value, hash: hash, count: floor + weight, error: floor, at: victim)
    }

    @inline(__always)
    private func find(_ hash: UInt64) -> Int? {
        var position = Int(truncatingIfNeeded: hash) & indexMask
        while true {
            let entry = Int(index[position])
            if entry == 0 { return nil }
            if hashes[entry - 1] == hash { return entry - 1 }
            position = (position + 1) & indexMask
        }
    }

    private mutating func smallestCounter() -> Int {
        for pass in 0..<2 {
            for step in 0..<capacity {
                let slot = (minimumCursor + step) % capacity
                if counts[slot] == minimumBound {
                    minimumCursor = slot + 1 == capacity ? 0 : slot + 1
                    return slot
                }
            }
            precondition(pass == 0, "the true minimum must be found on the second pass")
            minimumBound = counts.min()!
        }
        fatalError("unreachable")
    }

    /// Stores a counter at `slot` and indexes it.
    @inline(__always)
    private mutating func place(_ value: UnsafeRawBufferPointer, hash: UInt64, count: Int64, error: Int64, at slot: Int) {
        hashes[slot] = hash
        counts[slot] = count
        errors[slot] = error
        lengths[slot] = Int32(truncatingIfNeeded: value.count)
        let kept = Swift.min(value.count, maxValueBytes)
        let stride = maxValueBytes
        storage.withUnsafeMutableBytes { storage in
            if kept > 0 { (storage.baseAddress! + slot * stride).copyMemory(from: value.baseAddress!, byteCount: kept) }
        }
        var position = Int(truncatingIfNeeded: hash) & indexMask
        while index[position] != 0 { position = (position + 1) & indexMask }
        index[position] = Int32(slot + 1)
    }

    /// Removes `slot` from the index (linear probing with backward-shift deletion).
    private mutating func unindex(_ slot: Int) {
        var hole = Int(truncatingIfNeeded: hashes[slot]) & indexMask
        while Int(index[hole]) != slot + 1 { hole = (hole + 1) & indexMask }
        var next = hole
        while true {
            next = (next + 1) & indexMask
            let entry = Int(index[next])
            if entry == 0 { break }
            let home = Int(truncatingIfNeeded: hashes[entry - 1]) & indexMask
            // Move the entry back unless its home lies cyclically in (hole, next].
            let staysPut = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next)
            if staysPut { continue }
            index[hole] = index[next]
            hole = next
        }
        index[hole] = 0
    }

    private func bytes(at slot: Int) -> [UInt8] {
        let kept = Swift.min(Int(lengths[slot]), maxValueBytes)
        return Array(storage[(slot * maxValueBytes)..<(slot * maxValueBytes + kept)])
    }

    /// Counters, most frequent first.
    public var entries: [Entry] {
        (0..<used).map { slot in
            Entry(value: bytes(at: slot), isTruncated: Int(lengths[slot]) > maxValueBytes, count: counts[slot], error: errors[slot])
        }.sorted { $0.count != $1.count ? $0.count > $1.count : $0.value.lexicographicallyPrecedes($1.value) }
    }

    /// Values whose guaranteed count (count − error) is at least `support` × total.
    public func frequent(support: Double) -> [Entry] {
        entries.filter { Double($0.count - $0.error) >= support * Double(total) }
    }

    private var minimumCount: Int64 { used < capacity ? 0 : counts.min() ?? 0 }

    public mutating func merge(_ other: FrequentValues) {
        precondition(capacity == other.capacity && maxValueBytes == other.maxValueBytes, "cannot merge differently sized summaries")
        let ownFloor = minimumCount
        let otherFloor = other.minimumCount
        struct Candidate { var hash: UInt64; var count: Int64; var error: Int64; var length: Int32; var bytes: [UInt8] }
        var candidates: [UInt64: Candidate] = [:]
        for slot in 0..<used {
            candidates[hashes[slot]] = Candidate(hash: hashes[slot], count: counts[slot] + otherFloor, error: errors[slot] + otherFloor, length: lengths[slot], bytes: bytes(at: slot))
        }
        for slot in 0..<other.used {
            let hash = other.hashes[slot]
            if var existing = candidates[hash] {
                // Seen on both sides: replace the assumed floor with the real count.
                existing.count += other.counts[slot] - otherFloor
                existing.error += other.errors[slot] - otherFloor
                candidates[hash] = existing
            } else {
                candidates[hash] = Candidate(hash: hash, count: other.counts[slot] + ownFloor, error: other.errors[slot] + ownFloor, length: other.lengths[slot], bytes: other.bytes(at: slot))
            }
        }
        let kept = candidates.values.sorted { $0.count != $1.count ? $0.count > $1.count : $0.hash < $1.hash }.prefix(capacity)
        let mergedTotal = total + other.total
        self = FrequentValues(capacity: capacity, maxValueBytes: maxValueBytes)
        total = mergedTotal
        for candidate in kept {
            candidate.bytes.withUnsafeBytes { place($0, hash: candidate.hash, count: candidate.count, error: candidate.error, at: used) }
            lengths[used] = candidate.length
            used += 1
        }
    }

    public static func == (a: FrequentValues, b: FrequentValues) -> Bool {
        a.capacity == b.capacity && a.maxValueBytes == b.maxValueBytes && a.total == b.total && a.entries == b.entries
    }
}

extension FrequentValues {
    func encode(into writer: inout BinaryWriter) {
        writer.varint(UInt64(capacity))
        writer.varint(UInt64(maxValueBytes))
        writer.varint(UInt64(total))
        writer.varint(UInt64(used))
        for slot in 0..<used {
            writer.varint(hashes[slot])
            writer.varint(UInt64(counts[slot]))
            writer.varint(UInt64(errors[slot]))
            writer.varint(UInt64(lengths[slot]))
            writer.bytes(bytes(at: slot))
        }
    }

    init(from reader: inout BinaryReader) throws(ProfileDecodingError) {
        let capacity = try reader.varint(max: 65_536, "frequent values capacity")
        let maxValueBytes = try reader.varint(max: 65_536, "frequent values value size")
        guard capacity > 0, maxValueBytes > 0 else { throw reader.error("empty frequent values summary") }
        self.init(capacity: Int(capacity), maxValueBytes: Int(maxValueBytes))
        total = Int64(try reader.varint(max: UInt64(Int64.max), "frequent values total"))
        let used = try reader.varint(max: capacity, "frequent values counters")
        for _ in 0..<used {
            let hash = try reader.varint()
            let count = Int64(try reader.varint(max: UInt64(total), "frequent value count"))
            let error = Int64(try reader.varint(max: UInt64(count), "frequent value error"))
            let length = try reader.varint(max: UInt64(Int32.max), "frequent value length")
            let bytes = try reader.bytes(Int(Swift.min(length, maxValueBytes)))
            guard find(hash) == nil else { throw reader.error("duplicate frequent value") }
            bytes.withUnsafeBytes { place($0, hash: hash, count: count, error: error, at: self.used) }
            lengths[self.used] = Int32(length)
            self.used += 1
        }
    }
}
