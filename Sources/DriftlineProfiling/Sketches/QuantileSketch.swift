import Foundation

/// KLL quantile sketch (Karnin, Lang & Liberty, "Optimal Quantile Approximation in Streams", 2016).
///
/// Items live in levels; an item at level h stands for 2^h inputs. When the sketch is full, the
/// lowest full level is sorted and every other item (random offset) is promoted, halving that level.
/// Capacities shrink geometrically (factor 2/3) below the top level, down to 8, so the sketch holds
/// about 3k items plus 8 per extra level, whatever the input size.
///
/// Error: with k = 200 the rank of any value is within about ±1.33% of n with 99% confidence
/// (`rankErrorBound`, after DataSketches' empirical fit 2.296 / k^0.9723). Merging keeps the bound.
public struct QuantileSketch: Equatable, Sendable {
    public let k: Int
    public private(set) var count: Int64 = 0
    public private(set) var min: Double = .infinity
    public private(set) var max: Double = -.infinity
    private(set) var levels: [[Double]]
    /// Capacity of each level for the current height (recomputed only when the height changes).
    private var capacities: [Int] = []
    /// `capacities[0]`, read on every add.
    private var levelZeroCapacity = 0
    private var size = 0
    private var random: UInt64

    public init(k: Int = 200, seed: UInt64 = 0x5DEECE66D) {
        precondition(k >= 8, "k must be at least 8")
        self.k = k
        random = seed | 1
        levels = [Self.level(capacity: k)]
        setHeight(1)
    }

    private mutating func setHeight(_ height: Int) {
        capacities = Self.capacities(k: k, height: height)
        levelZeroCapacity = capacities[0]
    }

    /// Smallest level capacity (DataSketches' m = 8): tiny low levels would compact every few items.
    static let minimumWidth = 8

    private static func capacities(k: Int, height: Int) -> [Int] {
        (0..<height).map { level in
            Swift.max(Self.minimumWidth, Int((Double(k) * pow(2.0 / 3.0, Double(height - 1 - level))).rounded(.up)))
        }
    }

    /// Normalized rank error with 99% confidence for this k.
    public var rankErrorBound: Double { Self.rankErrorBound(k: k) }
    public static func rankErrorBound(k: Int) -> Double { 2.296 / pow(Double(k), 0.9723) }

    private static func level(capacity: Int) -> [Double] {
        var level: [Double] = []
        level.reserveCapacity(capacity + 1)
        return level
    }

    @inline(__always)
    private func capacity(_ height: Int) -> Int { capacities[height] }

    @inline(__always)
    public mutating func add(_ value: Double) {
        levels[0].append(value)
        size += 1
        count += 1
        if value < min { min = value }
        if value > max { max = value }
        if levels[0].count >= levelZeroCapacity { compress() }
    }

    /// Compacts every level that reached its capacity, lowest first, so no level ever outgrows the
    /// storage reserved for it (allocation is then a function of k and the height alone).
    private mutating func compress() {
        var height = 0
        while height < levels.count {
            if levels[height].count >= capacity(height) {
                let grows = height == levels.count - 1
                if grows { addLevel() }
                compact(height)
                // A new level shrinks the capacities below it: check those again (after a merge a
                // lower level can be over its new capacity, which a decoder rightly rejects).
                if grows { height = 0; continue }
            }
            height += 1
        }
    }

    /// A new top level; the levels below get smaller capacities and their storage is trimmed to match.
    private mutating func addLevel() {
        levels.append(Self.level(capacity: k))
        setHeight(levels.count)
        trimStorage()
    }

    /// Gives every level exactly the storage its capacity needs (after a merge or a decode too).
    private mutating func trimStorage() {
        for height in levels.indices where levels[height].capacity > capacity(height) + 1 {
            var trimmed = Self.level(capacity: Swift.max(capacity(height), levels[height].count))
            trimmed.append(contentsOf: levels[height])
            levels[height] = trimmed
        }
    }

    /// Bytes of item storage reserved (what memory use is proportional to): the sizes the sketch asks
    /// for, not `Array.capacity`, which on Linux is malloc's usable size and moves with the heap's
    /// state by a few bytes per level (that made the memory-bound test flaky).
    public var allocatedBytes: Int {
        levels.indices.reduce(0) { $0 + Swift.max(capacity($1) + 1, levels[$1].count) * MemoryLayout<Double>.stride }
    }

    /// Sorts level `height` and promotes every other item to the level above.
    private mutating func compact(_ height: Int) {
        let promoted: Int = levels[height].withUnsafeMutableBufferPointer { items in
            sortInPlace(items.baseAddress!, items.count)
            return items.count
        }
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        let offset = Int(random & 1)
        // With an odd count, the largest item stays behind so the level keeps its weight exact.
        let pairs = promoted / 2
        var index = offset
        for _ in 0..<pairs {
            levels[height + 1].append(levels[height][index])
            index += 2
        }
        let leftover = promoted % 2 == 1 ? levels[height][promoted - 1] : nil
        levels[height].removeAll(keepingCapacity: true)
        if let leftover { levels[height].append(leftover) }
        size -= pairs
    }

    public mutating func merge(_ other: QuantileSketch) {
        precondition(k == other.k, "cannot merge sketches with different k")
        guard other.count > 0 else { return }
        while levels.count < other.levels.count { addLevel() }
        for (height, items) in other.levels.enumerated() { levels[height].append(contentsOf: items) }
        count += other.count
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
        size = levels.reduce(0) { $0 + $1.count }
        compress()
        trimStorage()
    }

    /// Items held and their weights (each stands for `weight` inputs), sorted by value. Built on
    /// demand; comparisons between sketches (KS, Wasserstein) walk these.
    public func weightedItems() -> [(value: Double, weight: Int64)] {
        var items: [(Double, Int64)] = []
        items.reserveCapacity(size)
        for (height, level) in levels.enumerated() {
            for value in level { items.append((value, Int64(1) << height)) }
        }
        items.sort { $0.0 < $1.0 }
        return items
    }

    /// Fraction of inputs ≤ `value` (or < `value` when not `inclusive`).
    public func rank(_ value: Double, inclusive: Bool = true) -> Double {
        guard count > 0 else { return 0 }
        var below: Int64 = 0
        for (height, level) in levels.enumerated() {
            for item in level where inclusive ? item <= value : item < value { below += Int64(1) << height }
        }
        return Double(below) / Double(count)
    }

    /// The value at normalized rank `q` in [0, 1]; `nil` when empty.
    public func quantile(_ q: Double) -> Double? {
        quantiles([q])?.first
    }

    public func quantiles(_ qs: [Double]) -> [Double]? {
        guard count > 0 else { return nil }
        let items = weightedItems()
        let total = items.reduce(Int64(0)) { $0 + $1.weight }
        return qs.map { q in
            if q <= 0 { return min }
            if q >= 1 { return max }
            let target = q * Double(total)
            var cumulative: Int64 = 0
            for item in items {
                cumulative += item.weight
                if Double(cumulative) >= target { return item.value }
            }
            return max
        }
    }

    /// Boundaries of `buckets` equal-count buckets (buckets + 1 values from min to max).
    public func equiDepthBoundaries(buckets: Int) -> [Double]? {
        guard buckets > 0 else { return nil }
        return quantiles((0...buckets).map { Double($0) / Double(buckets) })
    }

    /// Items currently retained (memory is proportional to this).
    public var retainedItems: Int { size }

    public static func == (a: QuantileSketch, b: QuantileSketch) -> Bool {
        a.k == b.k && a.count == b.count && a.min == b.min && a.max == b.max && a.levels == b.levels
    }
}

extension QuantileSketch {
    func encode(into writer: inout BinaryWriter) {
        writer.varint(UInt64(k))
        writer.varint(UInt64(count))
        writer.double(min)
        writer.double(max)
        writer.varint(random)
        writer.varint(UInt64(levels.count))
        for level in levels {
            writer.varint(UInt64(level.count))
            writer.doubles(level)
        }
    }

    init(from reader: inout BinaryReader) throws(ProfileDecodingError) {
        let k = try reader.varint(max: 65_536, "quantile sketch k")
        guard k >= 8 else { throw reader.error("quantile sketch k \(k) below 8") }
        self.init(k: Int(k))
        count = Int64(try reader.varint(max: UInt64(Int64.max), "quantile count"))
        min = try reader.double()
        max = try reader.double()
        random = try reader.varint()
        if random == 0 { throw reader.error("quantile sketch random state is zero") }
        let height = try reader.varint(max: 64, "quantile levels")
        levels = []
        for _ in 0..<height {
            let itemCount = try reader.varint(max: UInt64(k), "quantile level size")
            var level = Self.level(capacity: Int(k))
            try reader.doubles(Int(itemCount), into: &level)
            levels.append(level)
        }
        if levels.isEmpty { levels = [Self.level(capacity: Int(k))] }
        setHeight(levels.count)
        size = levels.reduce(0) { $0 + $1.count }
        for height in levels.indices where levels[height].count > capacity(height) {
            throw reader.error("quantile level \(height) holds more than its capacity")
        }
        trimStorage()
        let weight = levels.enumerated().reduce(Int64(0)) { $0 + Int64($1.element.count) << $1.offset }
        // Compaction preserves total weight exactly, so anything else is corruption.
        guard weight == count else {
            throw reader.error("quantile sketch weights \(weight) do not match count \(count)")
        }
    }
}
