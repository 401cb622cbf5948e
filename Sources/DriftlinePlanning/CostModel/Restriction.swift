/// What a scan's predicates on one column leave, in terms partition pruning understands.
public enum Restriction: Equatable, Sendable {
    /// Equality or IN with literal values (`includesNull`: `IS NULL` also matches).
    case values(Set<Scalar>)
    case interval(lower: Scalar?, lowerInclusive: Bool, upper: Scalar?, upperInclusive: Bool)
    case nullOnly
    /// Equality with parameters: pruned when the statement starts, to this many values.
    case parameterValues(Int)
    /// A range with a parameter bound: pruned at executor start to an unknown part.
    case parameterRange
    /// Contradictory literals (`x = 1 AND x = 2`): nothing matches.
    case empty

    public var isExact: Bool {
        switch self {
        case .parameterValues, .parameterRange: false
        default: true
        }
    }

    /// Folds the atoms of one column into one restriction; nil when they restrict nothing prunable.
    public static func from(_ atoms: [PredicateAtom], type: ColumnType) -> Restriction? {
        var values: Set<Scalar>?
        var lower: (Scalar, Bool)?
        var upper: (Scalar, Bool)?
        var parameterValues: Int?
        var parameterRange = false
        var nullOnly = false
        func scalar(_ operand: Operand) -> Scalar? { operand.literal.flatMap { Scalar($0.text, type: type) } }
        func tighten(lower bound: (Scalar, Bool)) {
            if let current = lower, current.0 > bound.0 || (current.0 == bound.0 && !current.1) { return }
            lower = bound
        }
        func tighten(upper bound: (Scalar, Bool)) {
            if let current = upper, current.0 < bound.0 || (current.0 == bound.0 && !current.1) { return }
            upper = bound
        }
        for atom in atoms {
            switch atom {
            case let .equal(operand):
                if let value = scalar(operand) { values = values.map { $0.intersection([value]) } ?? [value] }
                else if operand.literal == nil { parameterValues = 1 }
            case let .inList(operands):
                if operands.allSatisfy({ $0.literal != nil }) {
                    let set = Set(operands.compactMap(scalar))
                    values = values.map { $0.intersection(set) } ?? set
                } else {
                    parameterValues = max(1, operands.count)
                }
            case let .lower(operand, inclusive):
                if let value = scalar(operand) { tighten(lower: (value, inclusive)) } else if operand.literal == nil { parameterRange = true }
            case let .upper(operand, inclusive):
                if let value = scalar(operand) { tighten(upper: (value, inclusive)) } else if operand.literal == nil { parameterRange = true }
            case let .prefix(text):
                guard type == .text else { continue }
                tighten(lower: (.text(text), true))
                if let next = Self.successor(of: text) { tighten(upper: (.text(next), false)) }
            case .isNull: nullOnly = true
            case .isNotNull, .notEqual: continue
            }
        }
        if nullOnly { return values == nil && lower == nil && upper == nil ? .nullOnly : .empty }
        if var set = values {
            set = set.filter { value in
                (lower.map { value > $0.0 || ($0.1 && value == $0.0) } ?? true) && (upper.map { value < $0.0 || ($0.1 && value == $0.0) } ?? true)
            }
            return set.isEmpty ? .empty : .values(set)
        }
        if lower != nil || upper != nil {
            if let low = lower, let high = upper, low.0 > high.0 || (low.0 == high.0 && !(low.1 && high.1)) { return .empty }
            return .interval(lower: lower?.0, lowerInclusive: lower?.1 ?? true, upper: upper?.0, upperInclusive: upper?.1 ?? false)
        }
        if let count = parameterValues { return .parameterValues(count) }
        if parameterRange { return .parameterRange }
        return nil
    }

    /// The smallest string after every string starting with `prefix` (bytewise order).
    static func successor(of prefix: String) -> String? {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0x7F { bytes[bytes.count - 1] = last + 1; return String(decoding: bytes, as: UTF8.self) }
            bytes.removeLast()
        }
        return nil
    }

    /// The fraction of rows the restriction keeps.
    public func selectivity(_ estimate: Selectivity) -> Double {
        switch self {
        case let .values(set): estimate.inList(Array(set))
        case let .interval(lower, lowerInclusive, upper, upperInclusive):
            estimate.between(lower: lower.map { ($0, lowerInclusive) }, upper: upper.map { ($0, upperInclusive) })
        case .nullOnly: estimate.column.nullFraction
        case let .parameterValues(count): min(1, Double(count) / estimate.column.distinctCount(rows: estimate.rows))
        case .parameterRange: Selectivity.defaultRange
        case .empty: 0
        }
    }
}
