import DriftlineSQL

/// Reads a parse tree (PostgreSQL's raw grammar output) into the tables it scans and the
/// restrictions on their columns. Syntactic only: no catalog, so unqualified columns in a FROM
/// list of several tables are kept aside for the planner to attribute.
public struct PredicateExtractor {
    /// The statement's text: libpg_query 15-4.0's JSON output drops the value of negative and zero
    /// integer constants (`"ival": {}`), so those are read back from the text at their location.
    let source: [UInt8]

    public init(source: String) { self.source = Array(source.utf8) }

    public static func shape(of sql: String) throws(SQLParseError) -> StatementShape {
        let trees = try PostgresParser.parse(sql)
        var extractor = PredicateExtractor(source: sql)
        return extractor.shape(trees.first ?? .null)
    }

    private var scans: [TableScan] = []
    private var writes: [String] = []
    private var joinKeys: [String] = []
    private var groupBy: [String] = []
    private var orderBy: [String] = []
    private var unreduced = 0

    public mutating func shape(_ statement: SQLNode) -> StatementShape {
        scans = []; writes = []; joinKeys = []; groupBy = []; orderBy = []; unreduced = 0
        var kind = StatementShape.Kind.other
        if let (type, fields) = statement.tagged {
            switch type {
            case "SelectStmt": kind = .select; select(fields)
            case "InsertStmt":
                kind = .insert
                if let relation = fields["relation"]?["relname"]?.string { writes.append(relation) }
                if let query = fields["selectStmt"]?["SelectStmt"] { select(query) }
            case "UpdateStmt":
                kind = .update
                modification(fields, extraFrom: fields["fromClause"]?.array ?? [])
            case "DeleteStmt":
                kind = .delete
                modification(fields, extraFrom: fields["usingClause"]?.array ?? [])
            case "ExplainStmt":
                if let inner = fields["query"] { return shape(inner) }
            default: break
            }
        }
        return StatementShape(kind: kind, scans: scans, writes: writes, joinKeys: joinKeys, groupBy: groupBy, orderBy: orderBy, unreducedConditions: unreduced)
    }

    // MARK: Scopes

    /// A FROM list: alias (or name) → index into `scans`.
    private struct Scope {
        var byName: [String: Int] = [:]
        var members: [Int] = []
    }

    private mutating func select(_ fields: SQLNode) {
        // Fields typed as one node type (`WithClause *`, `SelectStmt *`, `RangeVar *`) come inline in
        // libpg_query's JSON, without the `{"Type": …}` wrapper that `Node *` fields have.
        for cte in fields["withClause"]?["ctes"]?.array ?? [] {
            if let query = cte["CommonTableExpr"]?["ctequery"]?["SelectStmt"] { select(query) }
        }
        // UNION / INTERSECT: both sides.
        if let left = fields["larg"] { select(left) }
        if let right = fields["rarg"] { select(right) }
        var scope = Scope()
        for item in fields["fromClause"]?.array ?? [] { addFromItem(item, to: &scope) }
        if let condition = fields["whereClause"] { restrict(condition, in: scope) }
        if let having = fields["havingClause"] { subqueries(in: having) }
        for item in fields["groupClause"]?.array ?? [] {
            if let name = columnName(item, in: scope) { groupBy.append(name) }
        }
        for item in fields["sortClause"]?.array ?? [] {
            if let node = item["SortBy"]?["node"], let name = columnName(node, in: scope) { orderBy.append(name) }
        }
        for target in fields["targetList"]?.array ?? [] { subqueries(in: target) }
    }

    private mutating func modification(_ fields: SQLNode, extraFrom: [SQLNode]) {
        var scope = Scope()
        if let relation = fields["relation"] {
            if let name = relation["relname"]?.string { writes.append(name) }
            addFromItem(.object(["RangeVar": relation]), to: &scope)
        }
        for item in extraFrom { addFromItem(item, to: &scope) }
        if let condition = fields["whereClause"] { restrict(condition, in: scope) }
    }

    private mutating func addFromItem(_ item: SQLNode, to scope: inout Scope) {
        guard let (type, fields) = item.tagged else { return }
        switch type {
        case "RangeVar":
            guard let name = fields["relname"]?.string else { return }
            let index = scans.count
            scans.append(TableScan(schema: fields["schemaname"]?.string, table: name))
            scope.byName[fields["alias"]?["aliasname"]?.string ?? name] = index
            scope.byName[name] = scope.byName[name] ?? index
            scope.members.append(index)
        case "JoinExpr":
            if let left = fields["larg"] { addFromItem(left, to: &scope) }
            if let right = fields["rarg"] { addFromItem(right, to: &scope) }
            // An inner join's ON restricts like WHERE; an outer join's ON does not restrict the preserved side.
            if let quals = fields["quals"] {
                if fields["jointype"]?.string == "JOIN_INNER" { restrict(quals, in: scope) } else { joinConditions(quals, in: scope) }
            }
        case "RangeSubselect":
            if let query = fields["subquery"]?["SelectStmt"] { select(query) }
        default: break
        }
    }

    /// Subqueries inside an expression (`x IN (SELECT …)`, `EXISTS (…)`) scan tables of their own.
    private mutating func subqueries(in node: SQLNode) {
        switch node {
        case let .object(fields):
            if let sublink = fields["SubLink"], let query = sublink["subselect"]?["SelectStmt"] { select(query); return }
            for value in fields.values { subqueries(in: value) }
        case let .array(items): for item in items { subqueries(in: item) }
        default: break
        }
    }

    // MARK: Restrictions

    private mutating func restrict(_ condition: SQLNode, in scope: Scope) {
        guard let (type, fields) = condition.tagged else { return }
        switch type {
        case "BoolExpr":
            let arguments = fields["args"]?.array ?? []
            switch fields["boolop"]?.string {
            case "AND_EXPR": for argument in arguments { restrict(argument, in: scope) }
            case "OR_EXPR":
                // `a = 1 OR a = 2 OR a IN (3)` on one column prunes like an IN list; anything else does not prune.
                if let (column, operands) = disjunctionOfEqualities(arguments, in: scope) {
                    add(.inList(operands), to: column, in: scope)
                } else {
                    unreduced += 1
                }
                subqueries(in: condition)
            default:
                unreduced += 1
                subqueries(in: condition)
            }
        case "A_Expr":
            comparison(fields, in: scope)
        case "NullTest":
            guard let column = columnReference(fields["arg"]) else { return }
            add(fields["nulltesttype"]?.string == "IS_NULL" ? .isNull : .isNotNull, to: column, in: scope)
        default:
            subqueries(in: condition)
        }
    }

    private mutating func joinConditions(_ condition: SQLNode, in scope: Scope) {
        guard let (type, fields) = condition.tagged else { return }
        if type == "BoolExpr" { for argument in fields["args"]?.array ?? [] { joinConditions(argument, in: scope) } }
        if type == "A_Expr" { _ = joinKey(fields, in: scope) }
    }

    private mutating func comparison(_ fields: SQLNode, in scope: Scope) {
        let kind = fields["kind"]?.string ?? ""
        let op = fields["name"]?.names.last ?? ""
        if joinKey(fields, in: scope) { return }
        var column = columnReference(fields["lexpr"])
        var other = fields["rexpr"]
        var flipped = false
        if column == nil, kind == "AEXPR_OP", let right = columnReference(fields["rexpr"]) {
            column = right; other = fields["lexpr"]; flipped = true
        }
        guard let column, let other else { subqueries(in: .object(["A_Expr": fields])); return }
        switch kind {
        case "AEXPR_OP":
            guard let operand = operand(other) else { subqueries(in: other); return }
            let direction = flipped ? Self.flip(op) : op
            switch direction {
            case "=": add(.equal(operand), to: column, in: scope)
            case "<": add(.upper(operand, inclusive: false), to: column, in: scope)
            case "<=": add(.upper(operand, inclusive: true), to: column, in: scope)
            case ">": add(.lower(operand, inclusive: false), to: column, in: scope)
            case ">=": add(.lower(operand, inclusive: true), to: column, in: scope)
            case "<>", "!=": add(.notEqual, to: column, in: scope)
            default: break
            }
        case "AEXPR_IN":
            let operands = other["List"]?["items"]?.array.compactMap(operand) ?? []
            if op == "=" { add(.inList(operands), to: column, in: scope) } else { add(.notEqual, to: column, in: scope) }
        case "AEXPR_OP_ANY":
            // `col = ANY($1)` / `= ANY(ARRAY[…])`: an IN list whose members may be unknown.
            if op == "=" {
                if let items = other["A_ArrayExpr"]?["elements"]?.array {
                    add(.inList(items.compactMap(operand)), to: column, in: scope)
                } else if let operand = operand(other) {
                    add(.inList([operand]), to: column, in: scope)
                }
            }
        case "AEXPR_BETWEEN":
            let bounds = other["List"]?["items"]?.array.compactMap(operand) ?? []
            if bounds.count == 2 {
                add(.lower(bounds[0], inclusive: true), to: column, in: scope)
                add(.upper(bounds[1], inclusive: true), to: column, in: scope)
            }
        case "AEXPR_LIKE":
            if op == "~~", let pattern = operand(other)?.literal?.text, let prefix = Self.likePrefix(pattern) {
                add(.prefix(prefix), to: column, in: scope)
            }
        default: break
        }
    }

    /// `a.x = b.y` across two tables: a join key, not a restriction.
    private mutating func joinKey(_ fields: SQLNode, in scope: Scope) -> Bool {
        guard fields["kind"]?.string == "AEXPR_OP", fields["name"]?.names.last == "=",
              let left = columnReference(fields["lexpr"]), let right = columnReference(fields["rexpr"]) else { return false }
        for reference in [left, right] {
            joinKeys.append(qualifiedName(reference, in: scope) ?? reference.column)
        }
        return true
    }

    private func disjunctionOfEqualities(_ arms: [SQLNode], in scope: Scope) -> (ColumnReference, [Operand])? {
        var column: ColumnReference?
        var operands: [Operand] = []
        for arm in arms {
            guard let fields = arm["A_Expr"], let reference = columnReference(fields["lexpr"]),
                  fields["name"]?.names.last == "=" else { return nil }
            if let column, column != reference { return nil }
            column = reference
            switch fields["kind"]?.string {
            case "AEXPR_OP": guard let value = fields["rexpr"].flatMap(operand) else { return nil }; operands.append(value)
            case "AEXPR_IN": operands += fields["rexpr"]?["List"]?["items"]?.array.compactMap(operand) ?? []
            default: return nil
            }
        }
        return column.map { ($0, operands) }
    }

    // MARK: Columns and operands

    struct ColumnReference: Equatable {
        var qualifier: String?
        var column: String
    }

    private func columnReference(_ node: SQLNode?) -> ColumnReference? {
        guard var node else { return nil }
        // A column under a cast (`col::text`) is an expression PostgreSQL cannot prune on.
        guard let fields = node["ColumnRef"]?["fields"] else { return nil }
        node = fields
        let names = node.names
        guard let column = names.last else { return nil }
        return ColumnReference(qualifier: names.count >= 2 ? names[names.count - 2] : nil, column: column)
    }

    private mutating func add(_ atom: PredicateAtom, to reference: ColumnReference, in scope: Scope) {
        if let qualifier = reference.qualifier {
            guard let index = scope.byName[qualifier] else { return }
            scans[index].predicates[reference.column, default: []].append(atom)
        } else if scope.members.count == 1 {
            scans[scope.members[0]].predicates[reference.column, default: []].append(atom)
        } else {
            for index in scope.members { scans[index].unqualified[reference.column, default: []].append(atom) }
        }
    }

    private func qualifiedName(_ reference: ColumnReference, in scope: Scope) -> String? {
        if let qualifier = reference.qualifier, let index = scope.byName[qualifier] { return "\(scans[index].table).\(reference.column)" }
        if reference.qualifier == nil, scope.members.count == 1 { return "\(scans[scope.members[0]].table).\(reference.column)" }
        return nil
    }

    private func columnName(_ node: SQLNode, in scope: Scope) -> String? {
        guard let reference = columnReference(node) else { return nil }
        return qualifiedName(reference, in: scope) ?? reference.column
    }

    func operand(_ node: SQLNode) -> Operand? {
        if let number = node["ParamRef"]?["number"]?.number { return .parameter(Int(number)) }
        if let cast = node["TypeCast"], let inner = cast["arg"] {
            let type = cast["typeName"]?["names"]?.names.last
            if case let .literal(literal)? = operand(inner) {
                return .literal(Literal(literal.text, kind: literal.kind, cast: type))
            }
            return operand(inner)
        }
        guard let constant = node["A_Const"] else { return nil }
        if constant["isnull"]?.bool == true { return .literal(Literal("NULL", kind: .null)) }
        if let text = constant["sval"]?["sval"]?.string { return .literal(Literal(text, kind: .string)) }
        if constant["sval"] != nil { return .literal(Literal("", kind: .string)) }
        if let text = constant["fval"]?["fval"]?.string { return .literal(Literal(text, kind: .float)) }
        if let value = constant["boolval"] { return .literal(Literal(value["boolval"]?.bool == true ? "true" : "false", kind: .boolean)) }
        if let value = constant["ival"] {
            if let number = value["ival"]?.number { return .literal(Literal(String(Int64(number)), kind: .integer)) }
            return .literal(Literal(integerText(at: constant["location"]?.number), kind: .integer))
        }
        return nil
    }

    /// The integer written at `location` (see `source`): `0`, `-2`, `- 2`.
    private func integerText(at location: Double?) -> String {
        guard let location, Int(location) < source.count, location >= 0 else { return "0" }
        var index = Int(location)
        var text = ""
        if source[index] == UInt8(ascii: "-") {
            text = "-"; index += 1
            while index < source.count, source[index] == UInt8(ascii: " ") { index += 1 }
        }
        while index < source.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(source[index]) {
            text.append(Character(UnicodeScalar(source[index]))); index += 1
        }
        return Int64(text) == nil ? "0" : text
    }

    static func flip(_ op: String) -> String {
        switch op { case "<": ">"; case "<=": ">="; case ">": "<"; case ">=": "<="; default: op }
    }

    /// `abc%` → `abc`; patterns with a wildcard or escape before the final `%` have no usable prefix.
    static func likePrefix(_ pattern: String) -> String? {
        guard pattern.hasSuffix("%") else { return nil }
        let head = pattern.dropLast()
        guard !head.isEmpty, !head.contains("%"), !head.contains("_"), !head.contains("\\") else { return nil }
        return String(head)
    }
}
