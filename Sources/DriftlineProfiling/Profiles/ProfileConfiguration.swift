/// What a window profile tracks and how precisely. Memory per window is bounded by
/// `maxFields` × (HyperLogLog 2^hllPrecision bytes + KLL ~3·quantileK doubles +
/// frequentValues × (maxValueBytes + 36) bytes), never by the number of records.
public struct ProfileConfiguration: Sendable, Equatable, Codable {
    /// Fields tracked per window; leaves of further fields count as overflow.
    public var maxFields: Int = 256
    /// KLL parameter: rank error about 2.3 / k^0.97 (k = 200: 1.33%).
    public var quantileK: Int = 200
    /// HyperLogLog precision: standard error 1.04 / √(2^p) (p = 14: 0.81%).
    public var hllPrecision: Int = 14
    /// Counters kept for frequent values; any value above 1/frequentValues of the field's values is kept.
    public var frequentValues: Int = 64
    /// Bytes of each frequent value kept for display (longer values are truncated, not dropped).
    public var maxValueBytes: Int = 48
    public var scanner: ScannerSettings = ScannerSettings()

    public struct ScannerSettings: Sendable, Equatable, Codable {
        public var maxDepth: Int = 64
        public var maxLeaves: Int = 4096
        public var maxPathBytes: Int = 512
        public var profileArrayElements: Bool = true
        public init() {}
    }

    public init() {}

    public func validate() throws(ProfileConfigurationError) {
        if maxFields < 1 || maxFields > 1 << 20 { throw .invalid("maxFields", "must be in 1...1048576") }
        if quantileK < 8 || quantileK > 65_536 { throw .invalid("quantileK", "must be in 8...65536") }
        if !(4...18).contains(hllPrecision) { throw .invalid("hllPrecision", "must be in 4...18") }
        if frequentValues < 1 || frequentValues > 65_536 { throw .invalid("frequentValues", "must be in 1...65536") }
        if maxValueBytes < 1 || maxValueBytes > 65_536 { throw .invalid("maxValueBytes", "must be in 1...65536") }
        if scanner.maxDepth < 1 { throw .invalid("scanner.maxDepth", "must be positive") }
        if scanner.maxLeaves < 1 { throw .invalid("scanner.maxLeaves", "must be positive") }
        if scanner.maxPathBytes < 1 { throw .invalid("scanner.maxPathBytes", "must be positive") }
    }

    public var scannerOptions: ScannerOptions {
        var options = ScannerOptions()
        options.maxDepth = scanner.maxDepth
        options.maxLeaves = scanner.maxLeaves
        options.maxPathBytes = scanner.maxPathBytes
        options.profileArrayElements = scanner.profileArrayElements
        return options
    }

    /// Sketch parameters must agree for two profiles to merge.
    public func isMergeable(with other: ProfileConfiguration) -> Bool {
        quantileK == other.quantileK && hllPrecision == other.hllPrecision
            && frequentValues == other.frequentValues && maxValueBytes == other.maxValueBytes
    }
}

public enum ProfileConfigurationError: Error, Equatable, CustomStringConvertible {
    case invalid(String, String)
    case notMergeable(String)

    public var description: String {
        switch self {
        case let .invalid(key, reason): "invalid profile configuration '\(key)': \(reason)"
        case let .notMergeable(reason): "profiles cannot be merged: \(reason)"
        }
    }
}
