import CPgQuery
import Foundation

/// PostgreSQL 15's own grammar (libpg_query): every call here is the only place Driftline touches
/// libpg_query's C structures. Results are copied into Swift values before the C memory is freed.
public enum PostgresParser {
    /// Parses one or more statements into their raw parse trees (one per statement).
    public static func parse(_ sql: String) throws(SQLParseError) -> [SQLNode] {
        let result = pg_query_parse(sql)
        defer { pg_query_free_parse_result(result) }
        if let error = result.error { throw SQLParseError(error.pointee, sql: sql) }
        guard let tree = result.parse_tree else { return [] }
        let json = Data(bytes: tree, count: strlen(tree))
        // libpg_query wrote this JSON itself; failing to read it would be a bug in the library.
        guard let root = try? JSONDecoder().decode(SQLNode.self, from: json), case .object = root else {
            throw SQLParseError(message: "libpg_query returned an unreadable parse tree", position: nil)
        }
        return root["stmts"]?.array.compactMap { $0["stmt"] } ?? []
    }

    /// The statement's fingerprint: equal for statements that differ only in literal values,
    /// parameter numbers or whitespace (what pg_stat_statements' queryid groups by, computed the
    /// same way on every machine).
    public static func fingerprint(_ sql: String) throws(SQLParseError) -> String {
        let result = pg_query_fingerprint(sql)
        defer { pg_query_free_fingerprint_result(result) }
        if let error = result.error { throw SQLParseError(error.pointee, sql: sql) }
        return result.fingerprint_str.map { String(cString: $0) } ?? String(result.fingerprint, radix: 16)
    }

    /// The statement with every literal replaced by `$n` (how a class is shown to people).
    public static func normalize(_ sql: String) throws(SQLParseError) -> String {
        let result = pg_query_normalize(sql)
        defer { pg_query_free_normalize_result(result) }
        if let error = result.error { throw SQLParseError(error.pointee, sql: sql) }
        return result.normalized_query.map { String(cString: $0) } ?? sql
    }

    /// Splits a script into statements with PostgreSQL's scanner, so `;` inside strings, comments
    /// and dollar quotes does not split, and a statement that does not parse still comes out whole.
    public static func split(_ script: String) throws(SQLParseError) -> [String] {
        let result = pg_query_split_with_scanner(script)
        defer { pg_query_free_split_result(result) }
        if let error = result.error { throw SQLParseError(error.pointee, sql: script) }
        let bytes = Array(script.utf8)
        var statements: [String] = []
        var covered = 0
        func add(_ start: Int, _ end: Int) {
            let text = String(decoding: bytes[start..<end], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty, text != ";" { statements.append(text) }
        }
        for index in 0..<Int(result.n_stmts) {
            guard let entry = result.stmts[index]?.pointee else { continue }
            let start = Int(entry.stmt_location), end = min(bytes.count, start + Int(entry.stmt_len))
            guard start < end else { continue }
            add(start, end)
            covered = max(covered, end)
        }
        // The scanner drops text after an unclosed parenthesis; keep it, so it is counted as a
        // statement that does not parse instead of vanishing.
        if covered < bytes.count { add(covered, bytes.count) }
        return statements
    }
}

/// A statement PostgreSQL's grammar rejects, with the position (1-based, in characters) it
/// reports, as psql shows it.
public struct SQLParseError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var position: Int?

    public init(message: String, position: Int?) { self.message = message; self.position = position }

    init(_ error: PgQueryError, sql: String) {
        message = error.message.map { String(cString: $0) } ?? "syntax error"
        position = error.cursorpos > 0 ? Int(error.cursorpos) : nil
    }

    public var description: String { position.map { "\(message) at character \($0)" } ?? message }
}
