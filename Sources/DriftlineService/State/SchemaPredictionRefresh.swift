import DriftlineForecast
import DriftlineMetadata
import Foundation

/// A source's predicted next schema version and growth, as computed from its window history.
public struct SourcePrediction: Sendable {
    public var historyWindows: Int
    public var currentVersion: Int
    public var changes: [PredictedChange]
    public var growth: GrowthPrediction?
    /// What was written to the metadata store (kind `schema_prediction`).
    public var stored: SchemaPrediction
}

/// Predicts from the `window_shape` log and stores the result; one implementation for
/// `driftline predict` and the detector's periodic refresh.
public enum SchemaPredictionRefresh {
    public struct NotEnoughHistory: Error, CustomStringConvertible {
        public var have: Int
        public var need: Int
        public var description: String { "\(have) windows of history; at least \(need) are needed" }
    }

    /// `since` bounds how much history is read (the detector passes its last N windows, so the work
    /// per refresh does not grow with the source's age).
    public static func refresh(_ repository: MetadataRepository, source: String, horizon: Int, since: Date? = nil,
                               now: Date = Date()) async throws -> SourcePrediction {
        let records = try await repository.log(WindowShapeRecord.self, kind: MetadataKind.windowShape, source: source, since: since)
        let predictor = SchemaEvolutionPredictor(horizon: horizon)
        guard records.count >= predictor.minimumHistory else { throw NotEnoughHistory(have: records.count, need: predictor.minimumHistory) }
        let history = records.map {
            WindowShape(time: $0.windowStart.timeIntervalSince1970, records: Double($0.records), bytes: Double($0.bytes), presence: $0.presence, types: $0.types)
        }
        let changes = predictor.predict(history)
        let growth = GrowthPrediction(history: history, horizon: horizon)
        let current = try await repository.currentSchema(source)?.version ?? 0
        let prediction = SchemaPrediction(
            predictedVersion: current + 1,
            changes: changes.map {
                SchemaPrediction.Change(path: $0.path, change: $0.kind.rawValue + ($0.type.map { ":\($0)" } ?? ""),
                                        expectedAt: Date(timeIntervalSince1970: $0.expectedAt), confidence: $0.confidence)
            },
            growth: growth.map {
                SchemaPrediction.Growth(windows: $0.windows, records: $0.records, recordsLower95: $0.recordsLower95,
                                        recordsUpper95: $0.recordsUpper95, bytes: $0.bytes)
            },
            historyWindows: history.count, createdAt: now)
        // Compare-and-set; a concurrent writer (a manual `predict` next to the detector) is re-read, not overwritten blindly.
        for attempt in 1... {
            let existing = try await repository.get(SchemaPrediction.self, kind: MetadataKind.schemaPrediction, source: source)
            do {
                _ = try await repository.put(prediction, kind: MetadataKind.schemaPrediction, source: source, expectedVersion: existing?.version)
                break
            } catch {
                guard error.isConflict, attempt < 4 else { throw error }
            }
        }
        return SourcePrediction(historyWindows: history.count, currentVersion: current, changes: changes, growth: growth, stored: prediction)
    }
}
