/// The cost of running a workload on a layout over the horizon, per statement class: pages read
/// in the partitions left after pruning (seq scan, or an index path when an index leads with a
/// restricted column and is cheaper), planning per partition not pruned at plan time, and a skew
/// penalty for parallel scans; plus maintenance and storage for the layout itself.
public struct CostModel: Sendable {
    public let configuration: PlannerConfiguration
    public let statistics: TableStatistics
    public let growth: LayoutModel.Growth
    let columnNames: Set<String>

    public init(configuration: PlannerConfiguration, statistics: TableStatistics, growth: LayoutModel.Growth) {
        self.configuration = configuration
        self.statistics = statistics
        self.growth = growth
        columnNames = Set(statistics.columns.map(\.name))
    }

    /// One execution of one statement (all its scans of the table).
    public struct Execution: Equatable, Sendable {
        public var buffers: Double
        public var partitions: Int
        public var plannedPartitions: Int
        public var estimatedRows: Double
        public var exact: Bool
        public var skewPenalty: Double
    }

    public struct ClassCost: Sendable {
        public var statementClass: StatementClass
        public var callsPerDay: Double
        /// Averages over the class's samples, per execution.
        public var buffers: Double
        public var partitions: Double
        public var planning: Double
        public var exact: Bool
        public var horizonCost: Double
    }

    public struct LayoutCost: Sendable {
        public var layout: PartitionLayout
        public var classes: [ClassCost]
        public var workload: Double
        public var maintenance: Double
        public var partitionsToCreate: Int
        public var storage: Double
        public var skew: Double
        public var total: Double { workload + maintenance + storage }
    }

    /// The restrictions a scan places on this table's columns.
    public func restrictions(_ scan: TableScan) -> [String: Restriction] {
        var result: [String: Restriction] = [:]
        for (column, atoms) in scan.restrictions(columns: columnNames) {
            guard let type = statistics.column(column)?.type, let restriction = Restriction.from(atoms, type: type) else { continue }
            result[column] = restriction
        }
        return result
    }

    public func execution(_ shape: StatementShape, on model: LayoutModel) -> Execution? {
        let scans = shape.scans.filter { $0.table == statistics.table && ($0.schema == nil || $0.schema == statistics.schema) }
        guard !scans.isEmpty else { return nil }
        var total = Execution(buffers: 0, partitions: 0, plannedPartitions: 0, estimatedRows: 0, exact: true, skewPenalty: 0)
        let pages = model.pagesMidHorizon
        let rows = zip(model.rowsNow, model.rowsAdded).map { $0 + $1 / 2 }
        for scan in scans {
            let restrictions = restrictions(scan)
            let touch = model.touch(restrictions)
            var selectivity = 1.0
            for (column, restriction) in restrictions {
                if let estimate = model.estimate(column) { selectivity *= restriction.selectivity(estimate) }
            }
            let touchedRows = touch.leaves.reduce(0) { $0 + rows[$1] }
            let totalRows = rows.reduce(0, +)
            let matched = totalRows * selectivity
            var buffers = 0.0
            var scanned: [Double] = []
            for leaf in touch.leaves {
                let share = touchedRows > 0 ? rows[leaf] / touchedRows : 0
                let cost = min(pages[leaf], indexCost(restrictions, matchedRows: matched * share, leafRows: rows[leaf], model: model) ?? .infinity)
                buffers += cost
                scanned.append(cost)
            }
            if scanned.count > 1, let largest = scanned.max() {
                total.skewPenalty += (largest - buffers / Double(scanned.count)) * configuration.parallelSkewWeight
            }
            total.buffers += buffers
            total.partitions += touch.leaves.count
            total.plannedPartitions += touch.plannedLeaves
            total.estimatedRows += matched
            total.exact = total.exact && touch.exact && restrictions.values.allSatisfy(\.isExact)
        }
        return total
    }

    /// An index scan on the first index whose leading column is restricted: descent, leaf pages,
    /// and heap pages (correlated tables fetch neighbouring rows from the same page).
    func indexCost(_ restrictions: [String: Restriction], matchedRows: Double, leafRows: Double, model: LayoutModel) -> Double? {
        guard leafRows >= 1 else { return nil }
        guard let index = statistics.indexes.first(where: { $0.first.map { restrictions[$0] != nil } ?? false }), let column = index.first,
              let stats = statistics.column(column) else { return nil }
        let width = index.compactMap { statistics.column($0)?.averageWidth }.reduce(0, +) + 16
        let entriesPerPage = max(16, 8192 * 0.9 / width)
        let leafPages = max(1, leafRows / entriesPerPage)
        let height = max(1, (log(leafPages) / log(entriesPerPage)).rounded(.up)) + 1
        let correlation = (stats.correlation ?? 0) * (stats.correlation ?? 0)
        let heap = matchedRows * (1 - correlation) + (matchedRows / statistics.rowsPerPage).rounded(.up) * correlation
        return height + (matchedRows / entriesPerPage).rounded(.up) + heap
    }

    public func cost(_ layout: PartitionLayout, workload: [StatementClass], periodDays: Double) -> LayoutCost {
        let model = LayoutModel(layout: layout, statistics: statistics, growth: growth)
        var classes: [ClassCost] = []
        for statementClass in workload {
            let executions = statementClass.samples.compactMap { execution($0, on: model) }
            guard !executions.isEmpty else { continue }
            let count = Double(executions.count)
            let buffers = executions.reduce(0) { $0 + $1.buffers + $1.skewPenalty } / count
            let planning = executions.reduce(0) { $0 + Double($1.plannedPartitions) } / count * configuration.planningBuffersPerPartition
            let callsPerDay = statementClass.calls / periodDays
            classes.append(ClassCost(
                statementClass: statementClass, callsPerDay: callsPerDay,
                buffers: executions.reduce(0) { $0 + $1.buffers } / count,
                partitions: executions.reduce(0) { $0 + Double($1.partitions) } / count,
                planning: planning, exact: executions.allSatisfy(\.exact),
                horizonCost: callsPerDay * configuration.horizonDays * (buffers + planning)))
        }
        let toCreate = partitionsToCreate(layout)
        let maintenance = Double(toCreate) * configuration.maintenanceSecondsPerPartition * configuration.scanBuffersPerSecond
        let storage = layout.levels.isEmpty ? 0 : Double(layout.leafCount) * Double(1 + statistics.indexes.count) * configuration.storageBuffersPerPartition
        return LayoutCost(layout: layout, classes: classes, workload: classes.reduce(0) { $0 + $1.horizonCost },
                          maintenance: maintenance, partitionsToCreate: toCreate, storage: storage, skew: model.skew)
    }

    /// Range partitions on the time column that start inside the horizon are created as time
    /// passes (by the executor or a scheduler), each a small DDL transaction. A layout without
    /// future partitions on the time column sends new rows to its DEFAULT or last partition.
    func partitionsToCreate(_ layout: PartitionLayout) -> Int {
        guard let now = growth.now, let timeColumn = growth.timeColumn, growth.horizonSeconds > 0 else { return 0 }
        var count = 0
        for level in layout.levels {
            guard case let .range(column, _, partitions, _, _) = level, column == timeColumn else { continue }
            let future = partitions.filter { bound in (bound.lower?.number).map { $0 > now && $0 <= now + growth.horizonSeconds } ?? false }.count
            // Each new partition brings its sub-partitions (the other levels) with it.
            count += future * (layout.leafCount / max(1, level.count))
        }
        return count
    }
}

import Foundation
