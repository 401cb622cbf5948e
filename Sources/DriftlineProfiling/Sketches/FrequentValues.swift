/// SpaceSaving heavy hitters (Metwally, Agrawal & El Abbadi 2005) with fixed storage: `capacity`
/// counters, each keeping its value's first `maxValueBytes` bytes inline, so tracking a stream of
/// ever-new values allocates nothing.
///
/// Guarantee: every value occurring more than n / capacity times is present, and a counter's
/// `count - error` never exceeds the value's true count, which never exceeds `count`.
/// Merging follows Agarwal et al. ("Mergeable Summaries", 2012) and keeps the guarantee.
public struct FrequentValues: Equatable, Sendable {
    public var capacity: Int { storage.capacity }
    public var maxValueBytes: Int { storage.maxValueBytes }
    public var total: Int64 { storage.total }
    private var storage: Storage

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
        storage = Storage(capacity: capacity, maxValueBytes: maxValueBytes)
    }

    public var allocatedBytes: Int { storage.allocatedBytes }

    /// Counts one occurrence of the value whose bytes are `value` and whose hash is `hash`.
    @inline(__always)
    public mutating func add(_ value: UnsafeRawBufferPointer, hash: UInt64, weight: Int64 = 1) {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        storage.add(value, hash: hash, weight: weight)
    }

    /// Counters, most frequent first.
    public var entries: [Entry] {
        (0..<storage.used).map { slot in
            Entry(value: storage.bytes(at: slot), isTruncated: Int(storage.lengths[slot]) > maxValueBytes,
                  count: storage.counts[slot], error: storage.errors[slot])
        }.sorted { $0.count != $1.count ? $0.count > $1.count : $0.value.lexicographicallyPrecedes($1.value) }
    }

    /// Values whose guaranteed count (count − error) is at least `support` × total.
    public func frequent(support: Double) -> [Entry] {
        entries.filter { Double($0.count - $0.error) >= support * Double(total) }
    }

    public mutating func merge(_ other: FrequentValues) {
        precondition(capacity == other.capacity && maxValueBytes == other.maxValueBytes, "cannot merge differently sized summaries")
        let ownFloor = storage.minimumCount
        let otherFloor = other.storage.minimumCount
        struct Candidate { var hash: UInt64; var count: Int64; var error: Int64; var length: Int32; var bytes: [UInt8] }
        var candidates: [UInt64: Candidate] = [:]
        for slot in 0..<storage.used {
            candidates[storage.hashes[slot]] = Candidate(
                hash: storage.hashes[slot], count: storage.counts[slot] + otherFloor, error: storage.errors[slot] + otherFloor,
                length: storage.lengths[slot], bytes: storage.bytes(at: slot))
        }
        let theirs = other.storage
        for slot in 0..<theirs.used {
            let hash = theirs.hashes[slot]
            if var existing = candidates[hash] {
                // Seen on both sides: replace the assumed floor with the real count.
                existing.count += theirs.counts[slot] - otherFloor
                existing.error += theirs.errors[slot] - otherFloor
                candidates[hash] = existing
            } else {
                candidates[hash] = Candidate(
                    hash: hash, count: theirs.counts[slot] + ownFloor, error: theirs.errors[slot] + ownFloor,
                    length: theirs.lengths[slot], bytes: theirs.bytes(at: slot))
            }
        }
        let kept = candidates.values.sorted { $0.count != $1.count ? $0.count > $1.count : $0.hash < $1.hash }.prefix(capacity)
        let merged = Storage(capacity: capacity, maxValueBytes: maxValueBytes)
        merged.total = total + other.total
        for candidate in kept {
            candidate.bytes.withUnsafeBytes { merged.place($0, hash: candidate.hash, count: candidate.count, error: candidate.error, at: merged.used) }
            merged.lengths[merged.used] = candidate.length
            merged.used += 1
        }
        storage = merged
    }

    public static func == (a: FrequentValues, b: FrequentValues) -> Bool {
        a.capacity == b.capacity && a.maxValueBytes == b.maxValueBytes && a.total == b.total && a.entries == b.entries
    }

    /// Fixed-size counter storage behind one allocation per array, shared copy-on-write.
    final class Storage: @unchecked Sendable {
        let capacity: Int
        let maxValueBytes: Int
        let indexMask: Int
        var used = 0
        var total: Int64 = 0
        let hashes: UnsafeMutablePointer<UInt64>
        let counts: UnsafeMutablePointer<Int64>
        let errors: UnsafeMutablePointer<Int64>
        /// Original byte length (values longer than maxValueBytes are truncated).
        let lengths: UnsafeMutablePointer<Int32>
        let values: UnsafeMutablePointer<UInt8>
        /// Open addressing from value hash to counter slot + 1 (0 is empty), so lookups are O(1).
        let index: UnsafeMutablePointer<Int32>
        /// A lower bound of the smallest count (counts only grow) and where to look for it next:
        /// finding the counter to replace is amortized O(1) instead of a scan per new value.
        var minimumBound: Int64 = 0
        var minimumCursor = 0

        init(capacity: Int, maxValueBytes: Int) {
            self.capacity = capacity
            self.maxValueBytes = maxValueBytes
            var size = 4
            while size < capacity * 2 { size <<= 1 }
            indexMask = size - 1
            hashes = .allocate(capacity: capacity)
            hashes.initialize(repeating: 0, count: capacity)
            counts = .allocate(capacity: capacity)
            counts.initialize(repeating: 0, count: capacity)
            errors = .allocate(capacity: capacity)
            errors.initialize(repeating: 0, count: capacity)
            lengths = .allocate(capacity: capacity)
            lengths.initialize(repeating: 0, count: capacity)
            values = .allocate(capacity: capacity * maxValueBytes)
            values.initialize(repeating: 0, count: capacity * maxValueBytes)
            index = .allocate(capacity: size)
            index.initialize(repeating: 0, count: size)
        }

        deinit {
            hashes.deallocate()
            counts.deallocate()
            errors.deallocate()
            lengths.deallocate()
            values.deallocate()
            index.deallocate()
        }

        func copy() -> Storage {
            let copy = Storage(capacity: capacity, maxValueBytes: maxValueBytes)
            copy.hashes.update(from: hashes, count: capacity)
            copy.counts.update(from: counts, count: capacity)
            copy.errors.update(from: errors, count: capacity)
            copy.lengths.update(from: lengths, count: capacity)
            copy.values.update(from: values, count: capacity * maxValueBytes)
            copy.index.update(from: index, count: indexMask + 1)
            copy.used = used
            copy.total = total
            copy.minimumBound = minimumBound
            copy.minimumCursor = minimumCursor
            return copy
        }

        var allocatedBytes: Int { capacity * (8 + 8 + 8 + 4 + maxValueBytes) + (indexMask + 1) * 4 + 64 }

        var minimumCount: Int64 {
            guard used == capacity else { return 0 }
            var minimum = counts[0]
            for slot in 1..<capacity where counts[slot] < minimum { minimum = counts[slot] }
            return minimum
        }

        func bytes(at slot: Int) -> [UInt8] {
            Array(UnsafeBufferPointer(start: values + slot * maxValueBytes, count: Swift.min(Int(lengths[slot]), maxValueBytes)))
        }

        @inline(__always)
        func add(_ value: UnsafeRawBufferPointer, hash: UInt64, weight: Int64) {
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
        func find(_ hash: UInt64) -> Int? {
            var position = Int(truncatingIfNeeded: hash) & indexMask
            while true {
                let entry = Int(index[position])
                if entry == 0 { return nil }
                if hashes[entry - 1] == hash { return entry - 1 }
                position = (position + 1) & indexMask
            }
        }

        private func smallestCounter() -> Int {
            while true {
                for step in 0..<capacity {
                    var slot = minimumCursor + step
                    if slot >= capacity { slot -= capacity }
                    if counts[slot] == minimumBound {
                        minimumCursor = slot + 1 == capacity ? 0 : slot + 1
                        return slot
                    }
                }
                // Every counter grew past the bound: the true minimum is higher.
                minimumBound = minimumCount
            }
        }

        /// Stores a counter at `slot` and indexes it.
        @inline(__always)
        func place(_ value: UnsafeRawBufferPointer, hash: UInt64, count: Int64, error: Int64, at slot: Int) {
            hashes[slot] = hash
            counts[slot] = count
            errors[slot] = error
            lengths[slot] = Int32(truncatingIfNeeded: value.count)
            let kept = Swift.min(value.count, maxValueBytes)
            if kept > 0 { UnsafeMutableRawPointer(values + slot * maxValueBytes).copyMemory(from: value.baseAddress!, byteCount: kept) }
            var position = Int(truncatingIfNeeded: hash) & indexMask
            while index[position] != 0 { position = (position + 1) & indexMask }
            index[position] = Int32(slot + 1)
        }

        /// Removes `slot` from the index (linear probing with backward-shift deletion).
        private func unindex(_ slot: Int) {
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
    }
}

extension FrequentValues {
    func encode(into writer: inout BinaryWriter) {
        writer.varint(UInt64(capacity))
        writer.varint(UInt64(maxValueBytes))
        writer.varint(UInt64(total))
        writer.varint(UInt64(storage.used))
        for slot in 0..<storage.used {
            writer.varint(storage.hashes[slot])
            writer.varint(UInt64(storage.counts[slot]))
            writer.varint(UInt64(storage.errors[slot]))
            writer.varint(UInt64(storage.lengths[slot]))
            writer.bytes(storage.bytes(at: slot))
        }
    }

    init(from reader: inout BinaryReader) throws(ProfileDecodingError) {
        let capacity = try reader.varint(max: 65_536, "frequent values capacity")
        let maxValueBytes = try reader.varint(max: 65_536, "frequent values value size")
        guard capacity > 0, maxValueBytes > 0 else { throw reader.error("empty frequent values summary") }
        self.init(capacity: Int(capacity), maxValueBytes: Int(maxValueBytes))
        let total = Int64(try reader.varint(max: UInt64(Int64.max), "frequent values total"))
        storage.total = total
        let used = try reader.varint(max: capacity, "frequent values counters")
        for _ in 0..<used {
            let hash = try reader.varint()
            let count = Int64(try reader.varint(max: UInt64(total), "frequent value count"))
            let error = Int64(try reader.varint(max: UInt64(count), "frequent value error"))
            let length = try reader.varint(max: UInt64(Int32.max), "frequent value length")
            let bytes = try reader.bytes(Int(Swift.min(length, maxValueBytes)))
            guard storage.find(hash) == nil else { throw reader.error("duplicate frequent value") }
            bytes.withUnsafeBytes { storage.place($0, hash: hash, count: count, error: error, at: storage.used) }
            storage.lengths[storage.used] = Int32(length)
            storage.used += 1
        }
    }
}
