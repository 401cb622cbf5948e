import Foundation

/// One window's shape: how often each field was present and which JSON types its values took.
public struct WindowShape: Sendable, Equatable {
    /// Window start, in seconds since 1970.
    public var time: Double
    public var records: Double
    public var bytes: Double
    /// Field → fraction of records in which it was present.
    public var presence: [String: Double]
    /// Field → type → share of the field's values.
    public var types: [String: [String: Double]]

    public init(time: Double, records: Double, bytes: Double, presence: [String: Double], types: [String: [String: Double]]) {
        self.time = time
        self.records = records
        self.bytes = bytes
        self.presence = presence
        self.types = types
    }
}

/// A predicted schema change: a field expected to appear, vanish or change its dominant type.
public struct PredictedChange: Sendable, Equatable {
    public enum Kind: String, Sendable { case appear, vanish, changeType = "change_type" }
    public var path: String
    public var kind: Kind
    /// For a type change: the type expected to dominate.
    public var type: String?
    /// Seconds since 1970 when the forecast crosses the threshold.
    public var expectedAt: Double
    /// Probability, under the forecast's normal approximation, that the threshold is crossed by the
    /// end of the horizon.
    public var confidence: Double
}

/// Forecasts each field's presence rate and type shares window by window and reports the ones that
/// cross a threshold within the horizon: presence rising through `appearAt` (a field joining the
/// schema), falling through `vanishAt`, a type's share rising through `dominantAt`.
public struct SchemaEvolutionPredictor: Sendable {
    public var horizon: Int
    public var appearAt = 0.5
    public var vanishAt = 0.05
    public var dominantAt = 0.5
    /// Fewer windows of history than this: no prediction.
    public var minimumHistory = 8

    public init(horizon: Int = 24) { self.horizon = horizon }

    public func predict(_ history: [WindowShape]) -> [PredictedChange] {
        let windows = history.sorted { $0.time < $1.time }
        guard windows.count >= minimumHistory, let last = windows.last else { return [] }
        let step = windows.count > 1 ? (last.time - windows[0].time) / Double(windows.count - 1) : 0
        let fields = Set(windows.flatMap { $0.presence.keys })
        var changes: [PredictedChange] = []
        for field in fields.sorted() {
            let presence = windows.map { $0.presence[field] ?? 0 }
            let current = presence.last ?? 0
            if current < appearAt, let crossing = crossing(presence, threshold: appearAt, rising: true) {
                changes.append(PredictedChange(path: field, kind: .appear, type: nil, expectedAt: last.time + step * Double(crossing.step), confidence: crossing.confidence))
            } else if current > vanishAt, let crossing = crossing(presence, threshold: vanishAt, rising: false) {
                changes.append(PredictedChange(path: field, kind: .vanish, type: nil, expectedAt: last.time + step * Double(crossing.step), confidence: crossing.confidence))
            }
            let typeNames = Set(windows.flatMap { ($0.types[field] ?? [:]).keys })
            for type in typeNames.sorted() {
                let share = windows.map { $0.types[field]?[type] ?? 0 }
                guard (share.last ?? 0) < dominantAt, let crossing = crossing(share, threshold: dominantAt, rising: true) else { continue }
                changes.append(PredictedChange(path: field, kind: .changeType, type: type, expectedAt: last.time + step * Double(crossing.step), confidence: crossing.confidence))
            }
        }
        return changes
    }

    /// The first forecast step (1-based) whose mean is past `threshold`, and the probability of being
    /// past it at the horizon's end.
    func crossing(_ series: [Double], threshold: Double, rising: Bool) -> (step: Int, confidence: Double)? {
        guard series.contains(where: { $0 != series[0] }) else { return nil }
        // A rate's drift is what matters here; the trend models (damped or not) carry it forward.
        guard let result = try? Forecaster.forecast(series.map { $0 }, horizon: horizon, method: .ets) else { return nil }
        let forecast = result.forecast
        guard let step = forecast.mean.firstIndex(where: { rising ? $0 >= threshold : $0 <= threshold }) else { return nil }
        let end = forecast.mean.count - 1
        let sd = max((forecast.upper95[end] - forecast.lower95[end]) / (2 * 1.959963984540054), 1e-9)
        let z = (rising ? forecast.mean[end] - threshold : threshold - forecast.mean[end]) / sd
        return (step + 1, normalCDF(z))
    }
}

/// Records and bytes a source will add over the next windows (what the table it feeds grows by).
public struct GrowthPrediction: Sendable, Equatable {
    public var windows: Int
    public var records: Double
    public var recordsLower95: Double
    public var recordsUpper95: Double
    public var bytes: Double

    /// Forecasts records per window, sums the horizon; bytes at the history's average record size.
    /// The summed 95% bounds are conservative (errors of successive windows are not independent).
    public init?(history: [WindowShape], horizon: Int) {
        let windows = history.sorted { $0.time < $1.time }
        guard windows.count >= 3, horizon >= 1,
              let result = try? Forecaster.forecast(windows.map { $0.records }, horizon: horizon, method: .auto) else { return nil }
        let forecast = result.forecast
        self.windows = horizon
        records = forecast.mean.reduce(0) { $0 + max($1, 0) }
        recordsLower95 = forecast.lower95.reduce(0) { $0 + max($1, 0) }
        recordsUpper95 = forecast.upper95.reduce(0) { $0 + max($1, 0) }
        let totalRecords = windows.reduce(0) { $0 + $1.records }
        let averageSize = totalRecords > 0 ? windows.reduce(0) { $0 + $1.bytes } / totalRecords : 0
        bytes = records * averageSize
    }
}

func normalCDF(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }
