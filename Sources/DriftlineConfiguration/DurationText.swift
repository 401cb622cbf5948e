/// Durations in configuration files and on the command line: `500ms`, `10s`, `5m`, `1h`, `30d`.
public enum DurationText {
    /// Milliseconds, or nil when `text` is not a whole non-negative number with one of the units.
    public static func milliseconds(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let value = Int64(text.dropLast(suffix.count)), value >= 0 else { return nil }
            let (product, overflow) = value.multipliedReportingOverflow(by: scale)
            return overflow ? nil : product
        }
        return nil
    }
}

extension Duration {
    /// Whole milliseconds, rounded towards zero (what librdkafka, SQL timeouts and stores take).
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
