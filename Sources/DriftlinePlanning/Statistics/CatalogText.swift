import DriftlineSQL

/// Reads what PostgreSQL's catalog prints: array literals (`pg_stats` columns cast to text) and
/// partition bounds (`pg_get_expr(relpartbound, oid)`), the latter through PostgreSQL's own parser.
public enum CatalogText {
    /// `{a,"b c",NULL}` → ["a", "b c", nil]; nil for text that is not an array literal.
    public static func array(_ text: String) -> [String?]? {
        let characters = Array(text)
        guard characters.first == "{", characters.last == "}" else { return nil }
        var items: [String?] = []
        var index = 1
        let end = characters.count - 1
        if index == end { return [] }
        while index <= end {
            var item = ""
            var quoted = false
            if characters[index] == "\"" {
                quoted = true
                index += 1
                while index < end, characters[index] != "\"" {
                    if characters[index] == "\\", index + 1 < end { index += 1 }
                    item.append(characters[index])
                    index += 1
                }
                index += 1
            } else {
                while index < end, characters[index] != "," {
                    item.append(characters[index])
                    index += 1
                }
            }
            items.append(!quoted && item == "NULL" ? nil : item)
            guard index < end else { break }
            guard characters[index] == "," else { return nil }
            index += 1
        }
        return items
    }

    /// One partition's bound as `pg_get_expr` prints it.
    public enum Bound: Equatable, Sendable {
        case range(lower: String?, upper: String?)
        case list([String?])
        case hash(modulus: Int, remainder: Int)
        case `default`
    }

    public struct BoundError: Error, CustomStringConvertible {
        public var text: String
        public var reason: String
        public var description: String { "cannot read partition bound '\(text)': \(reason)" }
    }

    /// `FOR VALUES FROM ('2026-01-01') TO (MAXVALUE)`, `FOR VALUES IN ('a', NULL)`,
    /// `FOR VALUES WITH (modulus 4, remainder 1)`, `DEFAULT`. Multi-column bounds keep the first column.
    public static func bound(_ text: String) throws(BoundError) -> Bound {
        let statement = "CREATE TABLE driftline_bound PARTITION OF driftline_parent " + text
        let trees: [SQLNode]
        do { trees = try PostgresParser.parse(statement) } catch { throw BoundError(text: text, reason: "\(error)") }
        guard let spec = trees.first?["CreateStmt"]?["partbound"] else { throw BoundError(text: text, reason: "not a partition bound") }
        return try bound(spec, in: statement, text: text)
    }

    /// The bound of a parsed `CREATE TABLE … PARTITION OF …` (`spec`: its `partbound`; `statement`: its text).
    public static func bound(_ spec: SQLNode, in statement: String, text: String) throws(BoundError) -> Bound {
        if spec["is_default"]?.bool == true { return .default }
        let extractor = PredicateExtractor(source: statement)
        func value(_ node: SQLNode?) -> String? {
            guard let node else { return nil }
            if node["ColumnRef"] != nil { return nil }  // MINVALUE / MAXVALUE
            return extractor.operand(node)?.literal.flatMap { $0.kind == .null ? nil : $0.text }
        }
        switch spec["strategy"]?.string {
        case "r":
            return .range(lower: value(spec["lowerdatums"]?.array.first), upper: value(spec["upperdatums"]?.array.first))
        case "l":
            return .list(spec["listdatums"]?.array.map(value) ?? [])
        case "h":
            return .hash(modulus: Int(spec["modulus"]?.number ?? 0), remainder: Int(spec["remainder"]?.number ?? 0))
        default:
            throw BoundError(text: text, reason: "unknown partitioning strategy")
        }
    }

    /// Builds the current layout from the partitions' bounds (one level), in leaf order, with
    /// each partition's pages and rows.
    public static func layout(strategy: String, column: String, type: ColumnType, partitions: [(bound: Bound, pages: Double, rows: Double)]) -> CurrentLayout? {
        switch strategy {
        case "r":
            var ranges: [(RangeBound, Double, Double)] = []
            var defaults: (Double, Double)?
            for partition in partitions {
                switch partition.bound {
                case let .range(lower, upper):
                    ranges.append((RangeBound(lower: lower.flatMap { Scalar($0, type: type) }, upper: upper.flatMap { Scalar($0, type: type) }), partition.pages, partition.rows))
                case .default: defaults = (partition.pages, partition.rows)
                default: return nil
                }
            }
            ranges.sort { a, b in
                guard let left = a.0.lower else { return true }
                guard let right = b.0.lower else { return false }
                return left < right
            }
            let level = PartitionLevel.range(column: column, type: type, partitions: ranges.map(\.0), interval: nil, hasDefault: defaults != nil)
            return .partitioned(PartitionLayout(levels: [level]), partitionPages: ranges.map(\.1) + (defaults.map { [$0.0] } ?? []),
                                partitionRows: ranges.map(\.2) + (defaults.map { [$0.1] } ?? []))
        case "l":
            var lists: [([String?], Double, Double)] = []
            var defaults: (Double, Double)?
            for partition in partitions {
                switch partition.bound {
                case let .list(values): lists.append((values, partition.pages, partition.rows))
                case .default: defaults = (partition.pages, partition.rows)
                default: return nil
                }
            }
            let level = PartitionLevel.list(column: column, type: type, partitions: lists.map(\.0), hasDefault: defaults != nil)
            return .partitioned(PartitionLayout(levels: [level]), partitionPages: lists.map(\.1) + (defaults.map { [$0.0] } ?? []),
                                partitionRows: lists.map(\.2) + (defaults.map { [$0.1] } ?? []))
        case "h":
            var byRemainder: [Int: (Double, Double)] = [:]
            var modulus = 0
            for partition in partitions {
                guard case let .hash(partitionModulus, remainder) = partition.bound else { return nil }
                // Mixed moduli (a split partition) are not modelled.
                if modulus != 0, partitionModulus != modulus { return nil }
                modulus = partitionModulus
                byRemainder[remainder] = (partition.pages, partition.rows)
            }
            guard modulus > 0, byRemainder.count == modulus else { return nil }
            let level = PartitionLevel.hash(column: column, type: type, modulus: modulus)
            return .partitioned(PartitionLayout(levels: [level]), partitionPages: (0..<modulus).map { byRemainder[$0]!.0 },
                                partitionRows: (0..<modulus).map { byRemainder[$0]!.1 })
        default:
            return nil
        }
    }
}
