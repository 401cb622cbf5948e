import Foundation

/// A numeric series read from a file: a JSON array of numbers (null = missing) or CSV, with a header
/// (the column named `value`, else the last column with any number) or without one (the first line
/// is all numbers: the last column); empty or `NaN` = missing.
public struct SeriesFile: Equatable, Sendable {
    public var values: [Double?]
    /// Which column a CSV series came from.
    public var column: String?

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
        } else {
            (values, column) = try Self.parseCSV(trimmed)
        }
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

    private static func parseCSV(_ text: String) throws(ReadError) -> ([Double?], String) {
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
        return (values, header[chosen])
    }
}
