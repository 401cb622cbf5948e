@testable import DriftlineProfiling
import DriftlineSampleData
import Foundation
import Testing

/// The byte-level RFC 3339 reader against Foundation's `ISO8601DateFormatter` (what the detector
/// used before), on generated valid timestamps and on invalid ones.
@Suite struct RFC3339Tests {
    private static func foundation(_ text: String) -> Double? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = text.contains(".") ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
        return formatter.date(from: text).map { $0.timeIntervalSince1970 * 1000 }
    }

    @Test func agreesWithFoundationOnGeneratedTimestamps() throws {
        var random = SeededRandom(seed: 3339)
        var compared = 0
        for _ in 0..<4000 {
            let year = 1900 + Int(random.next() % 250)
            let month = 1 + Int(random.next() % 12)
            let day = 1 + Int(random.next() % UInt64(RFC3339.daysIn(month: month, year: year)))
            var text = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", year, month, day,
                              Int(random.next() % 24), Int(random.next() % 60), Int(random.next() % 60))
            // Foundation reads at most 3 fractional digits reliably; 0-3 here, more below.
            let fractionDigits = Int(random.next() % 4)
            if fractionDigits > 0 {
                text += "." + (0..<fractionDigits).map { _ in String(random.next() % 10) }.joined()
            }
            switch random.next() % 3 {
            case 0: text += "Z"
            default:
                let sign = random.next() % 2 == 0 ? "+" : "-"
                text += sign + String(format: "%02d:%02d", Int(random.next() % 15), [0, 30, 45][Int(random.next() % 3)])
            }
            let expected = try #require(Self.foundation(text), "Foundation rejects \(text)")
            let ours = try #require(RFC3339.epochMilliseconds(text), "rejected \(text)")
            // At most 3 digits, so the instant is a whole millisecond: rounding Foundation's double
            // (e.g. 407284996299.99994) recovers it.
            #expect(Double(ours) == expected.rounded(), "\(text): \(ours) vs Foundation \(expected)")
            compared += 1
        }
        #expect(compared == 4000)
    }

    @Test func fractionsBeyondMillisecondsTruncateTowardsThePast() throws {
        #expect(RFC3339.epochMilliseconds("1970-01-01T00:00:00.123456789Z") == 123)
        #expect(RFC3339.epochMilliseconds("1970-01-01T00:00:00.9999Z") == 999)
        #expect(RFC3339.epochMilliseconds("1969-12-31T23:59:59.9999Z") == -1)
        #expect(RFC3339.epochMilliseconds("1970-01-01T00:00:00.1Z") == 100)
        let nine = try #require(Self.foundation("2026-01-01T00:05:00.100Z"))
        #expect(RFC3339.epochMilliseconds("2026-01-01T00:05:00.100000000Z").map(Double.init) == nine)
    }

    @Test func acceptsWhatRFC3339AllowsBeyondFoundation() {
        let reference = RFC3339.epochMilliseconds("2026-01-01T00:05:00.100Z")
        #expect(reference == 1_767_225_900_100)
        #expect(RFC3339.epochMilliseconds("2026-01-01 00:05:00.100Z") == reference)
        #expect(RFC3339.epochMilliseconds("2026-01-01t00:05:00.100z") == reference)
        #expect(RFC3339.epochMilliseconds("2026-01-01T01:05:00.100+01:00") == reference)
        #expect(RFC3339.epochMilliseconds("2025-12-31T23:05:00.100-01:00") == reference)
        #expect(RFC3339.epochMilliseconds("2026-01-01T00:05:00.100-00:00") == reference)
        // A leap second reads as the next minute's first second.
        #expect(RFC3339.epochMilliseconds("2016-12-31T23:59:60Z") == RFC3339.epochMilliseconds("2017-01-01T00:00:00Z"))
        #expect(RFC3339.epochMilliseconds("2024-02-29T00:00:00Z") != nil)
        #expect(RFC3339.epochMilliseconds("2000-02-29T00:00:00Z") != nil)
    }

    /// Not timestamps, and Foundation agrees.
    @Test(arguments: [
        "", "2026-01-01", "2026-01-01T00:05:00", "2026-01-01T00:05:00.Z", "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:61Z",
        "2026-01-01X00:00:00Z", "20260101T000000Z", "2026-01-01T00:00:00.12a Z",
    ])
    func rejectsWhatIsNotATimestamp(_ text: String) {
        #expect(RFC3339.epochMilliseconds(text) == nil, "accepted \(text)")
        #expect(Self.foundation(text) == nil, "Foundation accepts \(text)")
    }

    /// Not timestamps either, but Linux Foundation reads them: it rolls impossible dates and
    /// offsets over (February 29 of 2026 becomes March 1) and ignores trailing text. A record
    /// whose time is one of these has no event time of its own, rather than a made-up one.
    @Test(arguments: [
        "2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-01-01T24:00:00Z",
        "2026-01-01T00:00:00+2:00", "2026-01-01T00:00:00+02:60", "2026-01-01T00:00:00+0200",
        "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00Zjunk", "2026/01/01T00:00:00Z", "2026-1-01T00:00:00Z",
        "  2026-01-01T00:00:00Z", "2026-01-01T00:00:00 Z", "-026-01-01T00:00:00Z",
    ])
    func rejectsWhatFoundationRollsOver(_ text: String) {
        #expect(RFC3339.epochMilliseconds(text) == nil, "accepted \(text)")
        #expect(Self.foundation(text) != nil, "Foundation now rejects \(text): move it to the list above")
    }

    @Test func writesWhatItReads() {
        var random = SeededRandom(seed: 11)
        for _ in 0..<2000 {
            let milliseconds = Int64(random.next() % 8_000_000_000_000) - 2_000_000_000_000
            let text = RFC3339.string(milliseconds: milliseconds)
            #expect(RFC3339.epochMilliseconds(text) == milliseconds, "\(milliseconds) → \(text)")
        }
        #expect(RFC3339.string(milliseconds: 1_767_225_900_100) == "2026-01-01T00:05:00.100Z")
        #expect(RFC3339.string(milliseconds: -1) == "1969-12-31T23:59:59.999Z")
    }
}
