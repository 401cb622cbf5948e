import Foundation
import DriftlineProfiling

/// A numeric series read from a file: a JSON array of numbers (null = missing) or CSV, with a header
/// (the column named `value`, else the last column with any number) or without one (the first line
/// is all numbers: the last column); empty or `NaN` = missing. A CSV column named `ds`, `date`,
/// `time` or `timestamp` gives each value its time (`2026-01-31`, `2026-01-31 12:00[:00]` in UTC, or
/// RFC 3339), which Prophet reads.
public struct SeriesFile: Equatable, Sendable {
    public var values: [Double?]
    /// Which column a CSV series came from.
    public var column: String?
    /// Days since 1970-01-01 (UTC) of each value, from a time column.
    public var times: [Double]?

    public enum ReadError: Error, Equatable, CustomStringConvertible {
        case unreadable(String)
        case empty
        case invalid(String)

        public var description: String {
            switch self {
            case let .unreadable(reason): "cannot read the series: \(reason)"
            case .empty: "the series file is empty"
            case let .invalid(reason): "invalid series: \(reason)"
            }
        }
    }

    public init(contentsOf path: String) throws(ReadError) {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard FileManager.default.fileExists(atPath: path) else { throw .unreadable("no such file: \(path)") }
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw .unreadable("\(path): \(error.localizedDescription)") }
        }
        try self.init(data: data)
    }

    public init(data: Data) throws(ReadError) {
        guard let text = String(data: data, encoding: .utf8) else { throw .invalid("not UTF-8 text") }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .empty }
        if trimmed.hasPrefix("[") {
            values = try Self.parseJSON(Data(trimmed.utf8))
            column = nil
            times = nil
        } else {
            (values, column, times) = try Self.parseCSV(trimmed)
        }
    }

    static let timeColumns: Set<String> = ["ds", "date", "time", "timestamp"]

    /// Days since the epoch of a date, a UTC date and time, or an RFC 3339 timestamp.
    static func days(_ cell: String) -> Double? {
        let text = cell.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        if text.count == 10, parts.count == 3, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
           parts[0].count == 4, (1...12).contains(month), (1...RFC3339.daysIn(month: month, year: year)).contains(day) {
            return Double(RFC3339.daysSinceEpoch(year: year, month: month, day: day))
        }
        var candidates = [text]
        if text.count == 16 { candidates.append(text + ":00Z") }  // 2026-01-31 12:00
        if text.count == 19 { candidates.append(text + "Z") }     // 2026-01-31 12:00:00
        for candidate in candidates {
            if let milliseconds = RFC3339.epochMilliseconds(candidate) { return Double(milliseconds) / 86_400_000 }
        }
        return nil
    }

    /// Times for `count` steps after the last one: whole months when the times fall on the same day of
    /// successive months (or quarters, or years) at the same hour, else the median spacing.
    public func futureTimes(_ count: Int) -> [Double]? {
        guard let times, times.count >= 2, count >= 1 else { return nil }
        let civil = times.map { time -> (months: Int, day: Int, fraction: Double) in
            let whole = time.rounded(.down)
            let date = RFC3339.civil(daysSinceEpoch: Int64(whole))
            return (date.year * 12 + date.month - 1, date.day, time - whole)
        }
        let step = civil[1].months - civil[0].months
        if step > 0, civil.allSatisfy({ $0.day == civil[0].day && $0.fraction == civil[0].fraction && $0.day <= 28 }),
           zip(civil.dropFirst(), civil).allSatisfy({ $0.months - $1.months == step }) {
            let last = civil[civil.count - 1]
            return (1...count).map { offset in
                let months = last.months + offset * step
                return Double(RFC3339.daysSinceEpoch(year: months / 12, month: months % 12 + 1, day: last.day)) + last.fraction
            }
        }
        let spacings = zip(times.dropFirst(), times).map { $0 - $1 }.sorted()
        let spacing = spacings[spacings.count / 2]
        return (0..<count).map { times[times.count - 1] + spacing * Double($0 + 1) }
    }

    private static func parseJSON(_ data: Data) throws(ReadError) -> [Double?] {
        let array: [SchemaJSON]
        do { array = try JSONDecoder().decode([SchemaJSON].self, from: data) } catch { throw .invalid("not a JSON array of numbers: \(error)") }
        var values: [Double?] = []
        values.reserveCapacity(array.count)
        for (index, element) in array.enumerated() {
            switch element {
            case let .number(value): values.append(value)
            case .null: values.append(nil)
            default: throw .invalid("element \(index) is not a number or null")
            }
        }
        return values
    }

    private static func parseCSV(_ text: String) throws(ReadError) -> ([Double?], String, [Double]?) {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        let first = lines[0].split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        // A first line of numbers only is data, not a header (a plain list of values): its columns
        // are named by position, and no value is lost.
        let headerless = first.allSatisfy { Double($0) != nil }
        let header = headerless ? first.indices.map { "column \($0 + 1)" } : first
        let dataLines = headerless ? lines[...] : lines.dropFirst()
        let firstDataLine = headerless ? 1 : 2
        let rows = dataLines.filter { !$0.isEmpty }.map { $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } }
        for (offset, row) in rows.enumerated() where row.count != header.count {
            throw .invalid("line \(offset + firstDataLine) has \(row.count) fields, \(headerless ? "the first line" : "the header") has \(header.count)")
        }
        func parse(_ cell: String) -> Double?? {
            if cell.isEmpty || cell.lowercased() == "nan" || cell.lowercased() == "null" { return .some(nil) }
            return Double(cell).map { .some($0) }
        }
        let chosen: Int
        if let named = header.firstIndex(where: { $0.lowercased() == "value" }) {
            chosen = named
        } else if let numeric = header.indices.last(where: { column in rows.contains { row in (parse(row[column]) ?? nil) != nil } }) {
            chosen = numeric
        } else {
            throw .invalid("no column named 'value' and no numeric column (header: \(header.joined(separator: ", ")))")
        }
        var values: [Double?] = []
        values.reserveCapacity(rows.count)
        for (offset, row) in rows.enumerated() {
            guard let value = parse(row[chosen]) else { throw .invalid("line \(offset + firstDataLine), column '\(header[chosen])': '\(row[chosen])' is not a number") }
            if let value, !value.isFinite { values.append(nil) } else { values.append(value) }
        }
        var times: [Double]?
        // A time column of plain numbers is an index, not times: left to the values' order.
        if !headerless, let timeColumn = header.firstIndex(where: { timeColumns.contains($0.lowercased()) }),
           !rows.allSatisfy({ Double($0[timeColumn]) != nil }) {
            var parsed: [Double] = []
            for (offset, row) in rows.enumerated() {
                guard let day = days(row[timeColumn]) else {
                    throw .invalid("line \(offset + firstDataLine), column '\(header[timeColumn])': '\(row[timeColumn])' is not a date (2026-01-31), a UTC date and time (2026-01-31 12:00:00) or an RFC 3339 timestamp")
                }
                if let previous = parsed.last, !(day > previous) {
                    throw .invalid("line \(offset + firstDataLine), column '\(header[timeColumn])': '\(row[timeColumn])' is not after the time before it (times must increase)")
                }
                parsed.append(day)
            }
            times = parsed
        }
        return (values, header[chosen], times)
    }
}
