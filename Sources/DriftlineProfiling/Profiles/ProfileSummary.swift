/// A readable, serializable digest of a window profile (for `driftline profile` and reports).
public struct ProfileSummary: Codable, Sendable, Equatable {
    public var records: Int64
    public var malformed: Int64
    public var malformedByReason: [String: Int64]
    public var firstEventTime: Int64?
    public var lastEventTime: Int64?
    public var overflowLeaves: Int64
    public var overflowFieldsEstimate: Double
    public var fields: [Field]

    public struct Field: Codable, Sendable, Equatable {
        public var path: String
        public var present: Int64
        public var absent: Int64
        public var nulls: Int64
        /// Values per observed type, only types that occurred.
        public var types: [String: Int64]
        public var numeric: Numeric?
        public var distinctEstimate: Double?
        public var topValues: [TopValue]?
        public var stringLength: Moments?
        public var arrayLength: Moments?
        public var arrayElementTypes: [String: Int64]?
    }

    public struct Numeric: Codable, Sendable, Equatable {
        public var count: Int64
        public var mean: Double
        public var standardDeviation: Double?
        public var min: Double
        public var max: Double
        /// p1, p5, p25, p50, p75, p95, p99 from the quantile sketch.
        public var quantiles: [String: Double]
        public var quantileRankError: Double
    }

    public struct Moments: Codable, Sendable, Equatable {
        public var mean: Double
        public var min: Double
        public var max: Double
    }

    public struct TopValue: Codable, Sendable, Equatable {
        public var value: String
        public var count: Int64
        /// How much `count` may overstate the true count.
        public var error: Int64
    }

    public init(_ profile: WindowProfile, topValues: Int = 5) {
        records = profile.recordCount
        malformed = profile.malformedCount
        malformedByReason = Dictionary(uniqueKeysWithValues: profile.malformedByReason.map { ($0.key.rawValue, $0.value) })
        firstEventTime = profile.firstEventTime
        lastEventTime = profile.lastEventTime
        overflowLeaves = profile.overflowLeaves
        overflowFieldsEstimate = profile.overflowLeaves == 0 ? 0 : profile.overflowFields.estimate
        fields = profile.fields.map { field in
            var types: [String: Int64] = [:]
            for type in JSONValueType.allCases where field.count(of: type) > 0 { types[type.description] = field.count(of: type) }
            let levels: [(String, Double)] = [("p1", 0.01), ("p5", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95), ("p99", 0.99)]
            let numeric: Numeric? = field.quantiles.map { sketch in
                let values = sketch.quantiles(levels.map(\.1)) ?? []
                return Numeric(
                    count: field.numbers.count, mean: field.numbers.mean, standardDeviation: field.numbers.standardDeviation,
                    min: field.numbers.min, max: field.numbers.max,
                    quantiles: Dictionary(uniqueKeysWithValues: zip(levels.map(\.0), values).map { ($0, $1) }),
                    quantileRankError: sketch.rankErrorBound
                )
            }
            func moments(_ m: RunningMoments) -> Moments? { m.count == 0 ? nil : Moments(mean: m.mean, min: m.min, max: m.max) }
            var elementTypes: [String: Int64]?
            if field.count(of: .array) > 0 {
                elementTypes = [:]
                for type in JSONValueType.allCases where field.arrayElementTypes[Int(type.rawValue)] > 0 {
                    elementTypes![type.description] = field.arrayElementTypes[Int(type.rawValue)]
                }
            }
            return Field(
                path: field.path, present: field.present, absent: profile.absent(field), nulls: field.nulls, types: types,
                numeric: numeric, distinctEstimate: field.distinct?.estimate,
                topValues: field.frequent.map { $0.entries.prefix(topValues).map { TopValue(value: $0.text, count: $0.count, error: $0.error) } },
                stringLength: moments(field.stringLengths), arrayLength: moments(field.arrayLengths), arrayElementTypes: elementTypes
            )
        }
    }
}
