#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A Kafka partition a window's records came from, and the offsets it covered.
public struct OffsetRange: Hashable, Sendable, Codable {
    public var topic: String
    public var partition: Int32
    public var first: Int64
    public var last: Int64

    public init(topic: String, partition: Int32, first: Int64, last: Int64) {
        self.topic = topic
        self.partition = partition
        self.first = first
        self.last = last
    }
}

/// The profile of one window of records: a field profile per path, plus what the window covered.
/// Fields beyond `maxFields` are not tracked; their leaves are counted as overflow.
public final class WindowProfile {
    public let configuration: ProfileConfiguration
    /// Well-formed records profiled.
    public private(set) var recordCount: Int64 = 0
    public private(set) var malformedCount: Int64 = 0
    public private(set) var malformedByReason: [ScanErrorReason: Int64] = [:]
    public private(set) var firstEventTime: Int64?
    public private(set) var lastEventTime: Int64?
    /// Leaves of fields beyond the cap, and an estimate of how many such fields there were.
    public private(set) var overflowLeaves: Int64 = 0
    public private(set) var overflowFields: HyperLogLog
    private var coverage: [PartitionKey: OffsetRange] = [:]

    private(set) var fieldList: [FieldProfile] = []
    // Open addressing from path hash to index in fieldList (+1; 0 is empty).
    private var slots: [Int32]
    private var slotMask: Int
    /// For each leaf position, the field it resolved to in the previous record (-1: unknown).
    private var predictedFields: [Int32] = []
    /// Unretained references to `fieldList`'s elements (which own them), so the per-value path
    /// does no reference counting.
    private let fieldReferences: UnsafeMutablePointer<Unmanaged<FieldProfile>>

    /// Per field path hash, how many registers its distinct sketch set in an earlier window: new
    /// fields size their sketch from it (`HyperLogLog(precision:expectedRegisters:)`). Set by the
    /// owner before records are added; changes no result.
    public var distinctHints: [UInt64: Int] = [:]

    /// Each field's path hash and its distinct sketch's set registers: hints for the next window.
    public var distinctSizes: [(pathHash: UInt64, registers: Int)] {
        fieldList.compactMap { field in field.distinct.map { (field.pathHash, $0.setRegisters) } }
    }

    private struct PartitionKey: Hashable {
        var topic: String
        var partition: Int32
    }

    public init(configuration: ProfileConfiguration = ProfileConfiguration()) {
        self.configuration = configuration
        var size = 16
        while size < configuration.maxFields * 2 { size <<= 1 }
        slots = [Int32](repeating: 0, count: size)
        slotMask = size - 1
        overflowFields = HyperLogLog(precision: 10)
        fieldReferences = .allocate(capacity: configuration.maxFields)
    }

    deinit { fieldReferences.deallocate() }

    /// Heap bytes the profile holds: bounded by the configuration, not by how many records it saw.
    public var allocatedBytes: Int {
        fieldList.reduce(0) { $0 + $1.allocatedBytes } + slots.count * 4 + overflowFields.allocatedBytes + coverage.count * 64
    }

    /// Fields sorted by path.
    public var fields: [FieldProfile] { fieldList.sorted { $0.path < $1.path } }

    public func field(_ path: String) -> FieldProfile? {
        var bytes = Array(path.utf8)
        let hash = bytes.withUnsafeMutableBytes { Hash64.bytes(UnsafeRawBufferPointer($0)) }
        return bytes.withUnsafeBytes { lookup(hash: hash, path: $0) }.map { fieldList[$0] }
    }

    /// Offsets covered, per partition, sorted.
    public var offsetRanges: [OffsetRange] {
        coverage.values.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }

    /// A field profile with no values, shaped by this window's configuration.
    public func emptyField() -> FieldProfile {
        FieldProfile(path: [], hash: 0, configuration: configuration)
    }

    /// Absent count of a field: records of this window in which it did not appear.
    public func absent(_ field: FieldProfile) -> Int64 { recordCount - field.present }

    // MARK: Adding records

    /// Scans and profiles one record. A malformed record is counted (by reason) and changes nothing
    /// else; the error is returned so the caller can sample it to a dead-letter topic.
    @discardableResult
    public func add(_ record: UnsafeRawBufferPointer, eventTime: Int64? = nil, scanner: JSONScanner) -> ScanError? {
        do {
            try scanner.scan(record)
        } catch {
            countMalformed(error)
            return error
        }
        addScanned(scanner, eventTime: eventTime)
        return nil
    }

    /// Counts a record that failed to scan elsewhere (the caller scanned it itself).
    public func countMalformed(_ error: ScanError) {
        malformedCount += 1
        malformedByReason[error.reason, default: 0] += 1
    }

    /// Profiles the record `scanner` just scanned successfully.
    public func addScanned(_ scanner: JSONScanner, eventTime: Int64? = nil) {
        let record = recordCount
        recordCount += 1
        if let eventTime {
            if firstEventTime.map({ eventTime < $0 }) ?? true { firstEventTime = eventTime }
            if lastEventTime.map({ eventTime > $0 }) ?? true { lastEventTime = eventTime }
        }
        let leafCount = scanner.count
        if predictedFields.count < leafCount { predictedFields.append(contentsOf: repeatElement(-1, count: leafCount - predictedFields.count)) }
        for index in 0..<leafCount {
            let leaf = scanner[index]
            let path = scanner.path(of: leaf)
            // Records of one topic mostly share a shape: try the field this position had last time.
            var slot = Int(predictedFields[index])
            if slot < 0 || !fieldReferences[slot]._withUnsafeGuaranteedRef({ $0.likelyMatches(hash: leaf.pathHash, length: path.count) }) {
                guard let found = lookup(hash: leaf.pathHash, path: path) ?? insert(hash: leaf.pathHash, path: path) else {
                    overflowLeaves += 1
                    overflowFields.add(hash: leaf.pathHash)
                    continue
                }
                slot = found
                predictedFields[index] = Int32(found)
            }
            fieldReferences[slot]._withUnsafeGuaranteedRef { $0.update(leaf, scanner: scanner, record: record) }
        }
    }

    /// Notes that the window includes `offset` of `topic`/`partition`.
    public func cover(topic: String, partition: Int32, offset: Int64) {
        let key = PartitionKey(topic: topic, partition: partition)
        if var range = coverage[key] {
            range.first = min(range.first, offset)
            range.last = max(range.last, offset)
            coverage[key] = range
        } else {
            coverage[key] = OffsetRange(topic: topic, partition: partition, first: offset, last: offset)
        }
    }

    @inline(__always)
    private func lookup(hash: UInt64, path: UnsafeRawBufferPointer) -> Int? {
        var slot = Int(truncatingIfNeeded: hash) & slotMask
        while true {
            let entry = Int(slots[slot])
            if entry == 0 { return nil }
            if fieldList[entry - 1].matches(hash: hash, path: path) { return entry - 1 }
            slot = (slot + 1) & slotMask
        }
    }

    private func insert(hash: UInt64, path: UnsafeRawBufferPointer) -> Int? {
        guard fieldList.count < configuration.maxFields else { return nil }
        let field = FieldProfile(path: Array(path), hash: hash, configuration: configuration)
        field.distinctHint = distinctHints[hash] ?? 0
        fieldReferences[fieldList.count] = .passUnretained(field)
        fieldList.append(field)
        var slot = Int(truncatingIfNeeded: hash) & slotMask
        while slots[slot] != 0 { slot = (slot + 1) & slotMask }
        slots[slot] = Int32(fieldList.count)
        return fieldList.count - 1
    }

    // MARK: Merging

    /// Adds `other` into this profile: the result describes both windows' records together.
    /// A new profile holding `profiles` merged in order (one way to merge a list, for every caller).
    public static func merging(_ profiles: [WindowProfile], configuration: ProfileConfiguration) throws(ProfileConfigurationError) -> WindowProfile {
        let merged = WindowProfile(configuration: configuration)
        for profile in profiles { try merged.merge(profile) }
        return merged
    }

    public func merge(_ other: WindowProfile) throws(ProfileConfigurationError) {
        guard configuration.isMergeable(with: other.configuration) else {
            throw .notMergeable("sketch parameters differ (quantileK, hllPrecision, frequentValues, maxValueBytes)")
        }
        // Records before the merge did not contain the other side's new fields: presence just adds.
        recordCount += other.recordCount
        malformedCount += other.malformedCount
        for (reason, count) in other.malformedByReason { malformedByReason[reason, default: 0] += count }
        if let theirs = other.firstEventTime { firstEventTime = min(firstEventTime ?? theirs, theirs) }
        if let theirs = other.lastEventTime { lastEventTime = max(lastEventTime ?? theirs, theirs) }
        overflowLeaves += other.overflowLeaves
        overflowFields.merge(other.overflowFields)
        for range in other.coverage.values {
            cover(topic: range.topic, partition: range.partition, offset: range.first)
            cover(topic: range.topic, partition: range.partition, offset: range.last)
        }
        for theirs in other.fieldList {
            let existing = theirs.pathBytes.withUnsafeBytes { lookup(hash: theirs.pathHash, path: $0) }
            if let existing {
                fieldList[existing].merge(theirs)
            } else if let added = theirs.pathBytes.withUnsafeBytes({ insert(hash: theirs.pathHash, path: $0) }) {
                fieldList[added].merge(theirs)
            } else {
                overflowLeaves += theirs.count
                overflowFields.add(hash: theirs.pathHash)
            }
        }
    }

    /// An independent copy.
    public func copy() -> WindowProfile {
        let copy = WindowProfile(configuration: configuration)
        try! copy.merge(self)  // same configuration: always mergeable
        return copy
    }

    // Used by the decoder.
    func restore(
        recordCount: Int64, malformedCount: Int64, malformedByReason: [ScanErrorReason: Int64],
        firstEventTime: Int64?, lastEventTime: Int64?, overflowLeaves: Int64, overflowFields: HyperLogLog,
        ranges: [OffsetRange], fields: [FieldProfile]
    ) -> Bool {
        self.recordCount = recordCount
        self.malformedCount = malformedCount
        self.malformedByReason = malformedByReason
        self.firstEventTime = firstEventTime
        self.lastEventTime = lastEventTime
        self.overflowLeaves = overflowLeaves
        self.overflowFields = overflowFields
        for range in ranges { coverage[PartitionKey(topic: range.topic, partition: range.partition)] = range }
        for field in fields {
            guard field.pathBytes.withUnsafeBytes({ lookup(hash: field.pathHash, path: $0) }) == nil else { return false }
            guard let index = field.pathBytes.withUnsafeBytes({ insert(hash: field.pathHash, path: $0) }) else { return false }
            fieldList[index] = field
            fieldReferences[index] = .passUnretained(field)
        }
        return true
    }
}
