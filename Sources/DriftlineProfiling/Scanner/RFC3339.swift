/// RFC 3339 timestamps read from and written to bytes, without Foundation: the detector reads one
/// per record when a source's event time is an RFC 3339 string, so this must cost about what
/// scanning the field costs (Foundation's `ISO8601DateFormatter` cost ~250 µs a record).
public enum RFC3339 {
    /// Epoch milliseconds of `text` (`2026-01-01T00:05:00.100Z`, `…+02:00`, `…-00:00`), or nil
    /// when it is not an RFC 3339 date-time.
    ///
    /// Accepted as RFC 3339 allows: `T`, `t` or a space between date and time; `Z` or `z`; any
    /// number of fractional digits (the instant is truncated to the millisecond, towards the past,
    /// so a record never lands in a window that starts after it); second 60 (a leap second counts
    /// as the next minute's first second). Day-of-month is checked against the month and leap
    /// years; offsets go up to ±23:59.
    public static func epochMilliseconds(_ text: UnsafeRawBufferPointer) -> Int64? {
        let count = text.count
        // Shortest form: "2026-01-01T00:00:00Z".
        guard count >= 20 else { return nil }
        @inline(__always) func digits(_ at: Int, _ length: Int) -> Int? {
            var value = 0
            for index in at..<(at + length) {
                let digit = Int(text[index]) &- 48
                guard digit >= 0, digit <= 9 else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard let year = digits(0, 4), text[4] == UInt8(ascii: "-"),
              let month = digits(5, 2), text[7] == UInt8(ascii: "-"),
              let day = digits(8, 2),
              text[10] == UInt8(ascii: "T") || text[10] == UInt8(ascii: "t") || text[10] == UInt8(ascii: " "),
              let hour = digits(11, 2), text[13] == UInt8(ascii: ":"),
              let minute = digits(14, 2), text[16] == UInt8(ascii: ":"),
              let second = digits(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour <= 23, minute <= 59, second <= 60
        else { return nil }

        var index = 19
        var millisecond = 0
        if text[index] == UInt8(ascii: ".") {
            index += 1
            let first = index
            var scale = 100
            while index < count, text[index] >= 48, text[index] <= 57 {
                millisecond += Int(text[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > first else { return nil }
        }
        guard index < count else { return nil }
        var offsetMinutes = 0
        switch text[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 == count, let offsetHour = digits(index + 1, 2), text[index + 3] == UInt8(ascii: ":"),
                  let offsetMinute = digits(index + 4, 2), offsetHour <= 23, offsetMinute <= 59
            else { return nil }
            offsetMinutes = offsetHour * 60 + offsetMinute
            if text[index] == UInt8(ascii: "-") { offsetMinutes = -offsetMinutes }
            index += 6
        default:
            return nil
        }
        guard index == count else { return nil }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second - offsetMinutes * 60)
        return seconds * 1000 + Int64(millisecond)
    }

    public static func epochMilliseconds(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { epochMilliseconds(UnsafeRawBufferPointer($0)) }
    }

    /// Appends `milliseconds` as `YYYY-MM-DDThh:mm:ss.sssZ` (UTC, the wire format of Driftline's messages).
    public static func append(milliseconds: Int64, to output: inout [UInt8]) {
        let (days, remainder) = milliseconds.quotientAndRemainderFlooring(dividingBy: 86_400_000)
        let (year, month, day) = civil(daysSinceEpoch: days)
        let millisecondOfDay = Int(remainder)
        func put(_ value: Int, width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                output.append(UInt8(48 + rest / divisor))
                rest %= divisor
                divisor /= 10
            }
        }
        put(year, width: 4); output.append(UInt8(ascii: "-"))
        put(month, width: 2); output.append(UInt8(ascii: "-"))
        put(day, width: 2); output.append(UInt8(ascii: "T"))
        put(millisecondOfDay / 3_600_000, width: 2); output.append(UInt8(ascii: ":"))
        put(millisecondOfDay / 60_000 % 60, width: 2); output.append(UInt8(ascii: ":"))
        put(millisecondOfDay / 1000 % 60, width: 2); output.append(UInt8(ascii: "."))
        put(millisecondOfDay % 1000, width: 3); output.append(UInt8(ascii: "Z"))
    }

    public static func string(milliseconds: Int64) -> String {
        var bytes: [UInt8] = []
        append(milliseconds: milliseconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's days_from_civil).
    public static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The inverse of `daysSinceEpoch` (H. Hinnant's civil_from_days).
    public static func civil(daysSinceEpoch days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = Int(days) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int64 {
    /// Quotient rounded towards negative infinity and a remainder in `0..<divisor` (divisor > 0).
    func quotientAndRemainderFlooring(dividingBy divisor: Int64) -> (Int64, Int64) {
        let (quotient, remainder) = quotientAndRemainder(dividingBy: divisor)
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }
}
