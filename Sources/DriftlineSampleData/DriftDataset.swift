import DriftlineProfiling

/// A deterministic JSONL dataset with known drift, for benchmarks, tests and the demo.
///
/// Twelve fields, about 220 bytes a record: integers, floats, categories, timestamps, nullable
/// fields and a nested object. From `driftStart` (default: the last 30%) four things change:
/// `amount`'s mean shifts from 100 to 130, `currency` moves from mostly EUR to mostly USD,
/// `quantity` arrives as a string in 15% of records (a type change), and `discount` is null in
/// 40% of records instead of 10%.
public struct DriftDataset: Sendable {
    /// How `ts` is written: epoch milliseconds (a number) or an RFC 3339 string
    /// (`"2025-11-24T16:00:00.010Z"`, the most common form in JSON topics).
    public enum Timestamps: String, Sendable, CaseIterable { case milliseconds, rfc3339 }

    public var records: Int
    public var timestamps: Timestamps
    public var seed: UInt64
    /// Index of the first drifted record.
    public var driftStart: Int
    /// The demo's extra drift: from `driftStart` on, records come twice as often (volume grows)
    /// and most carry a new field, `coupon`. Off by default (the tests' oracles use the plain set).
    public var grows: Bool

    public init(records: Int, seed: UInt64 = 20_261_125, driftFraction: Double = 0.3, timestamps: Timestamps = .milliseconds, grows: Bool = false) {
        self.records = records
        self.timestamps = timestamps
        self.seed = seed
        self.grows = grows
        driftStart = records - Int(Double(records) * driftFraction)
    }

    private static let countries = ["DE", "FR", "US", "GB", "ES", "IT", "NL", "SE", "PL", "BR", "IN", "JP", "CN", "CA", "AU", "MX", "CH", "AT", "BE", "DK"]
    private static let systems = ["ios", "android", "web"]

    /// Calls `body` with each record's bytes (no trailing newline), reusing one buffer.
    public func forEachRecord(_ body: (Int, UnsafeRawBufferPointer) throws -> Void) rethrows {
        var random = SeededRandom(seed: seed)
        var line: [UInt8] = []
        line.reserveCapacity(512)
        let baseTime: Int64 = 1_764_000_000_000
        for index in 0..<records {
            line.removeAll(keepingCapacity: true)
            let drifted = index >= driftStart
            let time = grows && drifted ? baseTime + Int64(driftStart) * 10 + Int64(index - driftStart) * 5 : baseTime + Int64(index) * 10
            line.append(contentsOf: #"{"event_id":"#.utf8)
            append(Int64(index), to: &line)
            line.append(contentsOf: #","ts":"#.utf8)
            switch timestamps {
            case .milliseconds: append(time, to: &line)
            case .rfc3339:
                line.append(UInt8(ascii: "\""))
                RFC3339.append(milliseconds: time, to: &line)
                line.append(UInt8(ascii: "\""))
            }
            line.append(contentsOf: #","user_id":"u"#.utf8)
            append(Int64(random.next() % 50_000), to: &line)
            line.append(contentsOf: #"","amount":"#.utf8)
            append(fixed: (drifted ? 130 : 100) + 15 * random.normal(), decimals: 2, to: &line)
            line.append(contentsOf: #","quantity":"#.utf8)
            let quantity = Int64(1 + random.next() % 10)
            if drifted && random.uniform() < 0.15 {
                line.append(UInt8(ascii: "\""))
                append(quantity, to: &line)
                line.append(UInt8(ascii: "\""))
            } else {
                append(quantity, to: &line)
            }
            line.append(contentsOf: #","currency":""#.utf8)
            let u = random.uniform()
            let currency = drifted ? (u < 0.6 ? "USD" : u < 0.9 ? "EUR" : "GBP") : (u < 0.6 ? "EUR" : u < 0.9 ? "USD" : "GBP")
            line.append(contentsOf: currency.utf8)
            line.append(contentsOf: #"","country":""#.utf8)
            line.append(contentsOf: Self.countries[Int(random.next() % UInt64(Self.countries.count))].utf8)
            line.append(contentsOf: #"","discount":"#.utf8)
            if random.uniform() < (drifted ? 0.4 : 0.1) {
                line.append(contentsOf: "null".utf8)
            } else {
                append(fixed: random.uniform() * 0.3, decimals: 3, to: &line)
            }
            line.append(contentsOf: #","is_member":"#.utf8)
            line.append(contentsOf: (random.next() % 3 == 0 ? "true" : "false").utf8)
            line.append(contentsOf: #","device":{"os":""#.utf8)
            line.append(contentsOf: Self.systems[Int(random.next() % 3)].utf8)
            line.append(contentsOf: #"","version":"1."#.utf8)
            append(Int64(random.next() % 20), to: &line)
            line.append(contentsOf: #"."#.utf8)
            append(Int64(random.next() % 10), to: &line)
            line.append(contentsOf: #""},"score":"#.utf8)
            append(fixed: random.uniform(), decimals: 4, to: &line)
            line.append(contentsOf: #","session":"s-"#.utf8)
            append(Int64(random.next() % 1_000_000), to: &line)
            line.append(contentsOf: #"-web""#.utf8)
            if grows, drifted, random.uniform() < 0.7 {
                line.append(contentsOf: #","coupon":"C"#.utf8)
                append(Int64(random.next() % 100), to: &line)
                line.append(UInt8(ascii: "\""))
            }
            line.append(UInt8(ascii: "}"))
            try line.withUnsafeBytes { try body(index, $0) }
        }
    }

    /// The whole dataset as JSONL.
    public func jsonl() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(records * 230)
        forEachRecord { _, record in
            output.append(contentsOf: record)
            output.append(UInt8(ascii: "\n"))
        }
        return output
    }

    private func append(_ value: Int64, to line: inout [UInt8]) {
        if value < 0 { line.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: [UInt8] = []
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        line.append(contentsOf: digits.reversed())
    }

    private func append(fixed value: Double, decimals: Int, to line: inout [UInt8]) {
        var scale: Int64 = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((value * Double(scale)).rounded())
        if scaled < 0 { line.append(UInt8(ascii: "-")) }
        let magnitude = scaled.magnitude
        append(Int64(magnitude / UInt64(scale)), to: &line)
        line.append(UInt8(ascii: "."))
        let fraction = String(magnitude % UInt64(scale))
        line.append(contentsOf: Array(repeating: UInt8(ascii: "0"), count: decimals - fraction.utf8.count))
        line.append(contentsOf: fraction.utf8)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
