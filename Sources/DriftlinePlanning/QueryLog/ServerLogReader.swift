import DriftlineSQL
import Foundation

/// Reads PostgreSQL server logs (`log_min_duration_statement` / `log_statement` output in the
/// stderr format, any `log_line_prefix`): `duration: … ms  statement: …`, `execute <name>: …`
/// with the `DETAIL:  parameters: $1 = '…'` line that follows, statements continued on lines that
/// start with a tab. Lines of other kinds are counted, never fatal.
public struct ServerLogReader {
    public private(set) var ignoredLines = 0
    public private(set) var logLines = 0
    private var pending: Pending?

    private struct Pending {
        var sql: String
        var milliseconds: Double?
        var time: Double?
        var prepared: Bool
    }

    public init() {}

    /// Feeds one line; returns a statement when the line completes the previous one.
    public mutating func feed(_ line: Substring) -> LoggedStatement? {
        if line.first == "\t", pending != nil {
            pending!.sql += "\n" + line.dropFirst()
            return nil
        }
        if let range = line.range(of: "DETAIL:  parameters: "), var statement = pending, statement.prepared {
            statement.sql = Self.substitute(parameters: line[range.upperBound...], into: statement.sql)
            pending = nil
            return LoggedStatement(sql: statement.sql, totalMilliseconds: statement.milliseconds, time: statement.time)
        }
        let finished = flush()
        guard let marker = line.range(of: "LOG:  ") else {
            if !line.allSatisfy(\.isWhitespace), !line.contains("DETAIL:"), !line.contains("STATEMENT:"), !line.contains("ERROR:"), !line.contains("HINT:") {
                ignoredLines += 1
            }
            return finished
        }
        logLines += 1
        var rest = line[marker.upperBound...]
        var milliseconds: Double?
        if rest.hasPrefix("duration: "), let unit = rest.range(of: " ms") {
            milliseconds = Double(rest[rest.index(rest.startIndex, offsetBy: 10)..<unit.lowerBound])
            rest = rest[unit.upperBound...].drop { $0 == " " }
        }
        let time = Self.time(prefix: line[..<marker.lowerBound])
        if rest.hasPrefix("statement: ") {
            pending = Pending(sql: String(rest.dropFirst(11)), milliseconds: milliseconds, time: time, prepared: false)
        } else if rest.hasPrefix("execute "), let colon = rest.range(of: ": ") {
            pending = Pending(sql: String(rest[colon.upperBound...]), milliseconds: milliseconds, time: time, prepared: true)
        }
        // `parse <name>:` and `bind <name>:` lines repeat the statement `execute` logs; other LOG lines are not statements.
        return finished
    }

    /// The statement still open at the end of the input.
    public mutating func flush() -> LoggedStatement? {
        guard let statement = pending else { return nil }
        pending = nil
        return LoggedStatement(sql: statement.sql, totalMilliseconds: statement.milliseconds, time: statement.time)
    }

    /// Replaces `$n` outside quotes with the logged values (`$1 = '42', $2 = NULL`).
    static func substitute(parameters: Substring, into sql: String) -> String {
        var values: [Int: String] = [:]
        var rest = parameters[...]
        while let dollar = rest.firstIndex(of: "$") {
            rest = rest[rest.index(after: dollar)...]
            let digits = rest.prefix { $0.isNumber }
            guard let number = Int(digits) else { break }
            rest = rest.dropFirst(digits.count)
            guard let equals = rest.range(of: " = ") else { break }
            rest = rest[equals.upperBound...]
            if rest.hasPrefix("'") {
                var value = "'"
                var index = rest.index(after: rest.startIndex)
                while index < rest.endIndex {
                    let character = rest[index]
                    value.append(character)
                    index = rest.index(after: index)
                    if character == "'" {
                        if index < rest.endIndex, rest[index] == "'" { value.append("'"); index = rest.index(after: index); continue }
                        break
                    }
                }
                values[number] = value
                rest = rest[index...]
            } else {
                let token = rest.prefix { $0 != "," }
                values[number] = String(token)
                rest = rest.dropFirst(token.count)
            }
        }
        var output = ""
        var inQuote = false
        var index = sql.startIndex
        while index < sql.endIndex {
            let character = sql[index]
            if character == "'" { inQuote.toggle() }
            if character == "$", !inQuote {
                let after = sql.index(after: index)
                let digits = sql[after...].prefix { $0.isNumber }
                if let number = Int(digits), let value = values[number] {
                    output += value
                    index = sql.index(after, offsetBy: digits.count)
                    continue
                }
            }
            output.append(character)
            index = sql.index(after: index)
        }
        return output
    }

    /// The timestamp a `log_line_prefix` starts with (`%m` / `%t`: `2026-12-01 10:00:00.123 UTC`).
    static func time(prefix: Substring) -> Double? {
        let parts = prefix.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2 else { return nil }
        return PostgresTime.seconds("\(parts[0]) \(parts[1])")
    }
}

/// Statements from a file: a server log when it has log lines, else plain SQL separated by `;`.
public enum StatementFile {
    public struct Summary: Sendable {
        public var format: String
        public var ignoredLines: Int
    }

    public enum ReadError: Error, CustomStringConvertible {
        case unreadable(String, String)
        public var description: String {
            switch self { case let .unreadable(path, reason): "cannot read \(path): \(reason)" }
        }
    }

    /// Streams the file (1 MiB at a time) into `workload`; `progress` gets the bytes read so far
    /// and the file's size after each chunk.
    public static func read(_ path: String, into workload: inout Workload, progress: (Int, Int) -> Void = { _, _ in }) throws(ReadError) -> Summary {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .unreadable(path, "no such file or not readable") }
        let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0  // unknown size: progress without a total
        var bytesRead = 0
        defer { try? handle.close() }  // closing a file opened for reading cannot lose data
        var reader = ServerLogReader()
        var carry = Data()
        var plain = Data()
        var decided: Bool?
        var lines = 0
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 20) ?? Data() } catch { throw .unreadable(path, "\(error)") }
            if chunk.isEmpty { break }
            bytesRead += chunk.count
            carry.append(chunk)
            var start = carry.startIndex
            while let newline = carry[start...].firstIndex(of: 10) {
                let line = String(decoding: carry[start..<newline], as: UTF8.self)
                start = carry.index(after: newline)
                lines += 1
                if decided == nil, line.contains("LOG:  ") { decided = true }
                if decided == nil, lines > 1000 { decided = false }
                if decided != false, let statement = reader.feed(line[...]) { workload.add(statement) }
                if decided != true { plain.append(contentsOf: Array(line.utf8)); plain.append(10) }
            }
            carry = Data(carry[start...])
            progress(bytesRead, size)
        }
        if !carry.isEmpty {
            let line = String(decoding: carry, as: UTF8.self)
            if decided == nil, line.contains("LOG:  ") { decided = true }
            if decided != false, let statement = reader.feed(line[...]) { workload.add(statement) }
            if decided != true { plain.append(carry) }
        }
        if decided == true || reader.logLines > 0 {
            if let statement = reader.flush() { workload.add(statement) }
            return Summary(format: "postgresql-log", ignoredLines: reader.ignoredLines)
        }
        let script = String(decoding: plain, as: UTF8.self)
        do {
            for statement in try PostgresParser.split(script) { workload.add(LoggedStatement(sql: statement)) }
        } catch {
            throw .unreadable(path, "not a PostgreSQL log and not SQL the scanner can split: \(error)")
        }
        return Summary(format: "sql", ignoredLines: 0)
    }
}
