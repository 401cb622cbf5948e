/// What the planner knows about a table's data, as plain values (read from PostgreSQL's catalog by
/// `DriftlineTargets`, or built from Driftline's metadata store, or by tests).
public struct TableStatistics: Equatable, Sendable, Codable {
    public var schema: String
    public var table: String
    /// `pg_class.reltuples` summed over partitions.
    public var rows: Double
    /// `pg_class.relpages` summed over partitions (8 KiB heap pages).
    public var pages: Double
    /// Heap, TOAST and index bytes.
    public var totalBytes: Double
    public var columns: [ColumnStatistics]
    /// Btree indexes: their columns in order.
    public var indexes: [[String]]
    /// Columns of primary keys and unique constraints (every one must include the partition key).
    public var uniqueKeys: [[String]]
    public var layout: CurrentLayout

    public init(schema: String = "public", table: String, rows: Double, pages: Double, totalBytes: Double, columns: [ColumnStatistics],
                indexes: [[String]] = [], uniqueKeys: [[String]] = [], layout: CurrentLayout = .unpartitioned) {
        self.schema = schema; self.table = table; self.rows = rows; self.pages = pages; self.totalBytes = totalBytes
        self.columns = columns; self.indexes = indexes; self.uniqueKeys = uniqueKeys; self.layout = layout
    }

    public func column(_ name: String) -> ColumnStatistics? { columns.first { $0.name == name } }

    /// Rows per heap page as the table is stored now (a fresh copy packs about the same).
    public var rowsPerPage: Double { pages > 0 && rows > 0 ? rows / pages : 100 }
}

/// `pg_stats` for one column, with its type.
public struct ColumnStatistics: Equatable, Sendable, Codable {
    public var name: String
    public var type: ColumnType
    public var nullFraction: Double
    /// As in `pg_stats`: positive is a count, negative a fraction of the rows.
    public var distinct: Double
    public var mostCommonValues: [String]
    public var mostCommonFrequencies: [Double]
    public var histogramBounds: [String]
    public var correlation: Double?
    public var averageWidth: Double

    public init(name: String, type: ColumnType, nullFraction: Double = 0, distinct: Double, mostCommonValues: [String] = [],
                mostCommonFrequencies: [Double] = [], histogramBounds: [String] = [], correlation: Double? = nil, averageWidth: Double = 8) {
        self.name = name; self.type = type; self.nullFraction = nullFraction; self.distinct = distinct
        self.mostCommonValues = mostCommonValues; self.mostCommonFrequencies = mostCommonFrequencies
        self.histogramBounds = histogramBounds; self.correlation = correlation; self.averageWidth = averageWidth
    }

    /// Distinct values as a count, given the table's rows.
    public func distinctCount(rows: Double) -> Double {
        max(1, distinct < 0 ? -distinct * rows : distinct)
    }
}

/// The column types the planner reasons about; everything else is `other` (never a partition key).
public enum ColumnType: String, Equatable, Sendable, Codable {
    case integer, numeric, timestamp, date, text, boolean, other

    /// From `format_type(atttypid, atttypmod)`.
    public init(postgresType: String) {
        let type = postgresType.lowercased()
        if ["smallint", "integer", "bigint"].contains(type) { self = .integer }
        else if type.hasPrefix("numeric") || type == "real" || type == "double precision" { self = .numeric }
        else if type.hasPrefix("timestamp") { self = .timestamp }
        else if type == "date" { self = .date }
        else if type == "text" || type.hasPrefix("character") || type.hasPrefix("varchar") { self = .text }
        else if type == "boolean" { self = .boolean }
        else { self = .other }
    }

    /// Ordered types whose values interpolate (range partitioning by time or number).
    public var isNumericAxis: Bool { [.integer, .numeric, .timestamp, .date].contains(self) }
}

/// The table's partitioning today.
public enum CurrentLayout: Equatable, Sendable, Codable {
    case unpartitioned
    case partitioned(PartitionLayout, partitionPages: [Double], partitionRows: [Double])
}
