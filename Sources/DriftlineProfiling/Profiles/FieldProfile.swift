#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything known about one field (path) in one window. Every part merges: counts exactly,
/// moments to rounding, sketches within their stated error.
public final class FieldProfile {
    public let path: String
    let pathBytes: [UInt8]
    let pathHash: UInt64
    /// Sketch sizes, fixed by the window's configuration.
    private let quantileK: Int
    private let hllPrecision: Int
    private let frequentCapacity: Int
    private let maxValueBytes: Int

    /// Records in which the field appeared at least once (absent = window records − present).
    public internal(set) var present: Int64 = 0
    /// Values seen per observed type (slots 0..<7), then array element types (7..<14); raw storage
    /// because these counters are bumped for every value and array bookkeeping showed up in profiles.
    private let counters: UnsafeMutablePointer<Int64>
    private static let typeSlots = JSONValueType.allCases.count

    /// Values seen, per observed type (array elements and repeated keys each count).
    public var typeCounts: [Int64] { Array(UnsafeBufferPointer(start: counters, count: Self.typeSlots)) }
    /// How many array values contained each element type.
    public var arrayElementTypes: [Int64] { Array(UnsafeBufferPointer(start: counters + Self.typeSlots, count: Self.typeSlots)) }

    func setCount(of type: Int, to value: Int64) { counters[type] = value }
    func setArrayElementCount(of type: Int, to value: Int64) { counters[Self.typeSlots + type] = value }
    /// Integers and floats.
    public internal(set) var numbers = RunningMoments()
    public internal(set) var quantiles: QuantileSketch?
    /// Distinct non-null scalar values. Value hashes wait in a small buffer and go into the sketch
    /// a batch at a time (`HyperLogLog.add(hashes:)` overlaps their cache misses); every read of
    /// `distinct` adds what waits first, so readers see every value. A profile still being updated
    /// is owned by one thread; once its updates stop, the first read empties the buffer and later
    /// reads change nothing, so finished profiles can still be read from several threads.
    public internal(set) var distinct: HyperLogLog? {
        get {
            addPendingDistinct()
            return distinctSketch
        }
        set {
            addPendingDistinct()
            distinctSketch = newValue
        }
    }
    private var distinctSketch: HyperLogLog?
    private let pendingDistinct: UnsafeMutablePointer<UInt64>
    private var pendingDistinctCount = 0
    /// Hashes buffered before a batch goes into the sketch: enough to overlap misses, 512 bytes a field.
    static let distinctBatch = 64
    /// Most frequent strings and booleans (as their text).
    public internal(set) var frequent: FrequentValues?
    /// UTF-8 byte length of string values.
    public internal(set) var stringLengths = RunningMoments()
    /// Length of array values.
    public internal(set) var arrayLengths = RunningMoments()

    /// The record number that last marked this field present (not part of the profile's value).
    var lastRecord: Int64 = -1
    /// Set registers the field's distinct sketch had in an earlier window: its sketch is sized for
    /// that many at once (not part of the profile's value).
    var distinctHint = 0

    init(path pathBytes: [UInt8], hash: UInt64, configuration: ProfileConfiguration) {
        self.pathBytes = pathBytes
        path = String(decoding: pathBytes, as: UTF8.self)
        pathHash = hash
        quantileK = configuration.quantileK
        hllPrecision = configuration.hllPrecision
        frequentCapacity = configuration.frequentValues
        maxValueBytes = configuration.maxValueBytes
        counters = .allocate(capacity: 2 * Self.typeSlots)
        counters.initialize(repeating: 0, count: 2 * Self.typeSlots)
        pendingDistinct = .allocate(capacity: Self.distinctBatch)
    }

    deinit {
        counters.deallocate()
        pendingDistinct.deallocate()
    }

    /// Same hash and length: how a leaf is matched to the field its position had in the previous
    /// record (a 64-bit collision at the same position and length is not a practical concern).
    @inline(__always)
    func likelyMatches(hash: UInt64, length: Int) -> Bool { pathHash == hash && pathBytes.count == length }

    @inline(__always)
    func matches(hash: UInt64, path: UnsafeRawBufferPointer) -> Bool {
        guard pathHash == hash, pathBytes.count == path.count else { return false }
        return path.count == 0 || pathBytes.withUnsafeBytes { memcmp($0.baseAddress!, path.baseAddress!, path.count) == 0 }
    }

    public var count: Int64 { (0..<Self.typeSlots).reduce(0) { $0 + counters[$1] } }

    /// Heap bytes this field holds (sketch storage dominates; fixed parts are approximated).
    public var allocatedBytes: Int {
        256 + Self.distinctBatch * 8 + pathBytes.count + (quantiles?.allocatedBytes ?? 0) + (distinct?.allocatedBytes ?? 0) + (frequent?.allocatedBytes ?? 0)
    }
    public func count(of type: JSONValueType) -> Int64 { counters[Int(type.rawValue)] }
    public var nulls: Int64 { count(of: .null) }

    @inline(__always)
    func update(_ leaf: JSONLeaf, scanner: JSONScanner, record: Int64) {
        if lastRecord != record {
            lastRecord = record
            present += 1
        }
        counters[Int(leaf.type.rawValue)] += 1
        switch leaf.type {
        case .integer, .float:
            numbers.add(leaf.number)
            if case .none = quantiles { quantiles = QuantileSketch(k: quantileK, seed: pathHash) }
            quantiles!.add(leaf.number)
            // Numbers get quantiles, not frequent values: for ids and timestamps a heavy-hitter summary
            // only churns, and integer codes drift visibly in their quantiles and distinct count.
            addDistinct(Hash64.double(leaf.number))
        case .string:
            let value = scanner.string(of: leaf)
            stringLengths.add(Double(value.count))
            let hash = Hash64.bytes(value)
            addDistinct(hash)
            addFrequent(value, hash: hash)
        case .bool:
            let text: StaticString = leaf.integer == 1 ? "true" : "false"
            let value = UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
            let hash = Hash64.bytes(value)
            addDistinct(hash)
            addFrequent(value, hash: hash)
        case .array:
            arrayLengths.add(leaf.number)
            for type in 0..<Self.typeSlots where leaf.elementTypes & (1 << type) != 0 {
                counters[Self.typeSlots + type] += 1
            }
        case .null, .object:
            break
        }
    }

    @inline(__always)
    private func addDistinct(_ hash: UInt64) {
        pendingDistinct[pendingDistinctCount] = hash
        pendingDistinctCount += 1
        if pendingDistinctCount == Self.distinctBatch { addPendingDistinct() }
    }

    private func addPendingDistinct() {
        guard pendingDistinctCount > 0 else { return }
        if case .none = distinctSketch { distinctSketch = HyperLogLog(precision: hllPrecision, expectedRegisters: distinctHint) }
        distinctSketch!.add(hashes: UnsafeBufferPointer(start: pendingDistinct, count: pendingDistinctCount))
        pendingDistinctCount = 0
    }

    @inline(__always)
    private func addFrequent(_ value: UnsafeRawBufferPointer, hash: UInt64) {
        if case .none = frequent { frequent = FrequentValues(capacity: frequentCapacity, maxValueBytes: maxValueBytes) }
        frequent!.add(value, hash: hash)
    }

    func merge(_ other: FieldProfile) {
        present += other.present
        for index in 0..<(2 * Self.typeSlots) { counters[index] += other.counters[index] }
        numbers.merge(other.numbers)
        if let theirs = other.quantiles {
            if quantiles == nil { quantiles = theirs } else { quantiles!.merge(theirs) }
        }
        if let theirs = other.distinct {
            // On the stored sketch: `distinct!.merge` would copy the registers out and back.
            addPendingDistinct()
            if distinctSketch == nil { distinctSketch = theirs } else { distinctSketch!.merge(theirs) }
        }
        if let theirs = other.frequent {
            if frequent == nil { frequent = theirs } else { frequent!.merge(theirs) }
        }
        stringLengths.merge(other.stringLengths)
        arrayLengths.merge(other.arrayLengths)
    }

    func copy() -> FieldProfile {
        var configuration = ProfileConfiguration()
        configuration.quantileK = quantileK
        configuration.hllPrecision = hllPrecision
        configuration.frequentValues = frequentCapacity
        configuration.maxValueBytes = maxValueBytes
        let copy = FieldProfile(path: pathBytes, hash: pathHash, configuration: configuration)
        copy.merge(self)
        return copy
    }
}
