/// What a raw series (missing values allowed) becomes before fitting.
public struct PreparedSeries: Equatable, Sendable {
    public var values: [Double]
    /// Inner gaps filled by linear interpolation; leading and trailing missing values dropped.
    public var interpolated: Int
    public var dropped: Int
    /// Missing values dropped from the start (`values[0]` is `raw[leading]`).
    public var leading: Int

    /// Fills inner gaps linearly and drops missing ends; infinite values are an error.
    public init(_ raw: [Double?]) throws(ForecastError) {
        for (index, value) in raw.enumerated() {
            if let value, !value.isFinite, !value.isNaN { throw .nonFinite(index: index) }
        }
        let present = raw.map { value -> Double? in value.flatMap { $0.isNaN ? nil : $0 } }
        guard let first = present.firstIndex(where: { $0 != nil }), let last = present.lastIndex(where: { $0 != nil }) else {
            throw .tooShort(needed: 1, got: 0)
        }
        var values: [Double] = []
        var filled = 0
        var previous = (index: first, value: present[first]!)
        for index in first...last {
            if let value = present[index] {
                if index - previous.index > 1 {
                    let step = (value - previous.value) / Double(index - previous.index)
                    for gap in 1..<(index - previous.index) { values.append(previous.value + step * Double(gap)) }
                    filled += index - previous.index - 1
                }
                values.append(value)
                previous = (index, value)
            }
        }
        self.values = values
        interpolated = filled
        dropped = raw.count - (last - first + 1)
        leading = first
    }

    /// `times` cut to the values kept.
    func trimmed(_ times: SeriesTimes) -> SeriesTimes {
        SeriesTimes(observed: Array(times.observed[leading..<(leading + values.count)]), future: times.future)
    }
}

/// The season length with the strongest autocorrelation peak (at least 0.3), or nil when the series
/// shows none. Candidates are 2 through n/3.
public func detectSeasonLength(_ values: [Double], maxLag: Int? = nil) -> Int? {
    let n = values.count
    let limit = min(maxLag ?? n / 3, n / 3)
    guard limit >= 2 else { return nil }
    // Autocorrelation of the differenced series, so a trend does not read as every lag.
    let diffs = zip(values.dropFirst(), values).map { $0 - $1 }
    let mean = diffs.reduce(0, +) / Double(diffs.count)
    let variance = diffs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
    guard variance > 0 else { return nil }
    func acf(_ lag: Int) -> Double {
        var sum = 0.0
        for index in lag..<diffs.count { sum += (diffs[index] - mean) * (diffs[index - lag] - mean) }
        return sum / variance
    }
    let correlations = (0...limit + 1).map { $0 == 0 ? 1 : ($0 < diffs.count ? acf($0) : 0) }
    var best: (lag: Int, value: Double)?
    for lag in 2...limit where correlations[lag] >= 0.3 && correlations[lag] >= correlations[lag - 1] && correlations[lag] >= correlations[lag + 1] {
        if best == nil || correlations[lag] > best!.value + 0.05 { best = (lag, correlations[lag]) }
    }
    return best?.lag
}

/// The centred moving average of length m (2×m for even m, so it stays centred): the trend of a
/// classical decomposition; nil where the window does not fit.
func centredMovingAverage(_ y: [Double], season m: Int) -> [Double?] {
    let half = m / 2
    var trend = [Double?](repeating: nil, count: y.count)
    guard y.count > 2 * half else { return trend }
    for t in half..<(y.count - half) {
        var sum = 0.0
        for j in (t - half)...(t + half) { sum += (m % 2 == 0 && (j == t - half || j == t + half) ? 0.5 : 1) * y[j] }
        trend[t] = sum / Double(m)
    }
    return trend
}
