import DriftlineConfiguration
import DriftlineExecutor
import DriftlineExecutorService
import DriftlineKafka
import DriftlinePlanning
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Testing

/// The executor as a service: commands from a Kafka topic (the embedded cluster), status to another.
@Suite(.serialized) struct ExecutorServiceTests {
    @Test func configurationErrorsNameTheKey() throws {
        #expect(throws: ConfigurationError.self) { try ExecutorConfiguration.parse("topics: {commands: a}") }
        do {
            _ = try ExecutorConfiguration.parse("targets: {postgres: 'mysql://x'}")
            Issue.record("accepted a bad URL")
        } catch {
            #expect(error.key == "targets.postgres")
        }
        do {
            _ = try ExecutorConfiguration.parse("targets: {postgres: 'postgres://u@h/db'}\ncopy: {lockTimeout: 20s}")
            Issue.record("accepted a 20 s lock timeout")
        } catch {
            #expect(error.key == "copy.lockTimeout")
        }
        let parsed = try ExecutorConfiguration.parse("""
            kafka: {brokers: ["127.0.0.1:1"], groupId: ex}
            targets: {postgres: 'postgres://u@h:5432/db'}
            copy: {batchRows: 500, lockTimeout: 20ms, lease: 10s, throttleRowsPerSecond: 1000, capture: logical}
            """)
        #expect(parsed.workflow.batchRows == 500 && parsed.workflow.lockTimeoutMilliseconds == 20 && parsed.leaseSeconds == 10)
        #expect(parsed.capture == .logical)
        #expect(try ExecutorConfiguration.parse("targets: {postgres: 'postgres://u@h/db'}").capture == .trigger)
        do {
            _ = try ExecutorConfiguration.parse("targets: {postgres: 'postgres://u@h/db'}\ncopy: {capture: wal}")
            Issue.record("accepted an unknown capture")
        } catch {
            #expect(error.key == "copy.capture" && error.reason.contains("trigger or logical"))
        }
        #expect(parsed.workflow.throttleRowsPerSecond == 1000 && parsed.kafka.groupID == "ex")
        let both = try ExecutorConfiguration.parse("targets: {postgres: 'postgres://u@h/db', sqlite: /var/lib/app.sqlite}")
        #expect(both.targets == ["postgres": "postgres://u@h/db", "sqlite": "/var/lib/app.sqlite"])
        do {
            _ = try ExecutorConfiguration.parse("targets: {sqlite: 'postgres://u@h/db'}")
            Issue.record("accepted a PostgreSQL URL as a SQLite file")
        } catch {
            #expect(error.key == "targets.sqlite")
        }
    }

    @Test(.enabled(if: TargetDatabase.available, "DRIFTLINE_TEST_POSTGRES_URL is not set: run ops/test.sh, which starts PostgreSQL"))
    func commandsFromKafkaStatusToKafka() async throws {
        let database = try await TargetDatabase.open("service")
        do {
            try await database.createEvents(rows: 50_000)
            let cluster = try EmbeddedKafkaCluster()
            try cluster.createTopic("driftline.repartition-commands", partitions: 3)
            try cluster.createTopic("driftline.repartition-status", partitions: 1)
            let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: cluster.clientConfiguration(clientID: "test")))
            let good = command("svc-1", PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 4)]))
            let stale = command("svc-stale", PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 8)]), expectedVersion: 9)
            let key = Array("public.events".utf8)
            for value in [Array("{not json".utf8), Array(try JSONEncoder().encode(good)), Array(try JSONEncoder().encode(good)), Array(try JSONEncoder().encode(stale))] {
                _ = try await producer.sendAndWait(ProducerRecord(topic: "driftline.repartition-commands", key: key, value: value))
            }

            var configuration = ExecutorConfiguration()
            configuration.kafka.brokers = [cluster.bootstrapServers]
            configuration.kafka.groupID = "executor-test"
            configuration.targets["postgres"] = database.url
            configuration.metadataStore = FileManager.default.temporaryDirectory.appendingPathComponent("service-\(UUID().uuidString).sqlite").path
            configuration.httpListen = HostPort(host: "127.0.0.1", port: 0)
            var logger = Logger(label: "executor-test")
            logger.logLevel = .warning
            let service = ExecutorService(configuration: configuration, logger: logger)
            let running = Task { try await service.run() }

            var statuses: [RepartitionStatus] = []
            var raw: [Data] = []
            var reader = KafkaConsumerConfiguration(client: cluster.clientConfiguration(clientID: "status-reader"), groupID: "status-\(UUID().uuidString)")
            reader.queuedMinMessages = 100
            let consumer = try KafkaConsumer(configuration: reader)
            try consumer.subscribe(topics: ["driftline.repartition-status"])
            let deadline = Date().addingTimeInterval(180)
            func ended(_ id: String) -> Int { statuses.filter { $0.commandId == id && [.completed, .rejected, .failed].contains($0.state) }.count }
            while Date() < deadline, !(ended("svc-1") >= 2 && ended("svc-stale") >= 1 && statuses.contains { $0.commandId.hasPrefix("driftline.repartition-commands-") }) {
                for event in consumer.poll(maxMessages: 100, timeout: .milliseconds(100)) {
                    if case let .message(message) = event, let value = message.value {
                        raw.append(Data(value))
                        statuses.append(try JSONDecoder().decode(RepartitionStatus.self, from: Data(value)))
                        #expect(message.key.map { String(decoding: $0, as: UTF8.self) } == "public.events")
                    }
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            service.health.update { $0.stopRequested = true }
            try await running.value
            try consumer.close()
            try producer.close()

            let garbage = try #require(statuses.first { $0.commandId.hasPrefix("driftline.repartition-commands-") })
            #expect(garbage.state == .rejected && garbage.error?.contains("not a repartition command") == true)
            let first = statuses.filter { $0.commandId == "svc-1" }.map(\.state)
            #expect(first.contains(.copying) && first.contains(.swapped), "\(first)")
            // The duplicate: completed again without copying a second time.
            #expect(first.filter { $0 == .swapped }.count == 1 && first.filter { $0 == .completed }.count == 2, "\(first)")
            let staleStatus = try #require(statuses.first { $0.commandId == "svc-stale" })
            #expect(staleStatus.state == .rejected && staleStatus.error?.contains("stale command") == true)
            try await validate(raw, schema: "repartition-status.v1.json")
            #expect(try await database.scalar("SELECT relkind::text FROM pg_class WHERE relname = 'events'", as: String.self) == "p")
            let (missing, extra, _) = try await database.differences()
            #expect(missing == 0 && extra == 0)
            #expect(service.health.snapshot.commandsCompleted == 2 && service.health.snapshot.commandsRejected == 2)
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }

    /// Dry runs are checked against the target (the layout created and rolled back) and change
    /// nothing; a real command's progress and lock time reach /metrics, progress back at 0 after it.
    @Test(.enabled(if: TargetDatabase.available, "DRIFTLINE_TEST_POSTGRES_URL is not set: run ops/test.sh, which starts PostgreSQL"))
    func dryRunsAreCheckedAndChangeNothingAndJobsReachMetrics() async throws {
        let database = try await TargetDatabase.open("dryrun")
        do {
            try await database.createEvents(rows: 20_000)
            let cluster = try EmbeddedKafkaCluster()
            try cluster.createTopic("driftline.repartition-commands", partitions: 1)
            try cluster.createTopic("driftline.repartition-status", partitions: 1)
            let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: cluster.clientConfiguration(clientID: "test")))
            var good = command("dry-good", PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 4)]))
            good.dryRun = true
            var bad = command("dry-bad", PartitionLayout(levels: [.hash(column: "nosuch", type: .integer, modulus: 4)]))
            bad.dryRun = true
            let real = command("real", PartitionLayout(levels: [.hash(column: "id", type: .integer, modulus: 2)]))
            for value in [good, bad, real] {
                _ = try await producer.sendAndWait(ProducerRecord(topic: "driftline.repartition-commands", key: Array("public.events".utf8), value: Array(try JSONEncoder().encode(value))))
            }
            var configuration = ExecutorConfiguration()
            configuration.kafka.brokers = [cluster.bootstrapServers]
            configuration.kafka.groupID = "executor-dry"
            configuration.targets["postgres"] = database.url
            configuration.metadataStore = metadataFile()
            configuration.httpListen = HostPort(host: "127.0.0.1", port: 0)
            var logger = Logger(label: "executor-test")
            logger.logLevel = .warning
            let service = ExecutorService(configuration: configuration, logger: logger)
            let running = Task { try await service.runWithHTTP() }
            let deadline = Date().addingTimeInterval(240)
            while Date() < deadline, service.health.snapshot.commandsCompleted + service.health.snapshot.commandsRejected < 3 {
                try await Task.sleep(for: .milliseconds(100))
            }
            // Before the real command ran, the dry runs changed nothing: checked by the table's history.
            let port = try #require(service.health.snapshot.httpPort)
            let (body, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
            let metrics = String(decoding: body, as: UTF8.self)
            service.health.update { $0.stopRequested = true }
            try await running.value
            try producer.close()

            let statuses = try readStatuses(cluster)
            let dryGood = try #require(statuses.last { $0.commandId == "dry-good" })
            #expect(dryGood.state == .completed && dryGood.message?.contains("validated, nothing changed") == true && dryGood.rowsTotal == 20_000, "\(dryGood)")
            let dryBad = try #require(statuses.last { $0.commandId == "dry-bad" })
            #expect(dryBad.state == .rejected && dryBad.error?.contains("nosuch") == true, "\(dryBad)")
            #expect(!statuses.contains { ($0.commandId == "dry-good" || $0.commandId == "dry-bad") && $0.state == .copying })
            #expect(statuses.last { $0.commandId == "real" }?.state == .completed)
            let leaves: Int64 = try await database.scalar("SELECT count(*)::int8 FROM pg_partition_tree('public.events') WHERE isleaf")
            #expect(leaves == 2, "only the real command changed the table")
            #expect(metrics.contains("driftline_executor_copied_rows_total{table=\"public.events\"} 20000"), "\(metrics)")
            #expect(metrics.contains("driftline_executor_copy_progress_ratio{table=\"public.events\"} 0.0"), "\(metrics)")
            #expect(metrics.contains("driftline_executor_swap_lock_seconds{table=\"public.events\"}"), "\(metrics)")
            #expect(try await database.leftovers().isEmpty)
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }

    func readStatuses(_ cluster: EmbeddedKafkaCluster) throws -> [RepartitionStatus] {
        var reader = KafkaConsumerConfiguration(client: cluster.clientConfiguration(clientID: "status-reader"), groupID: "status-\(UUID().uuidString)")
        reader.reportPartitionEOF = true
        let consumer = try KafkaConsumer(configuration: reader)
        try consumer.subscribe(topics: ["driftline.repartition-status"])
        var statuses: [RepartitionStatus] = []
        var ended = false
        let deadline = Date().addingTimeInterval(30)
        while !ended, Date() < deadline {
            for event in consumer.poll(maxMessages: 100, timeout: .milliseconds(100)) {
                switch event {
                case let .message(message): statuses.append(try JSONDecoder().decode(RepartitionStatus.self, from: Data(message.value ?? [])))
                case .partitionEOF: ended = true
                default: break
                }
            }
        }
        try consumer.close()
        return statuses
    }
}
