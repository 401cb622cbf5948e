import DriftlineProfiling

/// Violations of a declared schema in the current window, counted from the profile: types and
/// required-ness exactly; enum and range violations estimated from the sketches.
public struct SchemaViolations: Equatable, Sendable, Codable {
    /// Values of a type the schema does not allow.
    public var type: Int64
    /// Records without a required field.
    public var required: Int64
    /// Values outside `enum` (from frequent values; values the summary did not track are not counted).
    public var enumeration: Int64
    /// Numbers below `minimum` or above `maximum` (from the quantile sketch).
    public var range: Int64

    public var total: Int64 { type + required + enumeration + range }

    init(field: FieldProfile?, declared: DeclaredSchema.Field, records: Int64) {
        guard let field else {
            type = 0
            enumeration = 0
            range = 0
            required = declared.required ? records : 0
            return
        }
        type = declared.types.isEmpty ? 0 : JSONValueType.allCases.filter { !declared.types.contains($0) }.reduce(Int64(0)) { $0 + field.count(of: $1) }
        required = declared.required ? records - field.present : 0
        if let allowed = declared.allowedValues, let frequent = field.frequent {
            enumeration = frequent.entries.filter { !allowed.contains($0.text) }.reduce(Int64(0)) { $0 + $1.count - $1.error }
        } else {
            enumeration = 0
        }
        var outside = 0.0
        if let sketch = field.quantiles, sketch.count > 0 {
            if let minimum = declared.minimum { outside += sketch.rank(minimum, inclusive: false) * Double(sketch.count) }
            if let maximum = declared.maximum { outside += (1 - sketch.rank(maximum)) * Double(sketch.count) }
        }
        range = Int64(outside.rounded())
    }
}

/// Whether a field exists in each window.
public enum FieldStatus: String, Equatable, Sendable, Codable {
    case present, added, removed
    /// Declared in the schema but seen in neither window.
    case absent
}

/// Everything that moved for one field between a reference and a current window.
public struct FieldDrift: Equatable, Sendable, Codable {
    public var path: String
    public var status: FieldStatus
    public var schema: SchemaDrift
    /// When either window has numbers.
    public var numeric: NumericDrift?
    /// When either window has strings or booleans.
    public var categorical: CategoricalDrift?
    /// With a declared schema that describes this field.
    public var violations: SchemaViolations?
}

/// A reference window compared with a current one, field by field.
public struct DriftComparison: Equatable, Sendable, Codable {
    public var referenceRecords: Int64
    public var currentRecords: Int64
    public var fields: [FieldDrift]
    /// Fields of the current window the declared schema does not mention.
    public var undeclaredFields: [String]

    public var addedFields: [String] { fields.filter { $0.status == .added }.map(\.path) }
    public var removedFields: [String] { fields.filter { $0.status == .removed }.map(\.path) }

    public func field(_ path: String) -> FieldDrift? { fields.first { $0.path == path } }

    public init(reference: WindowProfile, current: WindowProfile, schema: DeclaredSchema? = nil) {
        referenceRecords = reference.recordCount
        currentRecords = current.recordCount
        let paths = Set(reference.fields.map(\.path)).union(current.fields.map(\.path)).union(schema?.fields.keys.map { $0 } ?? []).sorted()
        fields = paths.map { path in
            let r = reference.field(path).flatMap { $0.present > 0 ? $0 : nil }
            let c = current.field(path).flatMap { $0.present > 0 ? $0 : nil }
            let status: FieldStatus = switch (r, c) {
            case (nil, .some): .added
            case (.some, nil): .removed
            case (.some, .some): .present
            case (nil, nil): .absent
            }
            let hasNumbers = (r?.numbers.count ?? 0) > 0 || (c?.numbers.count ?? 0) > 0
            let hasCategories = (r?.frequent?.total ?? 0) > 0 || (c?.frequent?.total ?? 0) > 0
            // A field seen on one side is compared with an empty profile of the other window.
            return FieldDrift(
                path: path, status: status,
                schema: SchemaDrift(reference: r, referenceRecords: reference.recordCount, current: c, currentRecords: current.recordCount),
                numeric: hasNumbers ? NumericDrift(reference: r ?? reference.emptyField(), current: c ?? current.emptyField()) : nil,
                categorical: hasCategories ? CategoricalDrift(reference: r ?? reference.emptyField(), current: c ?? current.emptyField()) : nil,
                violations: schema?.fields[path].map { SchemaViolations(field: c, declared: $0, records: current.recordCount) }
            )
        }
        if let schema {
            undeclaredFields = current.fields.filter { $0.present > 0 && schema.fields[$0.path] == nil }.map(\.path)
        } else {
            undeclaredFields = []
        }
    }
}

extension FieldDrift {
    /// The metric values that summarize this field's drift, by name (only defined ones): what drift
    /// events carry and what reports show.
    public var headlineMetrics: [String: Double] {
        var result: [String: Double] = [:]
        if let n = numeric {
            result["psi"] = n.psi.value
            result["jensen_shannon"] = n.jensenShannon.value
            result["ks"] = n.kolmogorovSmirnov.value
            result["ks_p_value"] = n.kolmogorovSmirnov.pValue
            result["wasserstein"] = n.wasserstein.value
            result["mean_shift_z"] = n.meanShift.value
            result["variance_shift_z"] = n.varianceShift.value
            result["unseen_values"] = n.unseenValues.value
        }
        if let c = categorical {
            result["category_psi"] = c.psi.value
            result["category_jensen_shannon"] = c.jensenShannon.value
            result["chi_square"] = c.chiSquare.value
            result["chi_square_p_value"] = c.chiSquare.pValue
        }
        result["type_change"] = schema.typeChange.value
        return result
    }
}
