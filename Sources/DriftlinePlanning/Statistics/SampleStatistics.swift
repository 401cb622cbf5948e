/// A column's statistics estimated from a row sample the way PostgreSQL's ANALYZE does
/// (`compute_scalar_stats`): null fraction, distinct count by the Haas–Stokes Duj1 estimator,
/// most common values, an equi-depth histogram of the rest, and the correlation between the rows'
/// physical order and their values' order. For stores without a planner catalog (SQLite).
public enum SampleStatistics {
    /// PostgreSQL's default statistics target: at most this many common values and histogram buckets.
    public static let target = 100

    /// `values`: the sampled rows' values in physical (rowid) order, nil for NULL; `tableRows`:
    /// the table's row count the sample came from.
    public static func column(name: String, type: ColumnType, values: [String?], tableRows: Double, averageWidth: Double) -> ColumnStatistics {
        let present = values.enumerated().compactMap { item in item.element.map { (position: item.offset, text: $0) } }
        let sampled = Double(values.count)
        let nullFraction = sampled > 0 ? Double(values.count - present.count) / sampled : 0
        guard !present.isEmpty else { return ColumnStatistics(name: name, type: type, nullFraction: nullFraction, distinct: 0, averageWidth: averageWidth) }

        var counts: [String: Int] = [:]
        for value in present { counts[value.text, default: 0] += 1 }
        let n = Double(present.count), d = Double(counts.count)
        let singletons = Double(counts.values.filter { $0 == 1 }.count)
        let nonNullRows = max(n, tableRows * (1 - nullFraction))
        let distinct: Double
        if singletons == n {
            distinct = -1 * (1 - nullFraction)  // every sampled value unique: assume a unique column
        } else if singletons == 0 || n >= nonNullRows {
            distinct = d  // every value seen at least twice (or the whole table sampled): all of them were found
        } else {
            let estimate = min(nonNullRows, max(d, n * d / (n - singletons + singletons * n / nonNullRows)))
            distinct = estimate > 0.1 * tableRows ? -estimate / max(1, tableRows) : estimate.rounded()
        }

        // Common values: seen more than once and clearly above the average count; all of them when
        // the sample holds every distinct value and they fit.
        let ordered = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        let allFound = distinct > 0 && distinct == d && counts.count <= target
        let average = n / d
        let common = allFound ? ordered : Array(ordered.prefix(target).filter { $0.value > 1 && Double($0.value) >= 1.25 * average })
        let commonSet = Set(common.map(\.key))
        let mostCommonValues = common.map(\.key)
        let mostCommonFrequencies = common.map { Double($0.value) / sampled }

        // The histogram: the other values in their order, cut into equal counts.
        let scalar = { (text: String) -> Scalar in Scalar(text, type: type) ?? .text(text) }
        let rest = present.filter { !commonSet.contains($0.text) }.map { (scalar($0.text), $0.text) }.sorted { $0.0 < $1.0 }
        var histogram: [String] = []
        if rest.count >= 2 {
            let buckets = min(target, rest.count - 1)
            for bucket in 0...buckets { histogram.append(rest[bucket * (rest.count - 1) / buckets].1) }
        }

        // Correlation of physical position with value rank (PostgreSQL's `correlation`).
        let ranked = present.map { (scalar($0.text), $0.position) }.sorted { $0.0 < $1.0 }
        var correlation: Double?
        if ranked.count >= 2 {
            let m = Double(ranked.count)
            let positions = ranked.map { Double($0.1) }
            let meanRank = (m - 1) / 2, meanPosition = positions.reduce(0, +) / m
            var covariance = 0.0, rankVariance = 0.0, positionVariance = 0.0
            for (rank, position) in positions.enumerated() {
                let r = Double(rank) - meanRank, p = position - meanPosition
                covariance += r * p; rankVariance += r * r; positionVariance += p * p
            }
            correlation = rankVariance > 0 && positionVariance > 0 ? covariance / (rankVariance * positionVariance).squareRoot() : nil
        }
        return ColumnStatistics(name: name, type: type, nullFraction: nullFraction, distinct: distinct,
                                mostCommonValues: mostCommonValues, mostCommonFrequencies: mostCommonFrequencies,
                                histogramBounds: histogram, correlation: correlation, averageWidth: averageWidth)
    }
}

extension ColumnType {
    /// From a SQLite column's declared type: its affinity rules (`INT` → integer; `CHAR`, `CLOB`,
    /// `TEXT` → text; `REAL`, `FLOA`, `DOUB`, `NUMERIC`, `DECIMAL` → numeric), with the names people
    /// declare times and flags by (`TIMESTAMP`, `DATETIME`, `DATE`, `BOOLEAN`) read as those.
    public init(sqliteType: String) {
        let type = sqliteType.uppercased()
        if type.contains("TIMESTAMP") || type.contains("DATETIME") { self = .timestamp }
        else if type == "DATE" { self = .date }
        else if type.hasPrefix("BOOL") { self = .boolean }
        else if type.contains("INT") { self = .integer }
        else if type.contains("CHAR") || type.contains("CLOB") || type.contains("TEXT") { self = .text }
        else if ["REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL"].contains(where: type.contains) { self = .numeric }
        else { self = .other }
    }
}
