/// Everything known about one field (path) in one window. Every part merges: counts exactly,
/// moments to rounding, sketches within their stated error.
public final class FieldProfile {
    public let path: String
    let pathBytes: [UInt8]
    let pathHash: UInt64

    /// Records in which the field appeared at least once (absent = window records − present).
    public internal(set) var present: Int64 = 0
    /// Values seen, per observed type (array elements and repeated keys each count).
    public internal(set) var typeCounts = [Int64](repeating: 0, count: JSONValueType.allCases.count)
    /// Integers and floats.
    public internal(set) var numbers = RunningMoments()
    public internal(set) var quantiles: QuantileSketch?
    /// Distinct non-null scalar values.
    public internal(set) var distinct: HyperLogLog?
    /// Most frequent strings, integers and booleans (as their text).
    public internal(set) var frequent: FrequentValues?
    /// UTF-8 byte length of string values.
    public internal(set) var stringLengths = RunningMoments()
    /// Length of array values, and how often each element type occurred in them.
    public internal(set) var arrayLengths = RunningMoments()
    public internal(set) var arrayElementTypes = [Int64](repeating: 0, count: JSONValueType.allCases.count)

    /// The record number that last marked this field present (not part of the profile's value).
    var lastRecord: Int64 = -1

    init(path pathBytes: [UInt8], hash: UInt64) {
        self.pathBytes = pathBytes
        path = String(decoding: pathBytes, as: UTF8.self)
        pathHash = hash
    }

    public var count: Int64 { typeCounts.reduce(0, +) }

    /// Heap bytes this field holds (sketch storage dominates; fixed parts are approximated).
    public var allocatedBytes: Int {
        256 + pathBytes.capacity + (quantiles?.allocatedBytes ?? 0) + (distinct?.allocatedBytes ?? 0) + (frequent?.allocatedBytes ?? 0)
    }
    public func count(of type: JSONValueType) -> Int64 { typeCounts[Int(type.rawValue)] }
    public var nulls: Int64 { count(of: .null) }

    @inline(__always)
    func update(_ leaf: JSONLeaf, scanner: JSONScanner, record: Int64, configuration: ProfileConfiguration) {
        if lastRecord != record {
            lastRecord = record
            present += 1
        }
        typeCounts[Int(leaf.type.rawValue)] += 1
        switch leaf.type {
        case .integer, .float:
            numbers.add(leaf.number)
            if case .none = quantiles { quantiles = QuantileSketch(k: configuration.quantileK, seed: pathHash) }
            quantiles!.add(leaf.number)
            addDistinct(Hash64.double(leaf.number), configuration)
            if leaf.type == .integer { addFrequentInteger(leaf.integer, configuration) }
        case .string:
            let value = scanner.string(of: leaf)
            stringLengths.add(Double(value.count))
            let hash = Hash64.bytes(value)
            addDistinct(hash, configuration)
            addFrequent(value, hash: hash, configuration)
        case .bool:
            let text: StaticString = leaf.integer == 1 ? "true" : "false"
            let value = UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
            let hash = Hash64.bytes(value)
            addDistinct(hash, configuration)
            addFrequent(value, hash: hash, configuration)
        case .array:
            arrayLengths.add(leaf.number)
            for type in 0..<arrayElementTypes.count where leaf.elementTypes & (1 << type) != 0 {
                arrayElementTypes[type] += 1
            }
        case .null, .object:
            break
        }
    }

    @inline(__always)
    private func addDistinct(_ hash: UInt64, _ configuration: ProfileConfiguration) {
        if case .none = distinct { distinct = HyperLogLog(precision: configuration.hllPrecision) }
        distinct!.add(hash: hash)
    }

    @inline(__always)
    private func addFrequent(_ value: UnsafeRawBufferPointer, hash: UInt64, _ configuration: ProfileConfiguration) {
        if case .none = frequent { frequent = FrequentValues(capacity: configuration.frequentValues, maxValueBytes: configuration.maxValueBytes) }
        frequent!.add(value, hash: hash)
    }

    @inline(__always)
    private func addFrequentInteger(_ value: Int64, _ configuration: ProfileConfiguration) {
        // Render the decimal text into a stack buffer: integers are categories often enough (codes, ids).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var digits = 0
            var magnitude = value.magnitude
            repeat {
                buffer[19 - digits] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                digits += 1
            } while magnitude > 0
            var start = 20 - digits
            if value < 0 {
                start -= 1
                buffer[start] = UInt8(ascii: "-")
            }
            let text = UnsafeRawBufferPointer(start: buffer.baseAddress! + start, count: 20 - start)
            addFrequent(text, hash: Hash64.bytes(text), configuration)
        }
    }

    func merge(_ other: FieldProfile) {
        present += other.present
        for index in typeCounts.indices { typeCounts[index] += other.typeCounts[index] }
        numbers.merge(other.numbers)
        if let theirs = other.quantiles {
            if quantiles == nil { quantiles = theirs } else { quantiles!.merge(theirs) }
        }
        if let theirs = other.distinct {
            if distinct == nil { distinct = theirs } else { distinct!.merge(theirs) }
        }
        if let theirs = other.frequent {
            if frequent == nil { frequent = theirs } else { frequent!.merge(theirs) }
        }
        stringLengths.merge(other.stringLengths)
        arrayLengths.merge(other.arrayLengths)
        for index in arrayElementTypes.indices { arrayElementTypes[index] += other.arrayElementTypes[index] }
    }

    func copy() -> FieldProfile {
        let copy = FieldProfile(path: pathBytes, hash: pathHash)
        copy.merge(self)
        return copy
    }
}
