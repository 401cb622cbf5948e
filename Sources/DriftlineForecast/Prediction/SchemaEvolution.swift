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

    /// The first step (1-based) at which the series' latest trend is past `threshold`, and the
    /// probability that its level is past it by the horizon's end. The trend is a straight line
    /// through the latest regime (`RecentTrend`): a ramp that has shown no sign of slowing is
    /// carried on as it is (a damped model dated steady ramps 3–4 windows late), noise widens the
    /// line's standard error and so lowers the confidence instead of moving the date, and a step
    /// that levelled off is a flat regime that crosses nothing.
    func crossing(_ series: [Double], threshold: Double, rising: Bool) -> (step: Int, confidence: Double)? {
        guard series.contains(where: { $0 != series[0] }), let trend = RecentTrend(series) else { return nil }
        guard rising ? trend.slope > 0 : trend.slope < 0 else { return nil }
        let last = Double(series.count - 1)
        let crossesAt = (threshold - trend.intercept) / trend.slope
        let step = max(1, Int((crossesAt - last).rounded(.up)))
        guard step <= horizon else { return nil }
        let end = last + Double(horizon)
        let t = (rising ? trend.mean(at: end) - threshold : threshold - trend.mean(at: end)) / max(trend.standardError(at: end), 1e-12)
        return (step, studentCDF(t, degreesOfFreedom: trend.degreesOfFreedom))
    }
}

/// A straight line through a series' latest regime: the series is cut where a line before and a
/// line after fit it better than one line by more than BIC's penalty, repeatedly on the part after
/// the cut, so the line starts where the current trend began (a level shift or a turn ends the old
/// one). Least squares on that regime; the standard error of the line's value (not of one window:
/// the question is where the rate itself is heading).
struct RecentTrend {
    /// The regime's first index in the series.
    var start: Int
    var intercept: Double
    var slope: Double
    var residualVariance: Double
    private var count: Double
    private var meanIndex: Double
    private var indexSpread: Double

    static let minimumRegime = 6

    init?(_ series: [Double]) {
        var start = 0
        while let cut = Self.cut(series, from: start) { start = cut }
        guard series.count - start >= 3 else { return nil }
        let fit = Line(series, start, series.count)
        self.start = start
        intercept = fit.intercept
        slope = fit.slope
        count = fit.count
        meanIndex = fit.meanIndex
        indexSpread = fit.indexSpread
        residualVariance = fit.count > 2 ? fit.squaredError / (fit.count - 2) : 0
    }

    func mean(at index: Double) -> Double { intercept + slope * index }

    /// Of the residual variance: the regime's windows less the line's two parameters.
    var degreesOfFreedom: Double { max(1, count - 2) }

    func standardError(at index: Double) -> Double {
        guard indexSpread > 0 else { return .infinity }
        let distance = index - meanIndex
        return (residualVariance * (1 / count + distance * distance / indexSpread)).squareRoot()
    }

    /// The best cut of `series[from...]` into two lines, if BIC prefers it to one line.
    static func cut(_ series: [Double], from: Int) -> Int? {
        let n = series.count - from
        guard n >= minimumRegime + 3 else { return nil }
        func bic(_ squaredError: Double, parameters: Double) -> Double {
            Double(n) * log(max(squaredError, 1e-12 * Double(n)) / Double(n)) + parameters * log(Double(n))
        }
        let whole = bic(Line(series, from, series.count).squaredError, parameters: 3)
        var best: (index: Int, score: Double)?
        for index in (from + 3)...(series.count - minimumRegime) {
            let split = Line(series, from, index).squaredError + Line(series, index, series.count).squaredError
            let score = bic(split, parameters: 6)
            if score < (best?.score ?? whole) { best = (index, score) }
        }
        return best?.index
    }
}

/// Least squares of `series[start..<end]` on its indices.
private struct Line {
    var intercept = 0.0, slope = 0.0, squaredError = 0.0
    var count: Double, meanIndex = 0.0, indexSpread = 0.0

    init(_ series: [Double], _ start: Int, _ end: Int) {
        count = Double(end - start)
        guard end > start else { return }
        var sumIndex = 0.0, sumValue = 0.0
        for index in start..<end { sumIndex += Double(index); sumValue += series[index] }
        meanIndex = sumIndex / count
        let meanValue = sumValue / count
        var covariance = 0.0
        for index in start..<end {
            let dx = Double(index) - meanIndex
            indexSpread += dx * dx
            covariance += dx * (series[index] - meanValue)
        }
        slope = indexSpread > 0 ? covariance / indexSpread : 0
        intercept = meanValue - slope * meanIndex
        for index in start..<end {
            let residual = series[index] - intercept - slope * Double(index)
            squaredError += residual * residual
        }
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

/// Student's t distribution function through its normal approximation (Abramowitz & Stegun
/// 26.7.8): a line fitted to a short regime estimates its noise from few windows, and the normal
/// distribution would overstate the confidence.
func studentCDF(_ t: Double, degreesOfFreedom nu: Double) -> Double {
    normalCDF(t * (1 - 1 / (4 * nu)) / (1 + t * t / (2 * nu)).squareRoot())
}
