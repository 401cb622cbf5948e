/// The statements that create a layout as a new (shadow) table next to the original, for the
/// executor to fill and swap in: the partitioned parent (`LIKE … INCLUDING ALL` keeps columns,
/// defaults, constraints and indexes), then every partition, sub-partitions under their parent.
public enum PartitionDDL {
    /// `into`: where the new table goes (default: `<table>_repartitioned` next to the original).
    public static func statements(for layout: PartitionLayout, schema: String, table: String, into: (schema: String, table: String)? = nil) -> [String] {
        guard let first = layout.levels.first else { return [] }
        let parent = into?.table ?? "\(table)_repartitioned"
        let parentSchema = into?.schema ?? schema
        var statements = ["CREATE TABLE \(qualified(parentSchema, parent)) (LIKE \(qualified(schema, table)) INCLUDING ALL) PARTITION BY \(clause(first));"]
        func create(_ levelIndex: Int, parentName: String) {
            let level = layout.levels[levelIndex]
            for index in 0..<level.count {
                let name = partitionName(parentName, level: level, index: index)
                var statement = "CREATE TABLE \(qualified(parentSchema, name)) PARTITION OF \(qualified(parentSchema, parentName)) \(bound(level, index))"
                if levelIndex + 1 < layout.levels.count { statement += " PARTITION BY \(clause(layout.levels[levelIndex + 1]))" }
                statements.append(statement + ";")
                if levelIndex + 1 < layout.levels.count { create(levelIndex + 1, parentName: name) }
            }
        }
        create(0, parentName: parent)
        return statements
    }

    static func clause(_ level: PartitionLevel) -> String {
        "\(level.kind.uppercased()) (\(identifier(level.column)))"
    }

    static func bound(_ level: PartitionLevel, _ index: Int) -> String {
        if index == level.defaultIndex { return "DEFAULT" }
        switch level {
        case let .range(_, type, partitions, _, _):
            let partition = partitions[index]
            return "FOR VALUES FROM (\(partition.lower.map { literal($0, type) } ?? "MINVALUE")) TO (\(partition.upper.map { literal($0, type) } ?? "MAXVALUE"))"
        case let .hash(_, _, modulus):
            return "FOR VALUES WITH (MODULUS \(modulus), REMAINDER \(index))"
        case let .list(_, type, partitions, _):
            return "FOR VALUES IN (" + partitions[index].map { $0.map { literal(.text($0), type == .integer ? .integer : .text) } ?? "NULL" }.joined(separator: ", ") + ")"
        }
    }

    /// `events_p20260101`, `events_h3`, `events_l_cat_a` (PostgreSQL names stop at 63 bytes).
    static func partitionName(_ parent: String, level: PartitionLevel, index: Int) -> String {
        var suffix: String
        if index == level.defaultIndex {
            suffix = "default"
        } else {
            switch level {
            case let .range(_, type, partitions, _, _):
                if let lower = partitions[index].lower?.number, type == .timestamp || type == .date {
                    let text = PostgresTime.text(seconds: lower, type: type)
                    suffix = "p" + text.filter(\.isNumber).prefix(lower.truncatingRemainder(dividingBy: 86_400) == 0 ? 8 : 10)
                } else {
                    suffix = partitions[index].lower == nil ? "p_min" : "p\(index)"
                }
            case .hash: suffix = "h\(index)"
            case let .list(_, _, partitions, _):
                let value = partitions[index].first.flatMap { $0 } ?? "null"
                let clean = value.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
                suffix = clean.count <= 20 && !clean.isEmpty ? "l_" + String(clean) : "l\(index)"
            }
        }
        let name = "\(parent)_\(suffix)"
        return name.utf8.count <= 63 ? name : "\(parent.prefix(40))_\(index)"
    }

    static func literal(_ value: Scalar, _ type: ColumnType) -> String {
        let text = value.text(as: type)
        switch value {
        case .number: return type == .timestamp || type == .date ? "'\(text)'" : text
        case .text: return type == .integer && Int64(text) != nil ? text : "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
        }
    }

    static func qualified(_ schema: String, _ name: String) -> String { "\(identifier(schema)).\(identifier(name))" }

    /// Quotes an identifier unless it is a plain lower-case name.
    public static func identifier(_ name: String) -> String {
        let plain = name.first.map { $0.isLowercase || $0 == "_" } ?? false && name.allSatisfy { ($0.isLowercase && $0.isASCII) || $0.isNumber || $0 == "_" }
        return plain ? name : "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

import Foundation
