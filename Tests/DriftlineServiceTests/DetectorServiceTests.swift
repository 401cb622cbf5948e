import DriftlineDetector
import DriftlineKafka
import DriftlineMessages
import DriftlineMetadata
import DriftlineService
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import DriftlineTestSupport
import Testing

/// `driftline detect` in process against the embedded cluster: what it publishes must be exactly
/// what the pure pipeline predicts for the same records — each alert and event once.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct DetectorServiceTests {
    @Test func publishesThePredictedAlertsAndEventsOnceWithHealthAndMetrics() async throws {
        let harness = try Harness()
        try harness.produce()
        let expected = try harness.expected()
        #expect(expected.alerts.contains { $0.field == nil && $0.state == "firing" }, "the dataset's drift raises the source alert")

        var configuration = harness.configuration()
        configuration.prediction.everyWindows = 4
        let service = DetectorService(configuration: configuration, logger: Harness.logger)
        let running = Task { try await service.runWithHTTP() }
        try await Harness.wait(seconds: 240, "\(expected.released) windows scored") { service.status.snapshot.windowsScored >= expected.released }

        try await Harness.wait(seconds: 30, "a schema prediction stored") { service.status.snapshot.predictionsStored >= 1 }

        // HTTP while running.
        let port = try #require(service.status.snapshot.httpPort)
        let health = try await get(port, "/healthz")
        #expect(health.status == 200 && health.body == "ok\n")
        let ready = try await get(port, "/readyz")
        #expect(ready.status == 200)
        let metrics = try await get(port, "/metrics")
        #expect(metrics.body.contains("driftline_records_total{source=\"orders\"} \(harness.records.count)"), "\(metrics.body.prefix(2_000))")
        #expect(metrics.body.contains("driftline_alerts_total{"))
        #expect(metrics.body.contains("driftline_drift_score{source=\"orders\",field=\"*\"}"))
        #expect(metrics.body.contains("driftline_window_close_latency_seconds_bucket"))
        #expect(metrics.body.contains("driftline_prediction_refreshes_total{source=\"orders\",result=\"stored\"}"))
        #expect(metrics.body.contains("driftline_consumer_lag_messages{source=\"orders\"}"))
        // Every stage's CPU series exists; the records were profiled, so that stage's is above 0.
        for stage in DetectorStage.allCases { #expect(metrics.body.contains("driftline_stage_cpu_seconds_total{stage=\"\(stage.rawValue)\"}")) }
        let profiled = metrics.body.split(separator: "\n").first { $0.hasPrefix("driftline_stage_cpu_seconds_total{stage=\"profile\"} ") }
        #expect(profiled.flatMap { Double($0.split(separator: " ").last!) }.map { $0 > 0 } == true, "\(String(describing: profiled))")

        service.status.requestStop()
        try await running.value
        #expect(service.status.snapshot.windowsScored == expected.released, "no window scored twice")

        let alerts = try harness.readAll(DriftlineTopics.defaults.alerts)
        let events = try harness.readAll(DriftlineTopics.defaults.driftEvents)
        let alertIDs = try harness.ids(DriftlineTopics.defaults.alerts)
        let eventIDs = try harness.ids(DriftlineTopics.defaults.driftEvents)
        #expect(alertIDs.sorted() == expected.alerts.map(\.id).sorted(), "alerts: exactly the predicted ones, once each")
        #expect(eventIDs.sorted() == expected.events.map(\.id).sorted(), "drift events: exactly the predicted ones, once each")
        if let result = try await validateAgainstSchema("alert.v1.json", alerts.compactMap(\.value)) {
            #expect(result.status == 0, "\(result.output)")
        }
        if let result = try await validateAgainstSchema("drift-event.v1.json", events.compactMap(\.value)) {
            #expect(result.status == 0, "\(result.output)")
        }

        // Metadata: the drift log, statistics and schema versions.
        let store = try await MetadataStores.open(harness.storePath)
        let repository = MetadataRepository(store: store)
        let log = try await repository.log(DriftEventRecord.self, kind: MetadataKind.driftEvent, source: Harness.source)
        #expect(Set(log.map(\.id)) == Set(expected.events.map(\.id)))
        let history = try await repository.schemaHistory(Harness.source)
        #expect(history.count >= 2, "the drift (quantity as a string) mints a new schema version: \(history.map(\.version))")
        #expect(history.last?.fields.first { $0.path == "quantity" }?.types.contains("string") == true)
        let statistics = try await repository.log(FieldStatistics.self, kind: MetadataKind.statistics, source: Harness.source)
        #expect(statistics.contains { $0.field == "amount" && $0.quantiles.count == 9 })
        let shapes = try await repository.log(WindowShapeRecord.self, kind: MetadataKind.windowShape, source: Harness.source)
        #expect(shapes.count == expected.released, "one shape per scored window")
        #expect(shapes.allSatisfy { $0.presence["amount"] == 1 && $0.bytes > 200 * $0.records })
        // The detector keeps the schema prediction current itself (every 4 windows here).
        #expect(service.status.snapshot.predictionsStored >= 1)
        let refreshed = try await repository.get(SchemaPrediction.self, kind: MetadataKind.schemaPrediction, source: Harness.source)
        #expect(refreshed?.value.predictedVersion == history.count + 1, "\(String(describing: refreshed))")
        #expect((refreshed?.value.historyWindows ?? 0) >= 8 && refreshed?.value.createdAt != nil)
        #expect((refreshed?.value.growth?.records ?? 0) > 0 && refreshed?.value.growth?.windows == 24)
        await store.close()

        // `driftline predict` reads that history and stores the predicted schema version.
        let predict = try await runDriftline(["predict", "--store", harness.storePath, "--source", Harness.source, "--horizon", "12", "--format", "json"])
        #expect(predict.status == 0, "\(predict.err)")
        let json = try JSONSerialization.jsonObject(with: Data(predict.out.utf8)) as? [String: Any]
        #expect(json?["predicted_schema_version"] as? Int == history.count + 1)
        #expect((json?["growth"] as? [String: Any])?["records"] != nil)
        let reopened = try await MetadataStores.open(harness.storePath)
        let stored = try await MetadataRepository(store: reopened).get(SchemaPrediction.self, kind: MetadataKind.schemaPrediction, source: Harness.source)
        #expect(stored?.value.predictedVersion == history.count + 1)
        await reopened.close()
    }

    @Test func malformedRecordsAreCountedAndDeadLetteredWithoutChangingAlerts() async throws {
        let clean = try Harness(records: 24_000).expected()
        let harness = try Harness(records: 24_000, malformedEvery: 19)
        try harness.produce()
        let expected = try harness.expected()
        #expect(expected.malformed == harness.records.filter(\.malformed).count && expected.malformed >= 1_200, "5% malformed")
        let sourceAlerts = { (alerts: [AlertMessage]) in alerts.filter { $0.field == nil }.map { "\($0.state)@\($0.window.start)" } }
        #expect(sourceAlerts(expected.alerts) == sourceAlerts(clean.alerts), "malformed input leaves the source alerts as they are")

        var configuration = harness.configuration(deadLettersPerWindow: 10_000)
        configuration.prediction.everyWindows = 1_000  // only a schema change refreshes the prediction here
        let service = DetectorService(configuration: configuration, logger: Harness.logger)
        let running = Task { try await service.runWithHTTP() }
        try await Harness.wait(seconds: 240, "\(expected.released) windows scored") { service.status.snapshot.windowsScored >= expected.released }
        let port = try #require(service.status.snapshot.httpPort)
        let metrics = try await get(port, "/metrics").body
        service.status.requestStop()
        try await running.value

        #expect(try harness.ids(DriftlineTopics.defaults.alerts).sorted() == expected.alerts.map(\.id).sorted())
        let letters = try harness.readAll(DriftlineTopics.defaults.deadLetter)
        #expect(letters.count == expected.malformed, "every malformed record sampled (budget above the count)")
        let decoded = letters.compactMap { $0.value.flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] } }
        #expect(decoded.allSatisfy { ($0["reason"] as? String) == "truncated input" })
        let coordinates = Set(decoded.compactMap { letter -> String? in
            guard let source = letter["source"] as? [String: Any] else { return nil }
            return "\(source["partition"] ?? "?")@\(source["offset"] ?? "?")"
        })
        #expect(coordinates.count == expected.malformed, "each letter names its own record")
        if let result = try await validateAgainstSchema("dead-letter.v1.json", letters.compactMap(\.value)) {
            #expect(result.status == 0, "\(result.output)")
        }
        #expect(metrics.contains("driftline_malformed_records_total{source=\"orders\",reason=\"truncated input\"} \(expected.malformed)"), "\(metrics)")

        // The drift minted a schema version; the stored prediction must be about the one after it.
        let store = try await MetadataStores.open(harness.storePath)
        let repository = MetadataRepository(store: store)
        let versions = try await repository.schemaHistory(Harness.source)
        let prediction = try await repository.get(SchemaPrediction.self, kind: MetadataKind.schemaPrediction, source: Harness.source)
        await store.close()
        #expect(versions.count >= 2)
        #expect(prediction?.value.predictedVersion == versions.count + 1, "prediction \(String(describing: prediction?.value)) after \(versions.count) versions")
    }

    @Test func twoInstancesPublishWhatOneDoes() async throws {
        let harness = try Harness()
        try harness.produce()
        let expected = try harness.expected()
        let first = DetectorService(configuration: harness.configuration(), logger: Harness.logger)
        let second = DetectorService(configuration: harness.configuration(), logger: Harness.logger)
        let runningFirst = Task { try await first.run() }
        // The second joins while the first is mid-stream: a rebalance during open windows.
        try await Harness.wait(seconds: 60, "the first instance to start") { first.status.snapshot.recordsConsumed > 0 }
        let runningSecond = Task { try await second.run() }
        try await Harness.wait(seconds: 120, "\(expected.released) windows scored") {
            first.status.snapshot.windowsScored + second.status.snapshot.windowsScored >= expected.released
        }
        // Partials still in flight would show up as extra (duplicate) outputs: wait until none is.
        try await harness.waitUntilPartialsAggregated()
        first.status.requestStop()
        second.status.requestStop()
        try await runningFirst.value
        try await runningSecond.value
        #expect(first.status.snapshot.windowsScored + second.status.snapshot.windowsScored == expected.released)
        #expect(try harness.ids(DriftlineTopics.defaults.alerts).sorted() == expected.alerts.map(\.id).sorted())
        #expect(try harness.ids(DriftlineTopics.defaults.driftEvents).sorted() == expected.events.map(\.id).sorted())
    }

    @Test func survivesTheBrokerGoingAwayForAWhile() async throws {
        let harness = try Harness()
        try harness.produce(0..<8_000)
        let expected = try harness.expected()
        let service = DetectorService(configuration: harness.configuration(), logger: Harness.logger)
        let running = Task { try await service.run() }
        try await Harness.wait(seconds: 60, "the first records") { service.status.snapshot.recordsConsumed >= 8_000 }
        try harness.cluster.setBrokerDown(1)
        try await Task.sleep(for: .seconds(6))
        try harness.cluster.setBrokerUp(1)
        try harness.produce(8_000..<harness.records.count)
        try await Harness.wait(seconds: 120, "\(expected.released) windows scored") { service.status.snapshot.windowsScored >= expected.released }
        service.status.requestStop()
        try await running.value
        #expect(try harness.ids(DriftlineTopics.defaults.alerts).sorted() == expected.alerts.map(\.id).sorted())
        #expect(try harness.ids(DriftlineTopics.defaults.driftEvents).sorted() == expected.events.map(\.id).sorted())
    }

    @Test func garbageOnTheProfilesTopicIsSkipped() async throws {
        let harness = try Harness()
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: harness.cluster.clientConfiguration()))
        let corrupt = PartialProfileMessage(source: Harness.source, windowStart: 1_764_000_050_000, windowEnd: 1_764_000_060_000,
                                            partitionCount: 4, partitions: [0], profile: Array("not a profile".utf8))
        for value in [Array("garbage".utf8), corrupt.encoded()] {
            try producer.send(ProducerRecord(topic: DriftlineTopics.defaults.profiles, key: Array(Harness.source.utf8), value: value))
        }
        try producer.flush()
        try producer.close()
        try harness.produce()
        let expected = try harness.expected()
        let service = DetectorService(configuration: harness.configuration(), logger: Harness.logger)
        let running = Task { try await service.run() }
        try await Harness.wait(seconds: 240, "\(expected.released) windows scored") { service.status.snapshot.windowsScored >= expected.released }
        service.status.requestStop()
        try await running.value
        #expect(try harness.ids(DriftlineTopics.defaults.alerts).sorted() == expected.alerts.map(\.id).sorted())
    }

    /// A new consumer group over a metadata store that has scored the topic re-reads every record;
    /// its windows are not scored twice, and that is said, not silent.
    @Test func aNewGroupOverAScoredStoreCountsWhatItSkips() async throws {
        let harness = try Harness()
        try harness.produce()
        let expected = try harness.expected()
        let first = DetectorService(configuration: harness.configuration(group: "first"), logger: Harness.logger, recordLimit: Int64(harness.records.count))
        try await first.run()
        #expect(first.status.snapshot.windowsScored == Int64(expected.released))
        #expect(first.status.snapshot.recordsSkippedAlreadyScored == 0)
        let alerts = try harness.ids(DriftlineTopics.defaults.alerts)

        let second = DetectorService(configuration: harness.configuration(group: "second"), logger: Harness.logger, recordLimit: Int64(harness.records.count))
        try await second.run()
        let status = second.status.snapshot
        #expect(status.recordsConsumed == Int64(harness.records.count))
        #expect(status.windowsScored == 0)
        // Every record of a scored window (1,000 each; the last window stays open), twice: the new
        // group's aggregation consumer reads the first run's partials too, then its own.
        #expect(status.recordsSkippedAlreadyScored == 2 * Int64(expected.released) * 1_000, "\(status.recordsSkippedAlreadyScored) skipped")
        let after = try harness.ids(DriftlineTopics.defaults.alerts)
        #expect(after.count == alerts.count && after.sorted() == alerts.sorted(), "nothing published twice: \(after.count) alerts, \(alerts.count) before")
    }

    @Test func aPatternWatchesEveryMatchingTopicAsItsOwnSource() async throws {
        let harness = try Harness()
        try harness.cluster.createTopic("orders.eu", partitions: Harness.partitions)
        try harness.produce()
        try harness.produce(to: "orders.eu")
        let expected = try harness.expected()
        var configuration = harness.configuration()
        configuration.sources[0].topic = #"^orders(\.eu)?$"#
        let service = DetectorService(configuration: configuration, logger: Harness.logger)
        let running = Task { try await service.run() }
        try await Harness.wait(seconds: 120, "both topics scored") { service.status.snapshot.windowsScored >= 2 * expected.released }
        service.status.requestStop()
        try await running.value
        let alerts = try harness.readAll(DriftlineTopics.defaults.alerts).compactMap { message in
            message.value.flatMap { try? JSONDecoder().decode(AlertMessage.self, from: Data($0)) }
        }
        #expect(alerts.filter { $0.source.topic == "orders" }.map(\.id).sorted() == expected.alerts.map(\.id).sorted())
        #expect(alerts.filter { $0.source.topic == "orders.eu" }.count == expected.alerts.count, "the second topic is its own source")
        #expect(Set(alerts.map(\.source.topic)) == ["orders", "orders.eu"], "nothing from Driftline's own topics")
    }

    @Test func badConfigurationIsReportedBeforeConsuming() async throws {
        let harness = try Harness(records: 1_000)
        var configuration = harness.configuration()
        configuration.sources[0].topic = "no-such-topic"
        let service = DetectorService(configuration: configuration, logger: Harness.logger)
        await #expect(throws: DetectorServiceError.topicMissing("no-such-topic", role: "source")) { try await service.run() }
    }

    func get(_ port: Int, _ path: String) async throws -> (status: Int, body: String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        return ((response as? HTTPURLResponse)?.statusCode ?? -1, String(decoding: data, as: UTF8.self))
    }
}

/// The detector on the production metadata store: PostgreSQL, the server `ops/test.sh` starts.
@Suite(.timeLimit(.minutes(10)))
struct PostgresBackedDetectorTests {
    static let base = ProcessInfo.processInfo.environment["DRIFTLINE_TEST_POSTGRES_URL"]

    /// psql's one-line answer to `sql` on the server of `url`.
    @discardableResult
    static func psql(_ url: String, _ sql: String) async throws -> String {
        let result = try await runTool(["psql", url, "-Atc", sql])
        #expect(result.status == 0, "psql \(sql): \(result.err)")
        return result.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(.enabled(if: base != nil || ProcessInfo.processInfo.environment["CI"] == "true", "DRIFTLINE_TEST_POSTGRES_URL is not set: run ops/test.sh, which starts PostgreSQL"))
    func scoresEveryWindowAndLeavesNoConnectionBehind() async throws {
        let base = try #require(Self.base, "DRIFTLINE_TEST_POSTGRES_URL is not set: ops/test.sh starts PostgreSQL")
        let name = "driftline_detector_\(UInt32.random(in: 0...UInt32.max))"
        try await Self.psql(base, "CREATE DATABASE \(name)")
        var url = try #require(URLComponents(string: base))
        url.path = "/\(name)"
        let harness = try Harness(records: 12_000)
        try harness.produce()
        let expected = try harness.expected()
        var configuration = harness.configuration()
        configuration.metadataStore = try #require(url.string)
        let service = DetectorService(configuration: configuration, logger: Harness.logger, recordLimit: Int64(harness.records.count))
        try await service.run()
        #expect(service.status.snapshot.windowsScored == Int64(expected.released))
        #expect(try harness.ids(DriftlineTopics.defaults.alerts).sorted() == expected.alerts.map(\.id).sorted())
        let stored = try await Self.psql(url.string!, "SELECT count(*) FROM driftline_records WHERE kind = 'detector_state'")
        #expect(stored == "1", "the aggregator's state is in PostgreSQL")
        // The client is closed when run() returns; the server's backends exit right after.
        try await Harness.wait(seconds: 5, "no connection to \(name) left") {
            try await Self.psql(base, "SELECT count(*) FROM pg_stat_activity WHERE datname = '\(name)'") == "0"
        }
    }
}
