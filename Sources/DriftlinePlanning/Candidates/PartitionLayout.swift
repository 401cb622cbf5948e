/// A declarative partitioning layout: one level (range, hash or list) or two (composite, each
/// first-level partition sub-partitioned the same way). No levels: an unpartitioned table.
public struct PartitionLayout: Equatable, Sendable, Codable {
    public var levels: [PartitionLevel]

    public init(levels: [PartitionLevel]) { self.levels = levels }
    public static let none = PartitionLayout(levels: [])

    /// Leaf partitions: index paths into the levels' partitions.
    public var leaves: [[Int]] {
        levels.reduce([[]]) { paths, level in paths.flatMap { path in (0..<level.count).map { path + [$0] } } }
    }

    public var leafCount: Int { levels.reduce(1) { $0 * $1.count } }
    public var columns: [String] { levels.map(\.column) }

    public var kind: String {
        switch levels.count {
        case 0: "none"
        case 1: levels[0].kind
        default: "composite"
        }
    }

    /// `range(created_at, 1 day) → hash(user_id, 8)`.
    public var summary: String {
        levels.isEmpty ? "unpartitioned" : levels.map(\.summary).joined(separator: " → ")
    }
}

/// One range partition: `FROM (lower) TO (upper)`; nil bounds are MINVALUE / MAXVALUE.
public struct RangeBound: Equatable, Sendable, Codable {
    public var lower: Scalar?
    public var upper: Scalar?
    public init(lower: Scalar?, upper: Scalar?) { self.lower = lower; self.upper = upper }

    func contains(_ value: Scalar) -> Bool {
        (lower.map { value >= $0 } ?? true) && (upper.map { value < $0 } ?? true)
    }
}

public enum PartitionLevel: Equatable, Sendable, Codable {
    /// Partitions in order; `interval` names the step when they are regular (`1 day`, `100000`).
    case range(column: String, type: ColumnType, partitions: [RangeBound], interval: String?, hasDefault: Bool)
    case hash(column: String, type: ColumnType, modulus: Int)
    /// Each partition's values (NULL written as nil), and whether a DEFAULT partition catches the rest.
    case list(column: String, type: ColumnType, partitions: [[String?]], hasDefault: Bool)

    public var column: String {
        switch self {
        case let .range(column, _, _, _, _), let .hash(column, _, _), let .list(column, _, _, _): column
        }
    }

    public var type: ColumnType {
        switch self {
        case let .range(_, type, _, _, _), let .hash(_, type, _), let .list(_, type, _, _): type
        }
    }

    public var kind: String {
        switch self {
        case .range: "range"
        case .hash: "hash"
        case .list: "list"
        }
    }

    /// Partitions at this level, the DEFAULT partition (if any) last.
    public var count: Int {
        switch self {
        case let .range(_, _, partitions, _, hasDefault): partitions.count + (hasDefault ? 1 : 0)
        case let .hash(_, _, modulus): modulus
        case let .list(_, _, partitions, hasDefault): partitions.count + (hasDefault ? 1 : 0)
        }
    }

    public var defaultIndex: Int? {
        switch self {
        case let .range(_, _, partitions, _, hasDefault): hasDefault ? partitions.count : nil
        case .hash: nil
        case let .list(_, _, partitions, hasDefault): hasDefault ? partitions.count : nil
        }
    }

    public var summary: String {
        switch self {
        case let .range(column, _, partitions, interval, _): "range(\(column), \(interval ?? "\(partitions.count) partitions"))"
        case let .hash(column, _, modulus): "hash(\(column), \(modulus))"
        case let .list(column, _, partitions, hasDefault): "list(\(column), \(partitions.count) values\(hasDefault ? " + default" : ""))"
        }
    }
}

extension Scalar: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Double.self) { self = .number(value) } else { self = .text(try container.decode(String.self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .number(value): try container.encode(value)
        case let .text(value): try container.encode(value)
        }
    }
}
