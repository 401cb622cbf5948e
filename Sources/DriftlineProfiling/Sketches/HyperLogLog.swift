import Foundation

/// HyperLogLog distinct counter (Flajolet et al. 2007) with Ertl's improved estimator ("New
/// cardinality estimation algorithms for HyperLogLog sketches", 2017), which needs no bias tables
/// and is accurate from 0 to far beyond 2^32. Standard error 1.04/√m; at the default precision 14
/// (m = 16384 one-byte registers) that is 0.81%.
public struct HyperLogLog: Sendable {
    public let precision: Int
    /// One byte per register once many are set; empty while the sketch is sparse.
    private var dense: [UInt8] = []
    /// While few registers are set: the set ones in an open-addressing table (linear probing on the
    /// register index), each entry `index << 8 | value`, 0 for a free slot (a set register's value
    /// is at least 1). Exactly the dense registers' content, so estimates, merges and encodings
    /// are the same bytes either way. Why: a detector keeps one sketch per field, partition and
    /// open window, mostly holding a few hundred values; 16 KiB of dense registers each made every
    /// add a cache miss (a quarter of the profiling time with 64 partitions) and every partial
    /// zero 16 KiB per field.
    private var sparse: [UInt32] = []
    private var sparseCount = 0
    /// Written by `add(hashes:)`'s read-ahead pass only (not part of the sketch's value).
    private var prefetchSink: UInt32 = 0

    public init(precision: Int = 14) {
        precondition((4...18).contains(precision), "precision must be in 4...18")
        self.precision = precision
        // Small sketches go dense at once: a table would not be smaller.
        if Self.sparseLimit(precision) < 8 { dense = [UInt8](repeating: 0, count: 1 << precision) }
    }

    /// A sketch sized at once for about `expectedRegisters` set registers (a hint from the same
    /// field's sketch in an earlier window): the sparse table starts that big, or the registers
    /// dense, instead of doubling up to it (the growth was 1.8% of the detector's samples). The
    /// content, estimates and encoding are the same as a sketch grown step by step.
    public init(precision: Int = 14, expectedRegisters: Int) {
        self.init(precision: precision)
        if expectedRegisters > 16 { reserve(expectedRegisters) }
    }

    /// Registers set: the size hint for the field's next sketch.
    public var setRegisters: Int { isSparse ? sparseCount : denseSetRegisters }

    /// Set registers a sparse table holds before the sketch turns dense: at a load of at most one
    /// half its slots then take as many bytes as the dense registers (4 bytes a slot, m / 4 slots).
    private static func sparseLimit(_ precision: Int) -> Int { (1 << precision) / 8 }

    public var isSparse: Bool { dense.isEmpty }

    /// Register storage by size asked for (both arrays are made at their exact size; `capacity` would
    /// add malloc's rounding, which depends on the heap's state).
    public var allocatedBytes: Int { dense.count + sparse.count * 4 }

    public var standardError: Double { 1.04 / Double(1 << precision).squareRoot() }

    /// The registers, one byte each (tests and comparisons).
    var registers: [UInt8] {
        guard isSparse else { return dense }
        var registers = [UInt8](repeating: 0, count: 1 << precision)
        for entry in sparse where entry != 0 { registers[Int(entry >> 8)] = UInt8(truncatingIfNeeded: entry) }
        return registers
    }

    /// Adds an item by its 64-bit hash.
    @inline(__always)
    public mutating func add(hash: UInt64) {
        let (index, rank) = Self.register(of: hash, precision: precision)
        raise(index, to: rank)
    }

    /// The register a hash falls in (its top bits) and the value it offers (leading zeros after them, plus one).
    @inline(__always)
    private static func register(of hash: UInt64, precision: Int) -> (index: Int, rank: UInt8) {
        let index = Int(truncatingIfNeeded: hash >> UInt64(64 - precision))
        let remaining = hash << UInt64(precision)
        return (index, UInt8(truncatingIfNeeded: Swift.min(remaining.leadingZeroBitCount, 64 - precision) + 1))
    }

    /// Adds hashes as `add(hash:)` would one by one, in order, with the same result. A cold sketch
    /// (one per field, partition and open window) misses cache on nearly every probe, and one probe
    /// after another leaves the misses in series: the home slots of the whole batch are read first,
    /// independently of each other, so their misses overlap. Dense registers take a branchless max.
    public mutating func add(hashes: UnsafeBufferPointer<UInt64>) {
        let precision = precision
        if !isSparse {
            dense.withUnsafeMutableBufferPointer { r in
                for hash in hashes {
                    let (index, rank) = Self.register(of: hash, precision: precision)
                    r[index] = Swift.max(r[index], rank)
                }
            }
            return
        }
        if !sparse.isEmpty {
            let shift = precision - sparse.count.trailingZeroBitCount
            var touched: UInt32 = 0
            sparse.withUnsafeBufferPointer { table in
                for hash in hashes { touched |= table[Self.register(of: hash, precision: precision).index >> shift] }
            }
            // Kept so the reads above are not optimised away; its value means nothing.
            prefetchSink = touched
        }
        for hash in hashes { add(hash: hash) }
    }

    /// Register `index` becomes at least `value`.
    @inline(__always)
    private mutating func raise(_ index: Int, to value: UInt8) {
        if !isSparse {
            dense.withUnsafeMutableBufferPointer { r in
                if value > r[index] { r[index] = value }
            }
            return
        }
        if sparse.isEmpty { sparse = [UInt32](repeating: 0, count: 32) }
        let shift = precision - sparse.count.trailingZeroBitCount
        let added: Bool = sparse.withUnsafeMutableBufferPointer { table in
            let mask = table.count - 1
            // Home slot from the index's top bits: the table stays nearly in index order, so
            // encoding sorts an almost sorted list.
            var slot = index >> shift
            while true {
                let entry = table[slot]
                if entry == 0 {
                    table[slot] = UInt32(truncatingIfNeeded: index) << 8 | UInt32(value)
                    return true
                }
                if Int(entry >> 8) == index {
                    if value > UInt8(truncatingIfNeeded: entry) { table[slot] = UInt32(truncatingIfNeeded: index) << 8 | UInt32(value) }
                    return false
                }
                slot = (slot + 1) & mask
            }
        }
        if added {
            sparseCount += 1
            if sparseCount * 2 > sparse.count { grow() }
        }
    }

    /// Doubles the table, or turns dense past the sparse limit.
    private mutating func grow() { reserve(sparseCount + 1) }

    /// Room for `registers` set registers without growing: a table of at least twice as many slots,
    /// or dense past the sparse limit (a merge or a decode sizes the table once, not step by step).
    private mutating func reserve(_ registers: Int) {
        guard isSparse else { return }
        if registers > Self.sparseLimit(precision) {
            makeDense()
            return
        }
        var slots = Swift.max(sparse.count, 32)
        while slots < registers * 2 { slots <<= 1 }
        guard slots > sparse.count else { return }
        // Entries move straight into the new table (distinct indexes, so no match to look for):
        // a filtered copy then re-adding each cost a tenth of windowed profiling in perf.
        var table = [UInt32](repeating: 0, count: slots)
        let shift = precision - slots.trailingZeroBitCount
        table.withUnsafeMutableBufferPointer { table in
            let mask = table.count - 1
            sparse.withUnsafeBufferPointer { old in
                for entry in old where entry != 0 {
                    var slot = Int(entry >> 8) >> shift
                    while table[slot] != 0 { slot = (slot + 1) & mask }
                    table[slot] = entry
                }
            }
        }
        sparse = table
    }

    /// Adds set registers whose indexes are distinct and absent from the sketch (a decoder's, in
    /// index order), with room reserved: the same table as `raise` on each in turn, in one pass.
    private mutating func insertDistinct(_ entries: UnsafeBufferPointer<UInt32>) {
        guard !entries.isEmpty else { return }
        if !isSparse {
            dense.withUnsafeMutableBufferPointer { r in
                for entry in entries { r[Int(entry >> 8)] = UInt8(truncatingIfNeeded: entry) }
            }
            return
        }
        precondition(2 * (sparseCount + entries.count) <= sparse.count, "insertDistinct needs the room reserved")
        let shift = precision - sparse.count.trailingZeroBitCount
        sparse.withUnsafeMutableBufferPointer { table in
            let mask = table.count - 1
            for entry in entries {
                var slot = Int(entry >> 8) >> shift
                while table[slot] != 0 { slot = (slot + 1) & mask }
                table[slot] = entry
            }
        }
        sparseCount += entries.count
    }

    private mutating func makeDense() {
        dense = registers
        sparse = []
        sparseCount = 0
    }

    public mutating func merge(_ other: HyperLogLog) {
        precondition(precision == other.precision, "cannot merge HyperLogLogs of different precision")
        if other.isSparse {
            reserve(sparseCount + other.sparseCount)
            if !isSparse {
                // Into dense registers in one pass: `raise` per entry re-checked the array's
                // uniqueness each time (an aggregator merges 64 partials a window into dense ones).
                dense.withUnsafeMutableBufferPointer { mine in
                    for entry in other.sparse where entry != 0 {
                        let index = Int(entry >> 8)
                        mine[index] = Swift.max(mine[index], UInt8(truncatingIfNeeded: entry))
                    }
                }
                return
            }
            for entry in other.sparse where entry != 0 { raise(Int(entry >> 8), to: UInt8(truncatingIfNeeded: entry)) }
            return
        }
        if isSparse { makeDense() }
        dense.withUnsafeMutableBufferPointer { mine in
            other.dense.withUnsafeBufferPointer { theirs in
                for index in mine.indices where theirs[index] > mine[index] { mine[index] = theirs[index] }
            }
        }
    }

    /// How many registers hold each value (0 through 64 − precision + 1).
    private var histogram: [Int] {
        var histogram = [Int](repeating: 0, count: 64 - precision + 2)
        if isSparse {
            histogram[0] = (1 << precision) - sparseCount
            for entry in sparse where entry != 0 { histogram[Int(entry & 0xFF)] += 1 }
        } else {
            for value in dense { histogram[Int(value)] += 1 }
        }
        return histogram
    }

    public var estimate: Double {
        let m = Double(1 << precision)
        let q = 64 - precision
        let histogram = histogram
        var z = m * Self.tau(1 - Double(histogram[q + 1]) / m)
        for k in stride(from: q, through: 1, by: -1) {
            z = 0.5 * (z + Double(histogram[k]))
        }
        z += m * Self.sigma(Double(histogram[0]) / m)
        return (m * m / (2 * log(2.0))) / z
    }

    private static func sigma(_ x0: Double) -> Double {
        if x0 == 1 { return .infinity }
        var x = x0
        var y = 1.0
        var z = x
        while true {
            x *= x
            let previous = z
            z += x * y
            y += y
            if z == previous { return z }
        }
    }

    private static func tau(_ x0: Double) -> Double {
        if x0 == 0 || x0 == 1 { return 0 }
        var x = x0
        var y = 1.0
        var z = 1 - x
        while true {
            x = x.squareRoot()
            let previous = z
            y *= 0.5
            z -= (1 - x) * (1 - x) * y
            if z == previous { return z / 3 }
        }
    }
}

extension HyperLogLog: Equatable {
    public static func == (lhs: HyperLogLog, rhs: HyperLogLog) -> Bool {
        lhs.precision == rhs.precision && lhs.registers == rhs.registers
    }
}

extension HyperLogLog {
    /// Sparse when few registers are set (the common case for low-cardinality fields), dense
    /// otherwise; the same bytes whichever way the sketch holds them.
    func encode(into writer: inout BinaryWriter) {
        writer.varint(UInt64(precision))
        let count = 1 << precision
        if isSparse {
            // Fewer than a third of the registers are set (the sparse limit is an eighth).
            writer.byte(1)
            writer.varint(UInt64(sparseCount))
            // The table is almost in index order (home slots come from the index's top bits; only
            // probing displaces entries, a few slots each, and a wrap moves some to the front), so an
            // insertion sort is close to linear, where `filter` + `sorted` allocated twice and merge-sorted.
            let entries = [UInt32](unsafeUninitializedCapacity: sparseCount) { buffer, initialized in
                var filled = 0
                for entry in sparse where entry != 0 {
                    var position = filled
                    while position > 0, buffer[position - 1] > entry {
                        buffer[position] = buffer[position - 1]
                        position -= 1
                    }
                    buffer[position] = entry
                    filled += 1
                }
                initialized = filled
            }
            // A gap below 2^18 is at most 3 varint bytes, then the value's byte.
            writer.append(upTo: 4 * entries.count) { out in
                var previous = 0
                var length = 0
                for entry in entries {
                    let index = Int(entry >> 8)
                    length += BinaryWriter.varint(UInt64(index - previous), at: out + length)
                    out[length] = UInt8(truncatingIfNeeded: entry)
                    length += 1
                    previous = index
                }
                return length
            }
            return
        }
        let nonZero = denseSetRegisters
        if nonZero * 3 < count {
            writer.byte(1)
            writer.varint(UInt64(nonZero))
            dense.withUnsafeBytes { raw in
                var previous = 0
                var index = 0
                while index < raw.count {
                    if index + 8 <= raw.count, raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) == 0 {
                        index += 8
                        continue
                    }
                    if raw[index] != 0 {
                        writer.varint(UInt64(index - previous))
                        writer.byte(raw[index])
                        previous = index
                    }
                    index += 1
                }
            }
        } else {
            writer.byte(0)
            writer.bytes(dense)
        }
    }

    /// Non-zero dense registers. Partials of small windows are mostly empty registers: skip them
    /// eight at a time (this runs once per field per partition per window, on the detector's path).
    private var denseSetRegisters: Int {
        dense.withUnsafeBytes { raw in
            var count = 0
            var index = 0
            while index + 8 <= raw.count {
                let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                if word != 0 {
                    // One bit per non-zero byte.
                    let low = (word & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F
                    count += ((low | word) & 0x8080_8080_8080_8080).nonzeroBitCount
                }
                index += 8
            }
            while index < raw.count { count += raw[index] == 0 ? 0 : 1; index += 1 }
            return count
        }
    }

    init(from reader: inout BinaryReader) throws(ProfileDecodingError) {
        let precision = try reader.varint(max: 18, "HyperLogLog precision")
        guard precision >= 4 else { throw reader.error("HyperLogLog precision \(precision) below 4") }
        self.init(precision: Int(precision))
        let count = 1 << Int(precision)
        let limit = UInt8(64 - Int(precision) + 1)
        switch try reader.byte() {
        case 1:
            let nonZero = Int(try reader.varint(max: UInt64(count), "HyperLogLog set registers"))
            // Read and checked first, then placed in one pass (`insertDistinct`): the same table as
            // raising them one by one, without a uniqueness check and a call per entry.
            var entries = [UInt32](repeating: 0, count: nonZero)
            var index = 0
            for entry in 0..<nonZero {
                let delta = try reader.varint(max: UInt64(count), "HyperLogLog register gap")
                index += Int(delta)
                guard index < count, entry == 0 || delta > 0 else { throw reader.error("HyperLogLog register index out of order") }
                let value = try reader.byte()
                guard value > 0, value <= limit else { throw reader.error("HyperLogLog register value \(value) out of range") }
                entries[entry] = UInt32(truncatingIfNeeded: index) << 8 | UInt32(value)
            }
            reserve(nonZero)
            entries.withUnsafeBufferPointer { insertDistinct($0) }
        case 0:
            let raw = try reader.bytes(count)
            guard raw.allSatisfy({ $0 <= limit }) else { throw reader.error("HyperLogLog register value out of range") }
            dense = raw
            sparse = []
            sparseCount = 0
        case let other:
            throw reader.error("unknown HyperLogLog layout \(other)")
        }
    }
}
