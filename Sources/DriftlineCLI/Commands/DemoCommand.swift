import ArgumentParser
import DriftlineDetector
import DriftlineDrift
import DriftlineExecutor
import DriftlineExecutorService
import DriftlineKafka
import DriftlineMessages
import DriftlineMetadata
import DriftlineProfiling
import DriftlineSampleData
import DriftlineService
import DriftlineTargets
import Foundation
import Logging

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "The whole pipeline on the embedded defaults: drift detected, predicted, a partitioning plan, an online re-partitioning carried out and verified.",
        discussion: """
            Starts an embedded Kafka cluster (or uses --brokers) and produces an orders stream that drifts \
            after a while: amount's mean shifts, the currency mix changes, quantity arrives as a string in a \
            share of records, discount nulls rise, a new field 'coupon' appears, volume doubles. Two \
            detector instances in one consumer group score it (event-time windows on 'ts', the first 5 \
            windows as reference) and publish drift events and alerts. With --target (a PostgreSQL \
            database, where ops/demo.sh starts a throwaway server and passes it; or sqlite:PATH, a \
            SQLite file the demo creates), the demo loads a table orders (in schema driftline_demo on \
            PostgreSQL) with 60 days of history, writes an application's report queries to a \
            server log, and runs the closed loop: the detector plans the table from that log, the \
            catalog (a sample of the table on SQLite) and the stream's forecasts and sends a repartition command; the executor service \
            re-partitions the table online while an application keeps inserting orders, verifies it, \
            and swaps. The demo prints what happens as it happens, writes the HTML drift report and the \
            plan to --out, checks that no row was lost, and ends by itself (--follow keeps it running).
            """
    )

    @Option(help: "Records to produce.")
    var records: Int = 60_000

    @Option(help: "Partitions of the sample topic.")
    var partitions: Int = 4

    @Option(help: "Window size in seconds of event time (the stream advances 10 ms a record, 5 ms once it grows).")
    var windowSeconds: Int = 10

    @Option(help: "How records carry their event time 'ts': rfc3339 (a string, the common form in JSON topics) or milliseconds.")
    var timestamps: DriftDataset.Timestamps = .rfc3339

    @Option(help: "Metadata store (default: a SQLite file in --out).")
    var store: String?

    @Option(help: "Kafka bootstrap servers to use instead of the embedded cluster (the driftline.* topics are created if missing).")
    var brokers: String?

    @Option(help: "The closed loop's target: a PostgreSQL database (postgres://user@host:port/db; its schema driftline_demo is replaced) or sqlite:PATH (a file the demo creates).")
    var target: String?

    @Option(help: "Rows of history loaded into the target table.")
    var historyRows: Int = 200_000

    @Option(help: "Folder for the drift report, the plan and the metadata store.")
    var out: String = "driftline-demo"

    @Option(help: "Stop waiting for the re-partitioning after this many seconds.")
    var timeout: Int = 300

    @Flag(help: "Keep the services running after the demo's end (until Ctrl-C).")
    var follow = false

    func validate() throws {
        guard records >= 1_000 else { throw ValidationError("--records must be at least 1000") }
        guard partitions > 0, windowSeconds > 0 else { throw ValidationError("--partitions and --window-seconds must be positive") }
        guard historyRows >= 1_000 else { throw ValidationError("--history-rows must be at least 1000") }
        if let target, TargetStores.storeName(of: target) == "sqlite", !target.hasPrefix("sqlite:") || target.count == "sqlite:".count {
            throw ValidationError("--target is a PostgreSQL URL (postgres://user@host:port/db) or sqlite:PATH (a file the demo creates)")
        }
    }

    func run() async throws {
        let cluster = brokers == nil ? try EmbeddedKafkaCluster(brokers: 1) : nil
        let client = cluster?.clientConfiguration(clientID: "driftline-demo")
            ?? KafkaClientConfiguration(brokers: brokers!.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }, clientID: "driftline-demo")
        // Every client is released before the cluster stops, so none logs a refused reconnect.
        try await demo(client: client, cluster: cluster)
        withExtendedLifetime(cluster) {}
    }

    private func demo(client: KafkaClientConfiguration, cluster: EmbeddedKafkaCluster?) async throws {
        let topic = "demo.orders"
        let topics = DriftlineTopics.defaults
        if let cluster {
            try cluster.createTopic(topic, partitions: partitions)
            for name in topics.all { try cluster.createTopic(name, partitions: 3) }
        } else {
            let admin = try KafkaAdmin(configuration: client)
            let existing = Set(try admin.describeCluster().topics.filter { $0.error == nil }.map(\.name))
            let missing = ([NewTopic(topic, partitions: Int32(partitions))] + topics.all.map { NewTopic($0, partitions: 3) }).filter { !existing.contains($0.name) }
            do {
                if !missing.isEmpty { try admin.createTopics(missing) }
            } catch {
                throw ValidationError("cannot create the topics \(missing.map(\.name).joined(separator: ", ")) on \(client.brokers.joined(separator: ",")) (\(error)); create them first (with `driftline dev`: --topic \(topic):\(partitions))")
            }
        }
        let folder = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let storeURL = store ?? folder.appendingPathComponent("metadata-\(UUID().uuidString.prefix(8)).sqlite").path
        print("Kafka at \(client.brokers.joined(separator: ","))\(cluster == nil ? "" : " (embedded)"); metadata store \(storeURL)")

        // 1. The target table and its application's queries.
        var demoTarget: DemoTarget?
        let queryLog = folder.appendingPathComponent("postgresql.log").path
        if let target {
            let prepared = DemoTarget(url: target)
            print("target: loading \(historyRows) orders (60 days of history) into \(prepared.qualified)\(prepared.isSQLite ? " in \(prepared.path)" : "")…")
            try await prepared.prepare(historyRows: historyRows)
            try DemoTarget.writeQueryLog(to: queryLog)
            print("target: the application's report queries (half-day totals) in \(queryLog)")
            demoTarget = prepared
        } else {
            print("no --target: detection only (ops/demo.sh starts a PostgreSQL target for the whole loop)")
        }

        // 2. The stream.
        let dataset = DriftDataset(records: records, timestamps: timestamps, grows: true)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        var malformed = 0
        dataset.forEachRecord { index, record in
            let broken = index % 2_000 == 1_999
            if broken { malformed += 1 }
            let value = broken ? Array(record.prefix(40)) : Array(record)
            try? producer.send(ProducerRecord(topic: topic, partition: Int32(index % partitions), key: Array("order-\(index)".utf8), value: value))  // failures are counted by the producer and reported below
        }
        try producer.flush(timeout: .seconds(60))
        print("produced \(producer.deliveryCounts.delivered) records to \(topic) (\(producer.deliveryCounts.failed) failed, \(malformed) malformed on purpose); drift from record \(dataset.driftStart)")
        try producer.close()

        // Reading the output topics from their ends now, before anything can be published to them.
        let console = try DemoConsole(client: client, topics: topics, folder: folder)

        // 3. Two detectors in one group, and the executor.
        var configuration = DetectorConfiguration()
        configuration.kafka.brokers = client.brokers
        configuration.kafka.groupID = "driftline-demo-detector-\(UUID().uuidString.prefix(6))"
        var source = DetectorConfiguration.Source(topic: topic)
        source.eventTime = .field(path: "ts", unit: timestamps == .rfc3339 ? .rfc3339 : .milliseconds)
        source.weights = ["ts": [.distribution: 0], "event_id": [.distribution: 0], "session": [.distribution: 0]]
        configuration.sources = [source]
        configuration.windows.sizeMilliseconds = Int64(windowSeconds) * 1_000
        configuration.windows.allowedLatenessMilliseconds = 1_000
        configuration.reference = .first(windows: 5)
        configuration.metadataStore = storeURL
        configuration.prediction.everyWindows = 6
        configuration.httpListen = .init(host: "127.0.0.1", port: 0)
        if let target {
            configuration.planning.everyWindows = 8
            configuration.tables = [DetectorConfiguration.Table(name: demoTarget!.qualified, target: target, source: topic, queries: .log(path: queryLog))]
        }
        let warnings = RecentWarnings()
        let logger = Logger(label: "driftline.demo") { warnings.handler(label: $0) }
        let detectors = (0..<2).map { _ in DetectorService(configuration: configuration, logger: logger) }
        let running = detectors.map { detector in Task { try await detector.run() } }
        var executor: ExecutorService?
        var executing: Task<Void, any Error>?
        if let target {
            var settings = ExecutorConfiguration()
            settings.kafka.brokers = client.brokers
            settings.kafka.groupID = "driftline-demo-executor-\(UUID().uuidString.prefix(6))"
            settings.targets[TargetStores.storeName(of: target)] = target
            settings.metadataStore = storeURL
            settings.httpListen = .init(host: "127.0.0.1", port: 0)
            let service = ExecutorService(configuration: settings, logger: logger)
            executor = service
            executing = Task { try await service.run() }
        }
        print("running 2 detector instances (group \(configuration.kafka.groupID))\(target == nil ? "" : " and the executor")")
        let writer = demoTarget?.startWriter()
        if writer != nil { print("target: an application inserts orders into \(demoTarget!.qualified) all along") }

        // 4. What happens, as it happens.
        var decisions: MetadataRepository?
        if target != nil {
            let opened = try await MetadataStores.open(storeURL)
            try await opened.migrate()  // the detectors may not have created the store's tables yet
            decisions = MetadataRepository(store: opened)
        }
        var decisionsRead = Date.distantPast
        let started = Date()
        var lastScored: Int64 = -1
        var scoredChanged = Date()
        while true {
            try console.poll()
            if let decisions, Date().timeIntervalSince(decisionsRead) >= 1 {
                decisionsRead = Date()
                try await console.showPlanDecisions(decisions, table: demoTarget!.qualified)
            }
            let consumed = detectors.reduce(0) { $0 + $1.status.snapshot.recordsConsumed }
            let scored = detectors.reduce(0) { $0 + $1.status.snapshot.windowsScored }
            if scored != lastScored { lastScored = scored; scoredChanged = Date() }
            console.progress(consumed: consumed, of: Int64(records), scored: scored)
            // Done: every record read, every window that can close scored (none for 5 s), and the
            // re-partitioning ended (or the time for it is up).
            let settled = consumed >= Int64(records) && scored > 0 && Date().timeIntervalSince(scoredChanged) > 5
            let loopDone = target == nil || console.commandEnded
            let late = Date().timeIntervalSince(started) > Double(timeout)
            if !follow, settled && loopDone || late { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        console.endProgress()
        // For the message if the loop did not close: how long ago each detector's loop last stepped.
        let loops = detectors.map { detector -> String in
            let snapshot = detector.status.snapshot
            let age = snapshot.lastStep.map { String(format: "%.0f s ago", Date().timeIntervalSince($0)) } ?? "never"
            return "last step \(age), \(snapshot.windowsScored) windows scored, \(snapshot.predictionsStored) predictions"
        }.joined(separator: "; ")

        // 5. Stop, verify, report.
        if let (application, task) = writer {
            application.stop.store(true, ordering: .relaxed)
            await task.value
        }
        for detector in detectors { detector.status.requestStop() }
        for task in running { try await task.value }
        if let executor, let executing {
            executor.health.update { $0.stopRequested = true }
            try await executing.value
        }
        try console.drain()
        console.close()
        if let decisions {
            try await console.showPlanDecisions(decisions, table: demoTarget!.qualified)
            await decisions.store.close()
        }

        let reportPath = folder.appendingPathComponent("drift-report.html").path
        try Self.writeReport(dataset, to: reportPath, title: "Drift in \(topic)")
        print("drift report: \(reportPath)")
        if let plan = console.planPath { print("plan: \(plan)") }
        let opened = try await MetadataStores.open(storeURL)
        let scores = try await MetadataRepository(store: opened).log(WindowScoreRecord.self, kind: MetadataKind.windowScore, source: topic)
        await opened.close()
        let line = scores.map { $0.score >= 0.5 ? "█" : $0.score >= 0.3 ? "▄" : "▁" }.joined()
        let snapshots = detectors.map(\.status.snapshot)
        let alerts = snapshots.reduce(0) { $0 + $1.alertsPublished }
        print("windows scored: \(snapshots.reduce(0) { $0 + $1.windowsScored }) by \(snapshots.filter { $0.windowsScored > 0 }.count) of the 2 instances "
              + "(after a 5-window reference) — score by window: \(line)")
        print("published: \(snapshots.reduce(0) { $0 + $1.driftEventsPublished }) drift events, \(alerts) alerts, "
              + "\(snapshots.reduce(0) { $0 + $1.deadLettersPublished }) dead letters (\(console.deadLetterIDs.count) distinct; \(snapshots.reduce(0) { $0 + $1.malformedRecords }) malformed records read); "
              + "read back \(console.alertsRead) alerts from \(topics.alerts)")
        guard console.alertsRead == alerts else { throw ValidationError("published \(alerts) alerts but read back \(console.alertsRead)") }
        if let demoTarget, let (application, _) = writer {
            let rows = try await demoTarget.rows()
            let leaves = try await demoTarget.leaves()
            let inserted = application.inserted.load(ordering: .relaxed)
            let failed = application.failed.load(ordering: .relaxed)
            print("target: \(demoTarget.qualified) has \(rows) rows in \(leaves) partitions; the application inserted \(inserted) orders meanwhile (\(failed) failed)")
            guard rows == Int64(historyRows) + inserted else {
                throw ValidationError("the table has \(rows) rows, expected \(historyRows) + \(inserted): rows were lost or doubled")
            }
            guard failed == 0 else { throw ValidationError("\(failed) of the application's inserts failed: \(application.lastError.withLock { $0 } ?? "")") }
            guard console.completed else {
                let why = console.lastState.map { "its last status: \($0)" }
                    ?? console.lastDecision.map { "no command; the planner's last decision: \($0.decision) — \($0.reason)" } ?? "the planner has not run"
                let logged = warnings.recent.isEmpty ? "" : "; the services' last warnings:\n  " + warnings.recent.joined(separator: "\n  ")
                throw ValidationError("the re-partitioning did not complete within \(timeout) s (\(why); detectors: \(loops))\(logged)")
            }
            print("verified: every row kept, the table re-partitioned online")
        }
        print("demo complete")
    }

    /// The HTML report: the first fifth of the stream (before the drift) against its drifted end.
    static func writeReport(_ dataset: DriftDataset, to path: String, title: String) throws {
        let reference = WindowProfile(), current = WindowProfile()
        var windows: [WindowProfile] = []
        let scanner = JSONScanner()
        let referenceEnd = dataset.records / 5
        let perWindow = max(1, (dataset.records - dataset.driftStart) / 6)
        dataset.forEachRecord { index, record in
            if index < referenceEnd {
                _ = reference.add(record, scanner: scanner)
            } else if index >= dataset.driftStart {
                if (index - dataset.driftStart) % perWindow == 0 { windows.append(WindowProfile()) }
                if current.add(record, scanner: scanner) == nil { windows[windows.count - 1].addScanned(scanner) }
            }
        }
        let report = DriftReport(title: title, reference: reference, current: current, windows: windows, schema: nil)
        try Data(report.renderHTML().utf8).write(to: URL(fileURLWithPath: path))
    }
}
