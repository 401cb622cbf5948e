import DriftlineMetadata
import DriftlineProfiling
import Foundation

/// What a scored window adds to the metadata store: its inferred schema and per-field statistics.
enum WindowMetadata {
    /// Fields seen in the window with the types they took; required when present in every record
    /// (nulls included). A type is listed when it is at least 0.1% of the field's values, so one
    /// stray value does not mint a schema version.
    static func inferredSchema(_ profile: WindowProfile) -> [InferredField] {
        guard profile.recordCount > 0 else { return [] }
        return profile.fields.compactMap { field in
            let total = field.count
            guard total > 0 else { return nil }
            let types = JSONValueType.allCases.filter { type in
                let count = field.count(of: type)
                return count > 0 && Double(count) >= Double(total) * 0.001
            }.map(\.description)
            return InferredField(path: field.path, types: types, required: field.present == profile.recordCount)
        }
    }

    static func statistics(_ profile: WindowProfile, window: Int64) -> [FieldStatistics] {
        profile.fields.map { field in
            let quantiles = field.quantiles?.quantiles([0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1]) ?? []
            let boundaries = field.quantiles?.equiDepthBoundaries(buckets: 10) ?? []
            var frequent: [String: Int64] = [:]
            for entry in (field.frequent?.entries ?? []).sorted(by: { $0.count > $1.count }).prefix(10) { frequent[entry.text] = entry.count }
            return FieldStatistics(
                field: field.path, partition: "window:\(window)", quantiles: quantiles, histogram: boundaries,
                distinctEstimate: field.distinct?.estimate ?? 0, frequentValues: frequent,
                bytes: Int64(field.stringLengths.mean * Double(field.stringLengths.count)))
        }
    }

    static func shape(_ profile: WindowProfile, window: Int64, averageRecordBytes: Double) -> WindowShapeRecord {
        let records = Double(max(profile.recordCount, 1))
        var presence: [String: Double] = [:], types: [String: [String: Double]] = [:]
        for field in profile.fields {
            presence[field.path] = Double(field.present) / records
            let total = Double(max(field.count, 1))
            var shares: [String: Double] = [:]
            for type in JSONValueType.allCases where field.count(of: type) > 0 { shares[type.description] = Double(field.count(of: type)) / total }
            types[field.path] = shares
        }
        return WindowShapeRecord(windowStart: Date(timeIntervalSince1970: Double(window) / 1000), records: profile.recordCount,
                                 bytes: Int64((Double(profile.recordCount) * averageRecordBytes).rounded()), presence: presence, types: types)
    }
}
