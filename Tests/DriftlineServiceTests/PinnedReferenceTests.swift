import DriftlineMessages
import DriftlineMetadata
import DriftlineService
import Foundation
import DriftlineTestSupport
import Testing

/// A reference pinned with `driftline metadata pin-reference` is what every window is compared with:
/// no warm-up windows, and the drift still raises the source alert.
@Suite(.timeLimit(.minutes(10)))
struct PinnedReferenceTests {
    @Test func everyWindowIsScoredAgainstThePinnedReference() async throws {
        let harness = try Harness()
        try harness.produce()
        let sample = harness.directory.appendingPathComponent("baseline.jsonl")
        var lines = Data()
        for record in harness.records.prefix(5_000) { lines += Data(record.bytes) + Data("\n".utf8) }
        try lines.write(to: sample)
        let pin = ["metadata", "pin-reference", "--store", harness.storePath, "--source", Harness.source, "--name", "baseline", "--input", sample.path]
        let pinned = try await runDriftline(pin)
        #expect(pinned.status == 0, "\(pinned.err)")
        #expect(pinned.out.contains("pinned reference 'baseline' for orders: 5000 records"), "\(pinned.out)")
        let again = try await runDriftline(pin)
        #expect(again.status != 0 && again.err.contains("exists; pass --replace"), "\(again.err)")
        #expect(try await runDriftline(pin + ["--replace"]).status == 0)

        var configuration = harness.configuration()
        configuration.reference = .pinned(name: "baseline")
        let released = try harness.expected().released
        let service = DetectorService(configuration: configuration, logger: Harness.logger)
        let running = Task { try await service.run() }
        try await Harness.wait(seconds: 240, "\(released) windows scored") { service.status.snapshot.windowsScored >= released }
        service.status.requestStop()
        try await running.value

        let store = try await MetadataStores.open(harness.storePath)
        let scores = try await MetadataRepository(store: store).log(WindowScoreRecord.self, kind: MetadataKind.windowScore, source: Harness.source)
        await store.close()
        #expect(scores.count == released, "no warm-up: every released window has a score")
        #expect(scores.prefix(5).allSatisfy { $0.score < 0.5 }, "the first windows look like the reference: \(scores.prefix(5).map(\.score))")
        let alerts = try harness.readAll(DriftlineTopics.defaults.alerts).compactMap { $0.value.flatMap { try? JSONDecoder().decode(AlertMessage.self, from: Data($0)) } }
        #expect(alerts.contains { $0.field == nil && $0.state == "firing" }, "the drift raises the source alert")
    }

    @Test func aMissingPinnedReferenceStopsTheDetectorWithItsName() async throws {
        let harness = try Harness(records: 2_000)
        try harness.produce()
        var configuration = harness.configuration()
        configuration.reference = .pinned(name: "nope")
        let service = DetectorService(configuration: configuration, logger: Harness.logger)
        await #expect(throws: DetectorServiceError.configuration("reference.name 'nope': no reference profile of that name for 'orders' in the metadata store")) {
            try await service.run()
        }
    }
}
