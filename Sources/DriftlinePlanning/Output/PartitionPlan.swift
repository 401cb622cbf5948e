/// The planner's answer, as `driftline plan --format json` prints it and the repartition command
/// carries it (schema: `schemas/partition-plan.schema.json`).
public struct PartitionPlan: Codable, Equatable, Sendable {
    public var version = 1
    public var table: String
    public var decision: Decision
    public var reason: String
    public var strategy: Strategy
    public var ddl: [String]
    public var estimated: Estimated
    public var resources: Resources
    public var assumptions: [String]
    public var alternatives: [Alternative]
    public var notes: [String]

    public enum Decision: String, Codable, Sendable { case repartition, keep }

    public init(table: String, decision: Decision, reason: String, strategy: Strategy, ddl: [String], estimated: Estimated,
                resources: Resources, assumptions: [String], alternatives: [Alternative], notes: [String]) {
        self.table = table; self.decision = decision; self.reason = reason; self.strategy = strategy; self.ddl = ddl
        self.estimated = estimated; self.resources = resources; self.assumptions = assumptions; self.alternatives = alternatives; self.notes = notes
    }

    public struct Strategy: Codable, Equatable, Sendable {
        public var kind: String
        public var columns: [String]
        public var parameters: [String: String]
        public var levels: [Level]
        public var summary: String
    }

    public struct Level: Codable, Equatable, Sendable {
        public var kind: String
        public var column: String
        public var partitions: Int
        public var parameters: [String: String]
    }

    public struct Estimated: Codable, Equatable, Sendable {
        public var perClass: [ClassEstimate]
        public var totalCostNow: Double
        public var totalCostNew: Double
        public var improvement: Double
        public var horizonDays: Double
        public var unit: String

        public init(perClass: [ClassEstimate], totalCostNow: Double, totalCostNew: Double, improvement: Double, horizonDays: Double, unit: String) {
            self.perClass = perClass; self.totalCostNow = totalCostNow; self.totalCostNew = totalCostNew; self.improvement = improvement
            self.horizonDays = horizonDays; self.unit = unit
        }

        enum CodingKeys: String, CodingKey {
            case perClass = "per_class", totalCostNow = "total_cost_now", totalCostNew = "total_cost_new", improvement
            case horizonDays = "horizon_days", unit
        }
    }

    public struct ClassEstimate: Codable, Equatable, Sendable {
        public var fingerprint: String
        public var statement: String
        public var kind: String
        public var callsPerDay: Double
        public var predicates: [Predicate]
        public var partitionsNow: Double
        public var partitionsNew: Double
        public var buffersNow: Double
        public var buffersNew: Double
        /// False when parameters make the partition counts estimates (pruned at executor start).
        public var exactPruning: Bool

        enum CodingKeys: String, CodingKey {
            case fingerprint, statement, kind, callsPerDay = "calls_per_day", predicates
            case partitionsNow = "partitions_now", partitionsNew = "partitions_new", buffersNow = "buffers_now", buffersNew = "buffers_new"
            case exactPruning = "exact_pruning"
        }
    }

    public struct Predicate: Codable, Equatable, Sendable {
        public var column: String
        public var kind: String
        public var parameterized: Bool
    }

    public struct Resources: Codable, Equatable, Sendable {
        public var rows: Double
        public var bytes: Double
        public var tempBytes: Double
        public var seconds: Double

        public init(rows: Double, bytes: Double, tempBytes: Double, seconds: Double) {
            self.rows = rows; self.bytes = bytes; self.tempBytes = tempBytes; self.seconds = seconds
        }

        enum CodingKeys: String, CodingKey { case rows, bytes, tempBytes = "temp_bytes", seconds }
    }

    public struct Alternative: Codable, Equatable, Sendable {
        public var strategy: Strategy
        public var cost: Double
        public var whyNot: String

        enum CodingKeys: String, CodingKey { case strategy, cost, whyNot = "why_not" }
    }
}

extension PartitionPlan.Strategy {
    public init(_ layout: PartitionLayout) {
        let levels = layout.levels.map { level -> PartitionPlan.Level in
            var parameters: [String: String] = [:]
            switch level {
            case let .range(_, _, partitions, interval, hasDefault):
                if let interval { parameters["interval"] = interval }
                parameters["partitions"] = String(partitions.count)
                parameters["default_partition"] = String(hasDefault)
                if let first = partitions.first(where: { $0.lower != nil })?.lower { parameters["first_bound"] = Self.text(first, level.type) }
                if let last = partitions.last(where: { $0.upper != nil })?.upper { parameters["last_bound"] = Self.text(last, level.type) }
            case let .hash(_, _, modulus):
                parameters["modulus"] = String(modulus)
            case let .list(_, _, partitions, hasDefault):
                parameters["values"] = partitions.map { $0.map { $0 ?? "NULL" }.joined(separator: "|") }.joined(separator: ",")
                parameters["default_partition"] = String(hasDefault)
            }
            return PartitionPlan.Level(kind: level.kind, column: level.column, partitions: level.count, parameters: parameters)
        }
        self.init(kind: layout.kind, columns: layout.columns, parameters: levels.count == 1 ? levels[0].parameters : [:], levels: levels, summary: layout.summary)
    }

    static func text(_ value: Scalar, _ type: ColumnType) -> String { value.text(as: type) }
}
