import DriftlineDetector
import DriftlineKafka
import DriftlineMessages
import DriftlineMetadata
@testable import DriftlineService
import Foundation
import DriftlineTestSupport
import Testing

/// Real crashes: `driftline detect` as a child process, killed with SIGKILL and started again.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct CrashRecoveryTests {
    enum KillPoint: CustomStringConvertible {
        /// Windows closed and partials published, the reference not complete: nothing scored yet.
        case duringReference
        /// Right after the first drift event was published (mid-stream, alerts still to come).
        case afterFirstEvent

        var description: String { self == .duringReference ? "while building the reference" : "after the first drift event" }
    }

    @Test(arguments: [KillPoint.duringReference, .afterFirstEvent])
    func killedDetectorRestartsWithoutLosingOrDuplicatingOutputs(_ point: KillPoint) async throws {
        let harness = try Harness()
        // The rest arrives after the kill. 4,000 records: windows 0–3, the 5-window reference unfinished.
        // 16,000: the drift (from record 14,400) has begun, most of its windows are still to come.
        let firstPart = point == .afterFirstEvent ? 16_000 : 4_000
        try harness.produce(0..<firstPart)
        let expected = try harness.expected()
        let config = harness.directory.appendingPathComponent("driftline.yaml")
        try harness.yaml().write(to: config, atomically: true, encoding: .utf8)

        let first = try start(config)
        defer { if first.process.isRunning { kill(first.process.processIdentifier, SIGKILL) } }
        switch point {
        case .duringReference:
            try await Harness.wait(seconds: 240, "partials of the first windows") { try published(harness, DriftlineTopics.defaults.profiles) > 0 }
        case .afterFirstEvent:
            try await Harness.wait(seconds: 240, "the first drift event") { try published(harness, DriftlineTopics.defaults.driftEvents) > 0 }
        }
        await first.kill()
        #expect(first.process.terminationReason == .uncaughtSignal)
        let before = try published(harness, DriftlineTopics.defaults.alerts)
        #expect(before < expected.alerts.count, "killed \(point) with alerts still to come (\(before) of \(expected.alerts.count))")
        if point == .duringReference { #expect(before == 0) }

        try harness.produce(firstPart..<harness.records.count)
        let second = try start(config)
        defer { if second.process.isRunning { kill(second.process.processIdentifier, SIGKILL) } }
        let total = expected.alerts.count + expected.events.count
        try await Harness.wait(seconds: 120, "all \(total) outputs") {
            try published(harness, DriftlineTopics.defaults.alerts) + published(harness, DriftlineTopics.defaults.driftEvents) >= total
        }
        // Anything duplicated would still be arriving: wait until every partial is aggregated, then stop gracefully.
        try await harness.waitUntilPartialsAggregated()
        kill(second.process.processIdentifier, SIGTERM)
        let status = await second.wait()
        #expect(second.process.terminationReason == .exit && status == 0, "SIGTERM finishes the batch and exits cleanly: \(second.errors.suffix(1000))")

        #expect(try harness.ids(DriftlineTopics.defaults.alerts).sorted() == expected.alerts.map(\.id).sorted(), "killed \(point)")
        #expect(try harness.ids(DriftlineTopics.defaults.driftEvents).sorted() == expected.events.map(\.id).sorted(), "killed \(point)")
    }

    /// The crash between producing an outbox and clearing it, made exact: a stored outbox whose
    /// first message already reached the topic. The restarted aggregator publishes only the rest.
    @Test func anOutboxInterruptedHalfwayIsCompletedWithoutDuplicates() async throws {
        let harness = try Harness(records: 2_000)
        let topic = DriftlineTopics.defaults.alerts
        let reader = try OutputTopicReader(client: harness.cluster.clientConfiguration())
        let marks = try reader.ends(of: [topic])
        let outbox = (0..<3).map { index in
            OutboxMessage(topic: topic, key: "orders|*", id: "outbox-\(index)", value: Data(#"{"id":"outbox-\#(index)"}"#.utf8))
        }
        // The crashed run got as far as the first message.
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: harness.cluster.clientConfiguration()))
        try producer.send(ProducerRecord(topic: topic, key: Array(outbox[0].key.utf8), value: Array(outbox[0].value)))
        try producer.flush()
        try producer.close()

        let configuration = harness.configuration()
        let store = try await MetadataStores.open(harness.storePath)
        try await store.migrate()
        let scorer = WindowScorer(source: configuration.sources[0], reference: configuration.reference)
        let state = AggregatorState(releasedThrough: .min, scorer: try scorer.snapshot(), outbox: outbox, outputMarks: marks)
        _ = try await MetadataRepository(store: store).put(state, kind: MetadataKind.detectorState, source: Harness.source, expectedVersion: nil)
        await store.close()

        // Records make windows close, a partial reaches the aggregator, which resumes from the state.
        try harness.produce()
        let service = DetectorService(configuration: configuration, logger: Harness.logger)
        let running = Task { try await service.run() }
        try await Harness.wait(seconds: 60, "the outbox delivered") { try harness.ids(topic).filter { $0.hasPrefix("outbox-") }.count >= 3 }
        service.status.requestStop()
        try await running.value
        #expect(try harness.ids(topic).filter { $0.hasPrefix("outbox-") }.sorted() == ["outbox-0", "outbox-1", "outbox-2"])
        let reopened = try await MetadataStores.open(harness.storePath)
        let stored = try await MetadataRepository(store: reopened).get(AggregatorState.self, kind: MetadataKind.detectorState, source: Harness.source)
        #expect(stored?.value.outbox.isEmpty == true, "the outbox is cleared once delivered")
        await reopened.close()
    }

    func start(_ config: URL) throws -> ChildProcess {
        try ChildProcess(driftline: ["detect", "--config", config.path, "--log-level", "warning"])
    }

    /// Messages in `topic` (sum of high watermarks).
    func published(_ harness: Harness, _ topic: String) throws -> Int {
        let admin = try KafkaAdmin(configuration: harness.cluster.clientConfiguration())
        return try (0..<3).reduce(0) { $0 + Int(try admin.watermarks(TopicPartition(topic, Int32($1))).high) }
    }
}
