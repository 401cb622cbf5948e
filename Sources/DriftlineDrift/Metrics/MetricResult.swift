/// A drift metric's value, or why it has none (never NaN).
public struct MetricResult: Equatable, Sendable, Codable, CustomStringConvertible {
    public var value: Double?
    /// For statistical tests: the probability of a value at least this extreme with no drift.
    public var pValue: Double?
    public var undefinedReason: String?

    public static func defined(_ value: Double, pValue: Double? = nil) -> MetricResult {
        guard value.isFinite, pValue.map(\.isFinite) ?? true else {
            return .undefined("not finite (\(value))")
        }
        return MetricResult(value: value, pValue: pValue, undefinedReason: nil)
    }

    public static func undefined(_ reason: String) -> MetricResult {
        MetricResult(value: nil, pValue: nil, undefinedReason: reason)
    }

    public var isDefined: Bool { value != nil }

    public var description: String {
        guard let value else { return "undefined (\(undefinedReason ?? "?"))" }
        if let pValue { return "\(value) (p = \(pValue))" }
        return "\(value)"
    }
}
