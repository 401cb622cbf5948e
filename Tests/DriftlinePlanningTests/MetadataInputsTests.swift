import DriftlineMetadata
import DriftlinePlanning
import DriftlineTargets
import Foundation
import Testing

/// The detector's history in a metadata store (SQLite) as planner inputs.
@Suite struct MetadataInputsTests {
    /// 48 ten-minute windows of 1,000 records; `category` = a/b/c with `d` rising from 0 to ~47%.
    func store() async throws -> (MetadataRepository, any MetadataStore, URL) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("planner-metadata-\(UUID().uuidString).sqlite")
        let store = try await MetadataStores.open(file.path)
        try await store.migrate()
        let repository = MetadataRepository(store: store)
        let start = Date(timeIntervalSince1970: 1_767_225_600)
        for window in 0..<48 {
            let time = start.addingTimeInterval(Double(window) * 600)
            let d = Int64(window * 10)
            _ = try await repository.append(WindowShapeRecord(windowStart: time, records: 1000, bytes: 90_000, presence: ["payload.category": 1], types: [:]),
                                            kind: MetadataKind.windowShape, source: "orders", at: time)
            let statistics = FieldStatistics(field: "payload.category", partition: "window:\(Int64(time.timeIntervalSince1970 * 1000))",
                                             quantiles: [], histogram: [], distinctEstimate: d > 0 ? 4 : 3,
                                             frequentValues: ["a": 500 - d / 2, "b": 300 - d / 4, "c": 200 - d / 4, "d": d].filter { $0.value > 0 }, bytes: 1000)
            _ = try await repository.append(statistics, kind: MetadataKind.statistics, source: "orders", at: time)
        }
        return (repository, store, file)
    }

    @Test func growthAndCategoryForecastFromTheDetectorsHistory() async throws {
        let (repository, store, file) = try await store()
        defer { try? FileManager.default.removeItem(at: file) }  // a temporary file
        let catalog = TableStatistics(table: "orders", rows: 48_000, pages: 600, totalBytes: 4_800_000, columns: [
            ColumnStatistics(name: "category", type: .text, distinct: 4, mostCommonValues: ["a", "b", "c"], mostCommonFrequencies: [0.45, 0.28, 0.18]),
        ])
        let inputs = try await MetadataPlanningInputs.read(repository, source: "orders", table: "orders", catalog: catalog, horizonDays: 1)
        // No stored growth prediction: the recent rate, 1,000 records per 10 minutes.
        #expect(inputs.growthRowsPerDay == 144_000)
        #expect(inputs.notes.contains { $0.contains("recent record rate") })
        let forecast = try #require(inputs.categoryForecast["category"])
        // d's share rises 1% a window; over the next day (144 windows, 72 on average) it dominates.
        #expect((forecast["d"] ?? 0) > 0.5)
        // a falls half a percent a window: gone from the forecast (under 1%) or well below its 45%.
        #expect((forecast["a"] ?? 0) < 0.45)
        #expect(forecast.values.reduce(0, +) <= 1 + 1e-9)

        // A stored growth prediction wins over the recent rate.
        let prediction = SchemaPrediction(predictedVersion: 2, changes: [], growth: .init(windows: 24, records: 12_000, recordsLower95: 10_000, recordsUpper95: 14_000, bytes: 1e6))
        _ = try await repository.put(prediction, kind: MetadataKind.schemaPrediction, source: "orders", expectedVersion: nil)
        let predicted = try await MetadataPlanningInputs.read(repository, source: "orders", table: "orders", catalog: catalog, horizonDays: 1)
        #expect(predicted.growthRowsPerDay == 12_000.0 / (24 * 600) * 86_400)

        // Without a catalog, statistics come from the detector's fields.
        let alone = try await MetadataPlanningInputs.read(repository, source: "orders", table: "orders", catalog: nil, horizonDays: 1)
        let statistics = try #require(alone.statistics)
        #expect(statistics.rows == 48_000)
        // The latest window's most common value: d (470 of 1,000).
        #expect(statistics.column("category")?.mostCommonValues.first == "d")
        #expect(statistics.column("category")?.mostCommonFrequencies.first == 0.47)
        await store.close()
    }
}
