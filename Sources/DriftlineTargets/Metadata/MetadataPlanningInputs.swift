import DriftlineMetadata
import DriftlinePlanning
import Foundation

/// What the detector knows about the source that feeds a table, as planner inputs: growth per day
/// (the stored growth prediction, else the recent record rate), where categories are heading (a
/// linear trend of each frequent value's share over recent windows), and, when no catalog is
/// available, table statistics built from the per-field window statistics.
public struct MetadataPlanningInputs: Sendable {
    public var growthRowsPerDay: Double?
    public var categoryForecast: [String: [String: Double]]
    public var statistics: TableStatistics?
    public var notes: [String]

    /// Windows of history read (the work does not grow with the source's age).
    static let historyWindows = 96

    public static func read(_ repository: MetadataRepository, source: String, table: String, catalog: TableStatistics?,
                            horizonDays: Double) async throws -> MetadataPlanningInputs {
        var notes: [String] = []
        let shapes = Array(try await repository.log(WindowShapeRecord.self, kind: MetadataKind.windowShape, source: source).suffix(historyWindows))
        let windowSeconds = Self.windowSeconds(shapes)
        var growth: Double?
        if let prediction = try await repository.get(SchemaPrediction.self, kind: MetadataKind.schemaPrediction, source: source)?.value.growth,
           let windowSeconds, prediction.windows > 0 {
            growth = prediction.records / (Double(prediction.windows) * windowSeconds) * 86_400
        } else if let windowSeconds, !shapes.isEmpty {
            growth = Double(shapes.reduce(0) { $0 + $1.records }) / Double(shapes.count) / windowSeconds * 86_400
            notes.append("growth of \(source): its recent record rate (no growth prediction stored; `driftline predict` makes one)")
        } else {
            notes.append("the metadata store has no window history for \(source): no growth forecast")
        }

        let statistics = Array(try await repository.log(FieldStatistics.self, kind: MetadataKind.statistics, source: source)
            .suffix(historyWindows * 64))
        let records = Dictionary(shapes.map { ("window:\(Int64(($0.windowStart.timeIntervalSince1970 * 1000).rounded()))", Double($0.records)) },
                                 uniquingKeysWith: { first, _ in first })
        let columnNames = Set(catalog?.columns.map(\.name) ?? [])
        var byColumn: [String: [(window: String, stats: FieldStatistics)]] = [:]
        for entry in statistics {
            let column = Self.column(entry.field)
            if catalog == nil || columnNames.contains(column) { byColumn[column, default: []].append((entry.partition, entry)) }
        }
        var forecast: [String: [String: Double]] = [:]
        let horizonWindows = windowSeconds.map { horizonDays * 86_400 / $0 } ?? 0
        for (column, series) in byColumn where horizonWindows > 0 {
            if let catalog, let type = catalog.column(column)?.type, type != .text, type != .integer { continue }
            let shares = Self.shareForecast(series, records: records, ahead: horizonWindows / 2)
            if !shares.isEmpty { forecast[column] = shares }
        }
        return MetadataPlanningInputs(
            growthRowsPerDay: growth, categoryForecast: forecast,
            statistics: catalog == nil ? Self.tableStatistics(table: table, shapes: shapes, latest: byColumn) : nil, notes: notes)
    }

    /// The median spacing of window starts.
    static func windowSeconds(_ shapes: [WindowShapeRecord]) -> Double? {
        let starts = shapes.map(\.windowStart.timeIntervalSince1970).sorted()
        let gaps = zip(starts.dropFirst(), starts).map { $0 - $1 }.filter { $0 > 0 }.sorted()
        return gaps.isEmpty ? nil : gaps[gaps.count / 2]
    }

    /// `payload.category` → `category`: the table column a field lands in.
    static func column(_ path: String) -> String {
        String(path.split(separator: ".").last ?? Substring(path))
    }

    /// Each frequent value's share of its window's records, extrapolated linearly `ahead` windows
    /// past the last one; values under 1% are left out, and shares are scaled to sum to at most 1.
    static func shareForecast(_ series: [(window: String, stats: FieldStatistics)], records: [String: Double], ahead: Double) -> [String: Double] {
        let windows = series.compactMap { entry in records[entry.window].map { (entry.stats, $0) } }
        guard windows.count >= 3 else { return [:] }
        let values = Set(windows.flatMap { $0.0.frequentValues.keys })
        var result: [String: Double] = [:]
        for value in values {
            let points = windows.enumerated().map { (Double($0.offset), Double($0.element.0.frequentValues[value] ?? 0) / max(1, $0.element.1)) }
            let n = Double(points.count)
            let meanX = points.reduce(0) { $0 + $1.0 } / n, meanY = points.reduce(0) { $0 + $1.1 } / n
            let sxx = points.reduce(0) { $0 + ($1.0 - meanX) * ($1.0 - meanX) }
            let slope = sxx > 0 ? points.reduce(0) { $0 + ($1.0 - meanX) * ($1.1 - meanY) } / sxx : 0
            let share = min(1, max(0, meanY + slope * (Double(points.count - 1) - meanX + ahead)))
            if share >= 0.01 { result[value] = share }
        }
        let total = result.values.reduce(0, +)
        return total > 1 ? result.mapValues { $0 / total } : result
    }

    /// Statistics for a table known only through the detector: rows and bytes are everything the
    /// source delivered in the windows read; numbers get their equi-depth boundaries as a histogram.
    static func tableStatistics(table: String, shapes: [WindowShapeRecord], latest: [String: [(window: String, stats: FieldStatistics)]]) -> TableStatistics? {
        guard !shapes.isEmpty, !latest.isEmpty else { return nil }
        let rows = Double(shapes.reduce(0) { $0 + $1.records })
        let bytes = Double(shapes.reduce(0) { $0 + $1.bytes })
        var columns: [ColumnStatistics] = []
        for (column, series) in latest.sorted(by: { $0.key < $1.key }) {
            guard let last = series.last?.stats else { continue }
            let windowRecords = Double(shapes.last?.records ?? 1)
            let frequent = last.frequentValues.sorted { $0.value > $1.value }
            let numeric = !last.histogram.isEmpty
            columns.append(ColumnStatistics(
                name: column, type: numeric ? .numeric : .text, distinct: max(1, last.distinctEstimate),
                mostCommonValues: numeric ? [] : frequent.map(\.key),
                mostCommonFrequencies: numeric ? [] : frequent.map { Double($0.value) / max(1, windowRecords) },
                histogramBounds: last.histogram.map { String($0) }, correlation: nil, averageWidth: 8))
        }
        return TableStatistics(table: table, rows: rows, pages: max(1, (bytes / 8192).rounded(.up)), totalBytes: bytes, columns: columns)
    }
}
