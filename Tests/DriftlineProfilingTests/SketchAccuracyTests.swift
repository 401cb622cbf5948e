@testable import DriftlineProfiling
import DriftlineSampleData
import Testing

@Suite struct QuantileSketchTests {
    enum Distribution: String, CaseIterable { case uniform, normal, heavyTailed, manyDuplicates }

    static func values(_ distribution: Distribution, count: Int, seed: UInt64) -> [Double] {
        var random = SeededRandom(seed: seed)
        return (0..<count).map { _ in
            switch distribution {
            case .uniform: random.uniform() * 1000
            case .normal: random.normal(mean: 50, deviation: 10)
            case .heavyTailed: random.pareto()
            case .manyDuplicates: Double(random.next() % 10)
            }
        }
    }

    /// Distance from `q` to the interval of true ranks the returned value occupies (ties make it an interval).
    static func rankError(of value: Double, at q: Double, in sorted: [Double]) -> Double {
        let below = Double(lowerBound(sorted, value)) / Double(sorted.count)
        let atOrBelow = Double(upperBound(sorted, value)) / Double(sorted.count)
        if q < below { return below - q }
        if q > atOrBelow { return q - atOrBelow }
        return 0
    }

    static func lowerBound(_ sorted: [Double], _ value: Double) -> Int {
        var low = 0, high = sorted.count
        while low < high { let mid = (low + high) / 2; if sorted[mid] < value { low = mid + 1 } else { high = mid } }
        return low
    }

    static func upperBound(_ sorted: [Double], _ value: Double) -> Int {
        var low = 0, high = sorted.count
        while low < high { let mid = (low + high) / 2; if sorted[mid] <= value { low = mid + 1 } else { high = mid } }
        return low
    }

    @Test(arguments: Distribution.allCases)
    func rankErrorWithinStatedBoundOnAMillionValues(_ distribution: Distribution) {
        let data = Self.values(distribution, count: 1_000_000, seed: 42)
        var sketch = QuantileSketch(k: 200)
        for value in data { sketch.add(value) }
        let sorted = data.sorted()
        let qs = (1...99).map { Double($0) / 100 }
        let answers = sketch.quantiles(qs)!
        let worst = zip(qs, answers).map { Self.rankError(of: $1, at: $0, in: sorted) }.max()!
        #expect(worst <= sketch.rankErrorBound, "\(distribution): worst rank error \(worst) > \(sketch.rankErrorBound)")
        #expect(sketch.count == 1_000_000)
        #expect(sketch.min == sorted.first && sketch.max == sorted.last)
        #expect(sketch.retainedItems < 3 * 200 + QuantileSketch.minimumWidth * 40, "bounded storage, got \(sketch.retainedItems)")
    }

    @Test func splitThenMergeStaysWithinBound() {
        let data = Self.values(.normal, count: 300_000, seed: 7)
        var parts = [QuantileSketch(k: 200, seed: 1), QuantileSketch(k: 200, seed: 2), QuantileSketch(k: 200, seed: 3)]
        for (index, value) in data.enumerated() { parts[index % 3].add(value) }
        var merged = parts[0]
        merged.merge(parts[1])
        merged.merge(parts[2])
        let sorted = data.sorted()
        #expect(merged.count == 300_000)
        #expect(merged.min == sorted.first && merged.max == sorted.last)
        for q in stride(from: 0.01, through: 0.99, by: 0.01) {
            #expect(Self.rankError(of: merged.quantile(q)!, at: q, in: sorted) <= merged.rankErrorBound)
        }
    }

    @Test func smallInputsAreExact() {
        var sketch = QuantileSketch(k: 200)
        for value in [5.0, 1, 3, 2, 4] { sketch.add(value) }
        #expect(sketch.quantile(0.5) == 3)
        #expect(sketch.quantile(0) == 1 && sketch.quantile(1) == 5)
        #expect(sketch.rank(3) == 0.6)
        #expect(sketch.equiDepthBoundaries(buckets: 4)?.count == 5)
        #expect(QuantileSketch().quantile(0.5) == nil)
    }
}

@Suite struct HyperLogLogTests {
    /// A sketch's wire bytes (what partials carry).
    private func encoded(_ sketch: HyperLogLog) -> [UInt8] {
        var writer = BinaryWriter()
        sketch.encode(into: &writer)
        return writer.bytes
    }

    @Test(arguments: [1_000, 100_000, 1_000_000])
    func relativeErrorWithinTwoPercent(distinct: Int) {
        var sketch = HyperLogLog(precision: 14)
        for value in 0..<distinct {
            // Each value twice: duplicates must not count.
            sketch.add(hash: Hash64.double(Double(value)))
            sketch.add(hash: Hash64.double(Double(value)))
        }
        let error = abs(sketch.estimate - Double(distinct)) / Double(distinct)
        #expect(error <= 0.02, "estimate \(sketch.estimate) for \(distinct)")
    }

    @Test func emptyAndTinyAreExactEnough() {
        var sketch = HyperLogLog()
        #expect(sketch.estimate == 0)
        for value in 0..<10 { sketch.add(hash: Hash64.double(Double(value))) }
        #expect(abs(sketch.estimate - 10) < 0.5)
    }

    @Test func mergeIsTheUnion() {
        var a = HyperLogLog(), b = HyperLogLog(), whole = HyperLogLog()
        for value in 0..<60_000 {
            let hash = Hash64.string("user-\(value)")
            if value < 40_000 { a.add(hash: hash) }
            if value >= 20_000 { b.add(hash: hash) }
            whole.add(hash: hash)
        }
        var merged = a
        merged.merge(b)
        #expect(merged == whole, "register-wise max is exactly the sketch of the union")
        var other = b
        other.merge(a)
        #expect(other == merged)
    }

    /// The registers a dense array would hold for these hashes, computed here from the definition.
    static func referenceRegisters(_ hashes: [UInt64], precision: Int) -> [UInt8] {
        var registers = [UInt8](repeating: 0, count: 1 << precision)
        for hash in hashes {
            let index = Int(hash >> UInt64(64 - precision))
            let rank = UInt8(min((hash << UInt64(precision)).leadingZeroBitCount, 64 - precision) + 1)
            registers[index] = max(registers[index], rank)
        }
        return registers
    }

    /// Sparse while few registers are set, dense past an eighth of them: the same registers, so the
    /// same estimate and the same encoded bytes, on both sides of the switch and across merges of
    /// either kind.
    @Test(arguments: [0, 5, 17, 600, 2_048, 2_049, 2_100, 40_000])
    func sparseAndDenseHoldTheSameRegisters(distinct: Int) throws {
        let hashes = (0..<distinct).map { Hash64.string("value-\($0)") }
        let reference = Self.referenceRegisters(hashes, precision: 14)
        var sketch = HyperLogLog(precision: 14)
        for hash in hashes + hashes.prefix(50) { sketch.add(hash: hash) }
        #expect(sketch.registers == reference)
        let setRegisters = reference.filter { $0 != 0 }.count
        #expect(sketch.isSparse == (setRegisters <= 2_048), "\(setRegisters) registers set")
        // (The 64-byte margin dates from counting Array capacities, which malloc rounds up.)
        if sketch.isSparse { #expect(sketch.allocatedBytes <= 16_384 + 64, "a sparse sketch is never larger than the dense one") }

        // Round trip through the wire format lands on the same registers (sparse or dense alike).
        var reader = BinaryReader(encoded(sketch))
        let decoded = try HyperLogLog(from: &reader)
        #expect(decoded == sketch)
        #expect(decoded.estimate == sketch.estimate)
        // The wire bytes, written out from the definition: the precision, then either 1, the set
        // count and each set register's index gap and value in index order (under a third set), or
        // 0 and every register.
        var definition = BinaryWriter()
        definition.varint(14)
        let set = reference.enumerated().filter { $0.element != 0 }
        if set.count * 3 < reference.count {
            definition.byte(1)
            definition.varint(UInt64(set.count))
            var previous = 0
            for (index, value) in set {
                definition.varint(UInt64(index - previous))
                definition.byte(value)
                previous = index
            }
        } else {
            definition.byte(0)
            definition.bytes(reference)
        }
        #expect(encoded(sketch) == definition.bytes)
        #expect(encoded(decoded) == definition.bytes)
        // The same registers held densely (the dense wire layout decodes to a dense sketch) estimate the same.
        var denseWriter = BinaryWriter()
        denseWriter.varint(14)
        denseWriter.byte(0)
        denseWriter.bytes(reference)
        var denseReader = BinaryReader(denseWriter.bytes)
        let heldDensely = try HyperLogLog(from: &denseReader)
        #expect(!heldDensely.isSparse && heldDensely == sketch)
        #expect(heldDensely.estimate == sketch.estimate)

        // A merge of a sparse and a dense sketch, in either order, is the sketch of the union.
        var dense = HyperLogLog(precision: 14)
        let wide = (0..<30_000).map { Hash64.string("wide-\($0)") }
        for hash in wide { dense.add(hash: hash) }
        #expect(!dense.isSparse)
        let union = Self.referenceRegisters(hashes + wide, precision: 14)
        var left = sketch
        left.merge(dense)
        var right = dense
        right.merge(sketch)
        #expect(left.registers == union && right.registers == union)
        #expect(left.estimate == right.estimate)
    }

    /// A sketch sized from a hint (the same field's set registers in an earlier window) holds the
    /// same registers, estimate and encoded bytes as one grown step by step, whether the hint is
    /// too small, right, too large or past the dense switch.
    @Test(arguments: [(600, 0), (600, 100), (600, 600), (600, 5_000), (3_000, 600), (3_000, 16_384)])
    func aSizeHintChangesNothingButTheGrowth(distinct: Int, hint: Int) throws {
        let hashes = (0..<distinct).map { Hash64.string("hinted-\($0)") }
        var grown = HyperLogLog(precision: 14)
        var hinted = HyperLogLog(precision: 14, expectedRegisters: hint)
        for hash in hashes { grown.add(hash: hash); hinted.add(hash: hash) }
        #expect(hinted.registers == grown.registers)
        #expect(hinted.estimate == grown.estimate)
        #expect(hinted.setRegisters == grown.setRegisters)
        #expect(encoded(hinted) == encoded(grown))
    }

    /// Batches of every size, across the sparse → dense switch and with repeated values, leave the
    /// registers, the estimate and the encoded bytes exactly as one add at a time does.
    @Test(arguments: [(1, 500), (7, 2_100), (64, 2_049), (64, 40_000), (1_000, 3_000)])
    func batchesEqualOneAtATime(batch: Int, distinct: Int) {
        let hashes = (0..<(distinct * 3 / 2)).map { Hash64.string("batched-\($0 % distinct)") }
        var single = HyperLogLog(precision: 14)
        var batched = HyperLogLog(precision: 14)
        for hash in hashes { single.add(hash: hash) }
        hashes.withUnsafeBufferPointer { all in
            var start = 0
            while start < all.count {
                let end = min(start + batch, all.count)
                batched.add(hashes: UnsafeBufferPointer(rebasing: all[start..<end]))
                start = end
            }
        }
        #expect(batched.registers == single.registers)
        #expect(batched.isSparse == single.isSparse)
        #expect(batched.estimate == single.estimate)
        #expect(encoded(batched) == encoded(single))
    }

    /// A field's buffered hashes are in every read of its sketch, also when fewer than a batch wait.
    @Test func aFieldsReadsSeeValuesStillBuffered() throws {
        for values in [1, FieldProfile.distinctBatch - 1, FieldProfile.distinctBatch, FieldProfile.distinctBatch + 3] {
            let profile = WindowProfile(configuration: ProfileConfiguration())
            for value in 0..<values {
                let record = Array("{\"id\":\(value)}".utf8)
                record.withUnsafeBytes { _ = profile.add($0, scanner: JSONScanner()) }
            }
            let field = try #require(profile.field("id"))
            var reference = HyperLogLog(precision: ProfileConfiguration().hllPrecision)
            for value in 0..<values { reference.add(hash: Hash64.double(Double(value))) }
            #expect(field.distinct == reference, "\(values) values")
            let decoded = try WindowProfile(encoded: profile.encoded())
            #expect(decoded.field("id")?.distinct == reference, "\(values) values, encoded")
        }
    }
}

@Suite struct FrequentValuesTests {
    @Test func everyValueAboveTheSupportThresholdIsFound() {
        // Zipf-like: value i has weight 1/(i+1); 1M draws over 10k values.
        var random = SeededRandom(seed: 3)
        let weights = (0..<10_000).map { 1.0 / Double($0 + 1) }
        let totalWeight = weights.reduce(0, +)
        var cumulative: [Double] = []
        var running = 0.0
        for weight in weights { running += weight; cumulative.append(running / totalWeight) }
        var summary = FrequentValues(capacity: 64)
        var exact: [Int: Int64] = [:]
        for _ in 0..<1_000_000 {
            let u = random.uniform()
            var low = 0, high = cumulative.count - 1
            while low < high { let mid = (low + high) / 2; if cumulative[mid] < u { low = mid + 1 } else { high = mid } }
            exact[low, default: 0] += 1
            let text = Array("v\(low)".utf8)
            text.withUnsafeBytes { summary.add($0, hash: Hash64.bytes($0)) }
        }
        let threshold = Int64(1_000_000 / 64)
        let heavy = exact.filter { $0.value > threshold }.keys
        let found = Set(summary.entries.map(\.text))
        #expect(!heavy.isEmpty)
        for value in heavy { #expect(found.contains("v\(value)"), "v\(value) occurs \(exact[value]!) times") }
        for entry in summary.entries {
            let truth = exact[Int(entry.text.dropFirst())!] ?? 0
            #expect(entry.count - entry.error <= truth && truth <= entry.count, "bounds for \(entry.text)")
        }
        #expect(summary.total == 1_000_000)
    }

    @Test func longValuesAreTruncatedNotLost() {
        var summary = FrequentValues(capacity: 4, maxValueBytes: 8)
        let long = Array("a-very-long-category-name".utf8)
        for _ in 0..<3 { long.withUnsafeBytes { summary.add($0, hash: Hash64.bytes($0)) } }
        #expect(summary.entries.first?.value == Array("a-very-l".utf8))
        #expect(summary.entries.first?.isTruncated == true)
        #expect(summary.entries.first?.count == 3)
    }
}

@Suite struct RunningMomentsTests {
    @Test func matchesTwoPassComputation() {
        var random = SeededRandom(seed: 11)
        let data = (0..<10_000).map { _ in random.normal(mean: 1e6, deviation: 3) }
        var moments = RunningMoments()
        data.forEach { moments.add($0) }
        let mean = data.reduce(0, +) / Double(data.count)
        let variance = data.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(data.count - 1)
        #expect(abs(moments.mean - mean) < 1e-6)
        #expect(abs(moments.variance! - variance) / variance < 1e-9)
        #expect(moments.min == data.min() && moments.max == data.max())
        #expect(RunningMoments().variance == nil)
    }
}
