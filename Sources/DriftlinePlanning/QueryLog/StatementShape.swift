import DriftlineSQL

/// A value in a predicate: a literal written in the statement, or a parameter (`$1`) whose value
/// is known only when the statement runs (PostgreSQL then prunes at executor start, not at plan time).
public enum Operand: Hashable, Sendable, Codable {
    case literal(Literal)
    case parameter(Int)

    public var literal: Literal? { if case let .literal(value) = self { value } else { nil } }
}

/// A constant as written: its text, what kind of token it was, and a cast (`'…'::timestamptz`) if any.
public struct Literal: Hashable, Sendable, Codable {
    public enum Kind: String, Sendable, Codable { case string, integer, float, boolean, null }
    public var text: String
    public var kind: Kind
    public var cast: String?
    public init(_ text: String, kind: Kind, cast: String? = nil) { self.text = text; self.kind = kind; self.cast = cast }
}

/// One restriction on one column, as PostgreSQL's partition pruning sees them.
public enum PredicateAtom: Hashable, Sendable {
    case equal(Operand)
    case inList([Operand])
    case lower(Operand, inclusive: Bool)
    case upper(Operand, inclusive: Bool)
    case isNull
    case isNotNull
    /// `<>`, `NOT IN`: restricts rows but never prunes a partition.
    case notEqual
    /// `LIKE 'abc%'`: a range on text.
    case prefix(String)

    public var isParameterized: Bool {
        switch self {
        case let .equal(operand), let .lower(operand, _), let .upper(operand, _): operand.literal == nil
        case let .inList(operands): operands.contains { $0.literal == nil }
        default: false
        }
    }

    /// The name the plan uses for this kind of use.
    public var kindName: String {
        switch self {
        case .equal: "equality"
        case .inList: "in_list"
        case .lower, .upper: "range"
        case .isNull: "is_null"
        case .isNotNull: "is_not_null"
        case .notEqual: "not_equal"
        case .prefix: "prefix_like"
        }
    }
}

/// One read of a table inside a statement (a statement can read the same table twice, e.g. in a
/// subquery), with the restrictions that apply to that read.
public struct TableScan: Equatable, Sendable {
    public var schema: String?
    public var table: String
    /// Restrictions on columns qualified with this table or its alias (or unqualified when it is the
    /// only table in its FROM list).
    public var predicates: [String: [PredicateAtom]]
    /// Restrictions on unqualified columns when the FROM list has several tables: they belong to
    /// this table only if it has the column (the planner decides, knowing the columns).
    public var unqualified: [String: [PredicateAtom]]

    public init(schema: String? = nil, table: String, predicates: [String: [PredicateAtom]] = [:], unqualified: [String: [PredicateAtom]] = [:]) {
        self.schema = schema; self.table = table; self.predicates = predicates; self.unqualified = unqualified
    }

    /// The restrictions on this table's columns, given the columns it has (nil: unknown, so
    /// unqualified columns are not attributed).
    public func restrictions(columns: Set<String>?) -> [String: [PredicateAtom]] {
        var result = predicates
        if let columns {
            for (column, atoms) in unqualified where columns.contains(column) { result[column, default: []] += atoms }
        }
        return result
    }
}

/// What a statement does to which tables: the input of the workload model.
public struct StatementShape: Equatable, Sendable {
    public enum Kind: String, Sendable, Codable { case select, insert, update, delete, other }
    public var kind: Kind
    public var scans: [TableScan]
    /// Tables written (INSERT, UPDATE, DELETE targets).
    public var writes: [String]
    /// Columns compared with another table's column (`a.x = b.y`), as `table.column`.
    public var joinKeys: [String]
    public var groupBy: [String]
    public var orderBy: [String]
    /// OR and NOT branches that could not be reduced to one column (they restrict rows but prune nothing).
    public var unreducedConditions: Int

    public var isParameterized: Bool { scans.contains { $0.predicates.values.joined().contains { $0.isParameterized } || $0.unqualified.values.joined().contains { $0.isParameterized } } }
}
