import DriftlineProfiling

/// A value on a column's ordering axis: numbers, and times as seconds since 1970 (dates at
/// midnight UTC), so ranges interpolate the way PostgreSQL's `convert_to_scalar` does; text
/// compares bytewise (the C collation; other collations order differently, see DEVELOPERS.md).
public enum Scalar: Hashable, Sendable, Comparable {
    case number(Double)
    case text(String)

    public static func < (lhs: Scalar, rhs: Scalar) -> Bool {
        switch (lhs, rhs) {
        case let (.number(a), .number(b)): a < b
        case let (.text(a), .text(b)): Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
        case (.number, .text): true
        case (.text, .number): false
        }
    }

    public var number: Double? { if case let .number(value) = self { value } else { nil } }

    /// Reads a literal or a `pg_stats` array element as a value of `type`; nil when it is not one.
    public init?(_ text: String, type: ColumnType) {
        switch type {
        case .integer, .numeric:
            guard let value = Double(text.trimmingSpaces) else { return nil }
            self = .number(value)
        case .timestamp, .date:
            guard let seconds = PostgresTime.seconds(text) else { return nil }
            self = .number(seconds)
        case .text, .boolean, .other:
            self = .text(text)
        }
    }
}

extension Scalar {
    /// How plans and DDL write the value for a column of `type`: times as UTC text, whole numbers
    /// without a fraction, text as is (unquoted).
    public func text(as type: ColumnType) -> String {
        switch self {
        case let .number(number):
            if type == .timestamp || type == .date { return PostgresTime.text(seconds: number, type: type) }
            return number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case let .text(text): return text
        }
    }
}

extension String {
    var trimmingSpaces: Substring {
        var slice = Substring(self)
        while slice.first == " " { slice.removeFirst() }
        while slice.last == " " { slice.removeLast() }
        return slice
    }
}

/// PostgreSQL's text forms of `date`, `timestamp` and `timestamptz` (ISO style): `2026-01-31`,
/// `2026-01-31 12:00:00`, `2026-01-31 12:00:00.25+00`, `2026-01-31T12:00:00Z`, `+05:30` offsets.
/// A value without an offset is read as UTC (the planner compares values with each other, and the
/// statistics PostgreSQL prints are in the session's time zone; sessions are asked for UTC).
public enum PostgresTime {
    public static func seconds(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ digits: Int) -> Int? {
            guard index + digits <= bytes.count else { return nil }
            var value = 0
            for offset in 0..<digits {
                let byte = bytes[index + offset]
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            index += digits
            return value
        }
        func expect(_ character: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == character else { return false }
            index += 1
            return true
        }
        while index < bytes.count, bytes[index] == 32 { index += 1 }
        guard let year = number(4), expect(45), let month = number(2), expect(45), let day = number(2),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        var seconds = Double(daysFromCivil(year: year, month: month, day: day)) * 86_400
        guard index < bytes.count else { return seconds }
        guard bytes[index] == 32 || bytes[index] == 84 || bytes[index] == 116 else { return nil }
        index += 1
        guard let hour = number(2), expect(58), let minute = number(2), hour < 25, minute < 60 else { return nil }
        seconds += Double(hour * 3600 + minute * 60)
        if expect(58) {
            guard let second = number(2), second <= 60 else { return nil }
            seconds += Double(second)
            if expect(46) {
                var scale = 0.1
                while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                    seconds += Double(bytes[index] - 48) * scale
                    scale /= 10
                    index += 1
                }
            }
        }
        guard index < bytes.count else { return seconds }
        let sign = bytes[index]
        if sign == 90 || sign == 122 { return index + 1 == bytes.count ? seconds : nil }
        guard sign == 43 || sign == 45 else { return nil }
        index += 1
        guard let offsetHours = number(2) else { return nil }
        var offset = offsetHours * 3600
        if expect(58) { guard let minutes = number(2) else { return nil }; offset += minutes * 60 }
        else if let minutes = number(2) { offset += minutes * 60 }
        guard index == bytes.count else { return nil }
        return seconds - Double(sign == 43 ? offset : -offset)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (the RFC 3339 scanner's calendar).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        RFC3339.daysSinceEpoch(year: year, month: month, day: day)
    }

    static func civil(days: Int) -> (year: Int, month: Int, day: Int) {
        RFC3339.civil(daysSinceEpoch: Int64(days))
    }

    /// `2026-01-31 00:00:00+00`: how plans write time bounds (UTC, whole seconds).
    public static func text(seconds: Double, type: ColumnType) -> String {
        let whole = Int(seconds.rounded(.down))
        let days = Int((Double(whole) / 86_400).rounded(.down))
        let (year, month, day) = civil(days: days)
        let date = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
        if type == .date { return date }
        let rest = whole - days * 86_400
        return "\(date) \(pad(rest / 3600, 2)):\(pad(rest / 60 % 60, 2)):\(pad(rest % 60, 2))+00"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
