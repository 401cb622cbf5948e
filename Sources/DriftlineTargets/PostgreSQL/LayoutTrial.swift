import DriftlinePlanning
import Foundation
import PostgresNIO

/// Trying a layout for real: copy a table into a schema of its own with the layout, then run
/// statements under `EXPLAIN (ANALYZE, BUFFERS)` there. The planner's validation (tests) and
/// `driftline bench plan` measure predictions this way.
extension PostgresCatalog {
    /// Creates `into.table` in `into.schema` (dropped first) with `layout`, fills it from
    /// `source` and analyzes it.
    public func materialise(_ layout: PartitionLayout, source: (schema: String, table: String), into: (schema: String, table: String)) async throws(TargetError) {
        let schema = PartitionDDL.identifier(into.schema)
        try await execute("DROP SCHEMA IF EXISTS \(schema) CASCADE")
        try await execute("CREATE SCHEMA \(schema)")
        let target = "\(schema).\(PartitionDDL.identifier(into.table))"
        if layout.levels.isEmpty {
            try await execute("CREATE TABLE \(target) (LIKE \(PartitionDDL.identifier(source.schema)).\(PartitionDDL.identifier(source.table)) INCLUDING ALL)")
        }
        for statement in PartitionDDL.statements(for: layout, schema: source.schema, table: source.table, into: into) {
            try await execute(statement)
        }
        try await execute("INSERT INTO \(target) SELECT * FROM \(PartitionDDL.identifier(source.schema)).\(PartitionDDL.identifier(source.table))")
        try await execute("ANALYZE \(target)")
    }

    public struct Measurement: Equatable, Sendable {
        /// Shared buffers hit + read by the whole statement.
        public var buffers: Double
        /// Relations scanned at least once (pruned partitions are absent; never-executed ones have no loops).
        public var relationsScanned: Int
        /// The planner's row estimate of the first scan node.
        public var planRows: Double?
    }

    /// Runs `sql` under EXPLAIN (ANALYZE, BUFFERS) with `schema` first on the search path.
    public func measure(_ sql: String, schema: String) async throws(TargetError) -> Measurement {
        try await execute("SET search_path = \(PartitionDDL.identifier(schema))")
        let found = try await rows(PostgresQuery(unsafeSQL: "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql))
        let text: String
        do { text = try found[0].decode(String.self) } catch { throw .query("EXPLAIN gave no JSON: \(error)") }
        guard let root = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]],  // PostgreSQL's own JSON
              let plan = root.first?["Plan"] as? [String: Any] else { throw .query("EXPLAIN's JSON has no plan") }
        var scanned = Set<String>()
        var planRows: Double?
        func number(_ value: Any?) -> Double? { (value as? Double) ?? (value as? Int).map(Double.init) }
        func walk(_ node: [String: Any]) {
            if let relation = node["Relation Name"] as? String, (number(node["Actual Loops"]) ?? 0) > 0 {
                scanned.insert(relation)
                if planRows == nil { planRows = number(node["Plan Rows"]) }
            }
            for child in node["Plans"] as? [[String: Any]] ?? [] { walk(child) }
        }
        walk(plan)
        let buffers = (number(plan["Shared Hit Blocks"]) ?? 0) + (number(plan["Shared Read Blocks"]) ?? 0)
        return Measurement(buffers: buffers, relationsScanned: scanned.count, planRows: planRows)
    }
}
