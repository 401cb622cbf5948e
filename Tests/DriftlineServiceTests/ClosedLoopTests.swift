import DriftlineConfiguration
import DriftlineDetector
import DriftlineExecutor
import DriftlineExecutorService
import DriftlineKafka
import DriftlineMessages
import DriftlineMetadata
import DriftlineSampleData
import DriftlineService
import Foundation
import GRDB
import DriftlineProfiling
import Logging
import DriftlineTestSupport
import Testing

/// The closed loop end to end: the detector plans a real PostgreSQL table from its query log, its
/// catalog and the source's forecasts, sends one repartition command through its outbox, and the
/// executor service carries it out.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ClosedLoopTests {
    static let base = ProcessInfo.processInfo.environment["DRIFTLINE_TEST_POSTGRES_URL"]
    static let enabled = base != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    /// A database with `public.events` (200k rows over 60 days, primary key (id, ts)); its URL.
    static func database() async throws -> String {
        let base = try #require(Self.base, "DRIFTLINE_TEST_POSTGRES_URL is not set: ops/test.sh starts PostgreSQL")
        let name = "driftline_loop_\(UInt32.random(in: 0...UInt32.max))"
        try await PostgresBackedDetectorTests.psql(base, "CREATE DATABASE \(name)")
        var url = try #require(URLComponents(string: base))
        url.path = "/\(name)"
        let target = try #require(url.string)
        for statement in PartitioningScenario.createTable(schema: "public", rows: 200_000) {
            try await PostgresBackedDetectorTests.psql(target, statement)
        }
        try await PostgresBackedDetectorTests.psql(target, "ALTER TABLE public.events ADD PRIMARY KEY (id, ts)")
        return target
    }

    /// A server log of `count` statements: half-day reports over the table's 60 days (a range layout
    /// by time pays off), or only a few rare lookups (nothing does).
    static func queryLog(_ directory: URL, timeRanges: Bool, count: Int) throws -> String {
        let statements = (0..<count).map { index -> String in
            guard timeRanges else { return "SELECT * FROM events WHERE user_id = \(index % 7) AND id = \(index)" }
            let day = 1 + index % 59
            let date = day <= 31 ? String(format: "2026-01-%02d", day) : String(format: "2026-02-%02d", day - 31)
            return "SELECT count(*), sum(amount) FROM events WHERE ts >= '\(date) 00:00:00+00' AND ts < '\(date) 12:00:00+00'"
        }
        let path = directory.appendingPathComponent("postgresql.log").path
        try PartitioningScenario.serverLog(statements).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func configuration(_ harness: Harness, target: String, log: String) -> DetectorConfiguration {
        var configuration = harness.configuration()
        configuration.prediction.everyWindows = 4
        configuration.planning.everyWindows = 2
        // The window count alone decides when to plan, so the test knows how many runs to expect.
        configuration.planning.driftForecastThreshold = nil
        configuration.planning.schemaChangeThreshold = nil
        configuration.tables = [DetectorConfiguration.Table(name: "public.events", target: target, source: Harness.source, queries: .log(path: log))]
        return configuration
    }

    static func decisions(_ harness: Harness, table: String = "public.events") async throws -> [PlanDecisionRecord] {
        let store = try await MetadataStores.open(harness.storePath)
        try await store.migrate()  // the detector may not have created the store yet
        let records = try await MetadataRepository(store: store).log(PlanDecisionRecord.self, kind: MetadataKind.planDecision, source: table)
        await store.close()
        return records
    }

    /// `Harness.wait` with an async condition (the metadata store is read with `await`); 240 s bounds a hang.
    static func wait(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(240)
        while try await !condition() {
            guard Date() < deadline else { Issue.record("timed out after 240 s waiting for \(what)"); return }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    static func executor(_ harness: Harness, target: String, store: String = "postgres") -> ExecutorService {
        var configuration = ExecutorConfiguration()
        configuration.kafka.brokers = [harness.cluster.bootstrapServers]
        configuration.kafka.groupID = "executor"
        configuration.targets[store] = target
        configuration.metadataStore = harness.storePath
        configuration.httpListen = HostPort(host: "127.0.0.1", port: 0)
        return ExecutorService(configuration: configuration, logger: Harness.logger)
    }

    @Test(.enabled(if: enabled, "DRIFTLINE_TEST_POSTGRES_URL is not set: run ops/test.sh, which starts PostgreSQL"))
    func aRangeLayoutThatPaysOffIsSentOnceAndCarriedOut() async throws {
        let target = try await Self.database()
        let harness = try Harness()
        let log = try Self.queryLog(harness.directory, timeRanges: true, count: 2_000)
        let configuration = Self.configuration(harness, target: target, log: log)
        let commandsTopic = DriftlineTopics.defaults.repartitionCommands

        // 1. The detector plans after its first scored windows and sends the command.
        try harness.produce(0..<8_000)
        let first = DetectorService(configuration: configuration, logger: Harness.logger)
        let running = Task { try await first.run() }
        try await Harness.wait(seconds: 240, "a repartition decision") { try harness.readAll(commandsTopic).count >= 1 }
        first.status.requestStop()
        try await running.value
        let sent = try harness.readAll(commandsTopic)
        try #require(sent.count == 1, "one command: \(sent.count)")
        let command = try JSONDecoder().decode(RepartitionCommand.self, from: Data(sent[0].value ?? []))
        #expect(command.table == "public.events" && command.store == "postgres" && !command.dryRun)
        #expect(command.plan.strategy.kind == "range" && command.plan.strategy.columns == ["ts"], "\(command.plan.strategy.summary)")
        #expect(sent[0].key.map { String(decoding: $0, as: UTF8.self) } == "public.events")
        if let result = try await validateAgainstSchema("repartition-command.v1.json", sent.compactMap(\.value)) {
            #expect(result.status == 0, "\(result.output)")
        }
        let decided = try await Self.decisions(harness)
        // The command's decision, then (the detector kept scoring until stopped) only in-flight ones.
        let sentAt = try #require(decided.firstIndex { $0.decision == "repartition" }, "\(decided.map(\.decision))")
        #expect(decided[sentAt].commandID == command.id)
        #expect(decided[(sentAt + 1)...].allSatisfy { $0.decision == "in_flight" }, "\(decided.map(\.decision))")

        // 2. Restarted while the command is in flight (no executor yet): it is not sent again.
        try harness.produce(8_000..<16_000)
        let second = DetectorService(configuration: configuration, logger: Harness.logger)
        let restarted = Task { try await second.runWithHTTP() }
        try await Self.wait("a planning run after the restart") { try await Self.decisions(harness).count > decided.count }
        #expect(try await Self.decisions(harness).dropFirst(decided.count).allSatisfy { $0.decision == "in_flight" && $0.commandID == command.id })

        // 3. The executor carries it out; the detector sees it end and keeps the new layout.
        let executor = Self.executor(harness, target: target)
        let executing = Task { try await executor.runWithHTTP() }
        try await Harness.wait(seconds: 240, "the command completed") { executor.health.snapshot.commandsCompleted >= 1 }
        let beforeMore = try await Self.decisions(harness).count
        try harness.produce(16_000..<24_000)
        try await Self.wait("a planning run after the executor finished") {
            try await Self.decisions(harness).dropFirst(beforeMore).contains { $0.decision != "in_flight" }
        }
        // Every metric the alert rules and the dashboard name is one these services really export.
        var scrapes: [String] = []
        for port in [second.status.snapshot.httpPort, executor.health.snapshot.httpPort] {
            let port = try #require(port)
            let path = harness.directory.appendingPathComponent("scrape-\(port).txt")
            try await DetectorServiceTests().get(port, "/metrics").body.write(to: path, atomically: true, encoding: .utf8)
            scrapes.append(path.path)
        }
        let check = try await runTool(["python3", "ops/check-metrics.py", "--scrape", scrapes[0], "--scrape", scrapes[1],
                                                    "ops/prometheus/driftline-rules.yaml", "ops/grafana/driftline-dashboard.json"])
        #expect(check.status == 0, "\(check.output)")
        second.status.requestStop()
        try await restarted.value
        executor.health.update { $0.stopRequested = true }
        try await executing.value

        #expect(try harness.readAll(commandsTopic).count == 1, "the command went out once")
        let after = try await Self.decisions(harness).dropFirst(beforeMore).filter { $0.decision != "in_flight" }
        #expect(after.allSatisfy { $0.decision == "keep" }, "\(after.map { "\($0.decision): \($0.reason)" })")
        let statuses = try harness.readAll(DriftlineTopics.defaults.repartitionStatus).compactMap { $0.value.map { Data($0) } }
            .map { try JSONDecoder().decode(RepartitionStatus.self, from: $0) }.filter { $0.commandId == command.id }
        #expect(statuses.last?.state == .completed, "\(statuses.map(\.state))")
        let leaves = try await PostgresBackedDetectorTests.psql(target, "SELECT count(*) FROM pg_partition_tree('public.events') WHERE isleaf")
        #expect((Int(leaves) ?? 0) > 1, "the table is partitioned: \(leaves) leaves")
        let store = try await MetadataStores.open(harness.storePath)
        let history = try await MetadataRepository(store: store).log(PartitionStrategyRecord.self, kind: MetadataKind.partitioning, source: "public.events")
        await store.close()
        #expect(history.map(\.commandID) == [command.id] && history.first?.kind == "range")
    }

    @Test(.enabled(if: enabled, "DRIFTLINE_TEST_POSTGRES_URL is not set: run ops/test.sh, which starts PostgreSQL"))
    func nothingIsSentWhenNoLayoutPaysOff() async throws {
        let target = try await Self.database()
        let harness = try Harness()
        let log = try Self.queryLog(harness.directory, timeRanges: false, count: 20)
        try harness.produce()
        let service = DetectorService(configuration: Self.configuration(harness, target: target, log: log), logger: Harness.logger)
        let running = Task { try await service.run() }
        try await Self.wait("a planning run") { try await Self.decisions(harness).count >= 1 }
        service.status.requestStop()
        try await running.value
        let decided = try await Self.decisions(harness)
        #expect(decided.allSatisfy { $0.decision == "keep" && !$0.reason.isEmpty }, "\(decided.map { "\($0.decision): \($0.reason)" })")
        #expect(try harness.readAll(DriftlineTopics.defaults.repartitionCommands).isEmpty)
    }

    /// The same loop on the embedded store: a SQLite table (statistics from a sample of its rows),
    /// its statements from a topic an application publishes them to.
    @Test func aSQLiteTablePlannedFromATopicOfStatementsIsRepartitioned() async throws {
        let harness = try Harness()
        let path = harness.directory.appendingPathComponent("app.sqlite").path
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            for statement in PartitioningScenario.createSQLiteTable(rows: 100_000, table: "events") { try db.execute(sql: statement) }
        }
        try queue.close()

        // The application's reports, one message each, a second apart (the period the workload covers),
        // and two messages that are not statements (counted, skipped).
        let statementsTopic = "app.statements"
        try harness.cluster.createTopic(statementsTopic, partitions: 2)
        var messages: [[UInt8]] = []
        for index in 0..<2_000 {
            let day = 1 + index % 59
            let date = day <= 31 ? String(format: "2026-01-%02d", day) : String(format: "2026-02-%02d", day - 31)
            let object: [String: Any] = [
                "statement": "SELECT count(*), sum(amount) FROM events WHERE ts >= '\(date) 00:00:00+00' AND ts < '\(date) 12:00:00+00'",
                "time": RFC3339.string(milliseconds: 1_767_225_600_000 + Int64(index) * 1_000), "totalMilliseconds": 12.5]
            messages.append(Array(try JSONSerialization.data(withJSONObject: object)))
        }
        if let result = try await validateAgainstSchema("query-statement.v1.json", messages) { #expect(result.status == 0, "\(result.output)") }
        messages += [Array("SELECT 1".utf8), Array(#"{"calls": 3}"#.utf8)]
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: harness.cluster.clientConfiguration(clientID: "app")))
        for (index, message) in messages.enumerated() { try producer.send(ProducerRecord(topic: statementsTopic, partition: Int32(index % 2), value: message)) }
        try producer.flush(timeout: .seconds(60))
        try producer.close()

        var configuration = harness.configuration()
        configuration.prediction.everyWindows = 4
        configuration.planning.everyWindows = 2
        configuration.planning.driftForecastThreshold = nil
        configuration.planning.schemaChangeThreshold = nil
        configuration.tables = [DetectorConfiguration.Table(name: "main.events", target: "sqlite:\(path)", source: Harness.source,
                                                            queries: .topic(name: statementsTopic, last: 10_000))]
        let commandsTopic = DriftlineTopics.defaults.repartitionCommands
        try harness.produce(0..<8_000)
        let detector = DetectorService(configuration: configuration, logger: Harness.logger)
        let detecting = Task { try await detector.run() }
        let executor = Self.executor(harness, target: path, store: "sqlite")
        let executing = Task { try await executor.run() }
        try await Harness.wait(seconds: 240, "the command completed") { executor.health.snapshot.commandsCompleted >= 1 }
        // More windows: the table is now the executor's view, so planning keeps it.
        let beforeMore = try await Self.decisions(harness, table: "main.events").count
        try harness.produce(8_000..<16_000)
        try await Self.wait("a planning run after the executor finished") {
            try await Self.decisions(harness, table: "main.events").dropFirst(beforeMore).contains { $0.decision != "in_flight" }
        }
        detector.status.requestStop()
        try await detecting.value
        executor.health.update { $0.stopRequested = true }
        try await executing.value

        let sent = try harness.readAll(commandsTopic)
        try #require(sent.count == 1, "one command: \(sent.count)")
        let command = try JSONDecoder().decode(RepartitionCommand.self, from: Data(sent[0].value ?? []))
        #expect(command.table == "main.events" && command.store == "sqlite")
        #expect(command.plan.strategy.kind == "range" && command.plan.strategy.columns == ["ts"], "\(command.plan.strategy.summary)")
        #expect(command.plan.assumptions.contains { $0.contains("a sample of events in the SQLite file") }, "\(command.plan.assumptions)")
        #expect(command.plan.notes.contains { $0.contains("the latest 2000 messages of topic app.statements (2 more were not statement objects") }, "\(command.plan.notes)")
        if let result = try await validateAgainstSchema("repartition-command.v1.json", sent.compactMap(\.value)) { #expect(result.status == 0, "\(result.output)") }
        let decided = try await Self.decisions(harness, table: "main.events")
        #expect(decided.filter { $0.decision == "repartition" }.map(\.commandID) == [command.id], "\(decided.map(\.decision))")
        #expect(decided.filter { $0.decision == "in_flight" }.count <= 1, "a deferral is recorded once per command: \(decided.map(\.decision))")
        let after = decided.dropFirst(beforeMore).filter { $0.decision != "in_flight" }
        #expect(after.allSatisfy { $0.decision == "keep" && $0.reason.contains("is a view") }, "\(after.map { "\($0.decision): \($0.reason)" })")
        let statuses = try harness.readAll(DriftlineTopics.defaults.repartitionStatus).compactMap { $0.value.map { Data($0) } }
            .map { try JSONDecoder().decode(RepartitionStatus.self, from: $0) }.filter { $0.commandId == command.id }
        #expect(statuses.last?.state == .completed, "\(statuses.map(\.state))")
        let check = try DatabaseQueue(path: path)
        let (kind, rows) = try await check.read { db in
            (try String.fetchOne(db, sql: "SELECT type FROM sqlite_master WHERE name = 'events'"), try Int64.fetchOne(db, sql: "SELECT count(*) FROM events"))
        }
        try check.close()
        #expect(kind == "view" && rows == 100_000, "\(kind ?? "-") with \(rows ?? -1) rows")
    }
}
