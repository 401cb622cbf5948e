import DriftlinePlanning
import DriftlineSQL

/// The layout a plan's DDL creates, read back from that DDL with PostgreSQL's parser: the levels
/// (strategy and column) and every leaf partition with the bounds on its path from the parent. The
/// SQLite target builds its partitions from this, so both targets carry out the same plan.
public struct PartitionTree: Equatable, Sendable {
    public struct Level: Equatable, Sendable {
        public var strategy: String  // range, list, hash
        public var column: String
    }

    public struct Leaf: Equatable, Sendable {
        public var name: String
        /// One bound per level, outermost first.
        public var bounds: [CatalogText.Bound]
        /// The level of each bound: sub-partitions may partition differently from their cousins.
        public var levels: [Level] = []
    }

    public var parent: String
    /// Every partitioning in the tree, outermost first.
    public var levels: [Level]
    public var leaves: [Leaf]

    public struct Invalid: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// A tree known by its leaves' names only (after a swap, for rolling back or retiring).
    public init(parent: String, leafNames: [String]) {
        self.parent = parent
        levels = []
        leaves = leafNames.map { Leaf(name: $0, bounds: []) }
    }

    /// Reads `CREATE TABLE parent (LIKE …) PARTITION BY …` and the `PARTITION OF` statements under it.
    public init(ddl: [String]) throws(Invalid) {
        struct Node { var parent: String?; var bound: CatalogText.Bound?; var level: Level? }
        var nodes: [String: Node] = [:]
        var order: [String] = []
        for statement in ddl {
            let trees: [SQLNode]
            do { trees = try PostgresParser.parse(statement) } catch { throw Invalid(reason: "the plan's DDL does not parse: \(error)") }
            for tree in trees {
                guard let create = tree["CreateStmt"], let name = create["relation"]?["relname"]?.string else {
                    throw Invalid(reason: "the plan's DDL has a statement that is not CREATE TABLE: \(statement)")
                }
                var node = Node()
                if let spec = create["partspec"] {
                    guard let strategy = spec["strategy"]?.string,
                          let column = spec["partParams"]?.array.first?["PartitionElem"]?["name"]?.string,
                          spec["partParams"]?.array.count == 1 else {
                        throw Invalid(reason: "\(name) is partitioned by an expression or several columns; only one column per level is supported")
                    }
                    node.level = Level(strategy: strategy.lowercased(), column: column)
                }
                if let bound = create["partbound"] {
                    guard let parent = create["inhRelations"]?.array.first?["RangeVar"]?["relname"]?.string else {
                        throw Invalid(reason: "\(name) has a partition bound but no parent")
                    }
                    node.parent = parent
                    do { node.bound = try CatalogText.bound(bound, in: statement, text: statement) } catch { throw Invalid(reason: "\(error)") }
                }
                nodes[name] = node
                order.append(name)
            }
        }
        guard let root = order.first(where: { nodes[$0]?.parent == nil }), nodes[root]?.level != nil else {
            throw Invalid(reason: "the plan's DDL creates no partitioned table")
        }
        parent = root
        var levels: [Level] = []
        var leaves: [Leaf] = []
        for name in order where name != root && nodes[name]?.level == nil {
            var bounds: [CatalogText.Bound] = []
            var path: [String] = []
            var current = name
            while let node = nodes[current], let up = node.parent, let bound = node.bound {
                bounds.insert(bound, at: 0)
                path.insert(up, at: 0)
                current = up
            }
            guard current == root else { throw Invalid(reason: "\(name) does not descend from \(root)") }
            let pathLevels = path.compactMap { nodes[$0]?.level }
            for level in pathLevels where !levels.contains(level) { levels.append(level) }
            leaves.append(Leaf(name: name, bounds: bounds, levels: pathLevels))
        }
        guard !leaves.isEmpty else { throw Invalid(reason: "the plan's DDL creates no partitions") }
        self.levels = levels
        self.leaves = leaves
    }
}
