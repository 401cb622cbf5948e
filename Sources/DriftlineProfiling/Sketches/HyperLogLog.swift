import Foundation

/// HyperLogLog distinct counter (Flajolet et al. 2007) with Ertl's improved estimator ("New
/// cardinality estimation algorithms for HyperLogLog sketches", 2017), which needs no bias tables
/// and is accurate from 0 to far beyond 2^32. Standard error 1.04/√m; at the default precision 14
/// (m = 16384 one-byte registers) that is 0.81%.
public struct HyperLogLog: Equatable, Sendable {
    public let precision: Int
    private(set) var registers: [UInt8]

    public init(precision: Int = 14) {
        precondition((4...18).contains(precision), "precision must be in 4...18")
        self.precision = precision
        registers = [UInt8](repeating: 0, count: 1 << precision)
    }

    public var allocatedBytes: Int { registers.capacity }

    public var standardError: Double { 1.04 / Double(1 << precision).squareRoot() }

    /// Adds an item by its 64-bit hash.
    @inline(__always)
    public mutating func add(hash: UInt64) {
        let index = Int(truncatingIfNeeded: hash >> UInt64(64 - precision))
        let remaining = hash << UInt64(precision)
        let rank = UInt8(truncatingIfNeeded: Swift.min(remaining.leadingZeroBitCount, 64 - precision) + 1)
        registers.withUnsafeMutableBufferPointer { r in
            if rank > r[index] { r[index] = rank }
        }
    }

    public mutating func merge(_ other: HyperLogLog) {
        precondition(precision == other.precision, "cannot merge HyperLogLogs of different precision")
        for index in registers.indices where other.registers[index] > registers[index] {
            registers[index] = other.registers[index]
        }
    }

    public var estimate: Double {
        let m = Double(registers.count)
        let q = 64 - precision
        var histogram = [Int](repeating: 0, count: q + 2)
        for value in registers { histogram[Int(value)] += 1 }
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

extension HyperLogLog {
    /// Sparse when few registers are set (the common case for low-cardinality fields), dense otherwise.
    func encode(into writer: inout BinaryWriter) {
        writer.varint(UInt64(precision))
        // Partials of small windows are mostly empty registers: skip them eight at a time (this
        // runs once per field per partition per window, on the detector's path).
        let nonZero = registers.withUnsafeBytes { raw in
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
        if nonZero * 3 < registers.count {
            writer.byte(1)
            writer.varint(UInt64(nonZero))
            registers.withUnsafeBytes { raw in
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
            writer.bytes(registers)
        }
    }

    init(from reader: inout BinaryReader) throws(ProfileDecodingError) {
        let precision = try reader.varint(max: 18, "HyperLogLog precision")
        guard precision >= 4 else { throw reader.error("HyperLogLog precision \(precision) below 4") }
        self.init(precision: Int(precision))
        let limit = UInt8(64 - Int(precision) + 1)
        switch try reader.byte() {
        case 1:
            let nonZero = try reader.varint(max: UInt64(registers.count), "HyperLogLog set registers")
            var index = 0
            for entry in 0..<nonZero {
                let delta = try reader.varint(max: UInt64(registers.count), "HyperLogLog register gap")
                index += Int(delta)
                guard index < registers.count, entry == 0 || delta > 0 else { throw reader.error("HyperLogLog register index out of order") }
                let value = try reader.byte()
                guard value > 0, value <= limit else { throw reader.error("HyperLogLog register value \(value) out of range") }
                registers[index] = value
            }
        case 0:
            let raw = try reader.bytes(registers.count)
            guard raw.allSatisfy({ $0 <= limit }) else { throw reader.error("HyperLogLog register value out of range") }
            registers = raw
        case let other:
            throw reader.error("unknown HyperLogLog layout \(other)")
        }
    }
}
