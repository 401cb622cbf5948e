import ArgumentParser
import DriftlineDetector
import DriftlineKafka
import DriftlineMessages
import DriftlineMetadata
import DriftlineSampleData
import DriftlineService
import Foundation
import Logging

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "The main job on the embedded defaults: drift detection on a generated topic, alerts published and read back.",
        discussion: """
            Starts an embedded Kafka cluster, produces the drift dataset (orders whose last 30% drift: \
            amount's mean, the currency mix, quantity arriving as strings, more null discounts) with a few \
            malformed records, then runs the detector service (`driftline detect`, one instance, in this \
            process) on it: event-time windows on 'ts', the first 5 windows as reference, every later window \
            scored. Drift events, alerts and dead letters go to the driftline.* topics, window scores, drift \
            log and schema versions to a SQLite metadata store, and the alerts are read back from Kafka.
            """
    )

    @Option(help: "Records to produce.")
    var records: Int = 60_000

    @Option(help: "Partitions of the sample topic.")
    var partitions: Int = 4

    @Option(help: "Window size in seconds of event time (the dataset advances 10 ms a record).")
    var windowSeconds: Int = 30

    @Option(help: "How records carry their event time 'ts': rfc3339 (a string, the common form in JSON topics) or milliseconds.")
    var timestamps: DriftDataset.Timestamps = .rfc3339

    func validate() throws {
        guard records >= 1_000 else { throw ValidationError("--records must be at least 1000") }
        guard partitions > 0, windowSeconds > 0 else { throw ValidationError("--partitions and --window-seconds must be positive") }
    }

    @Option(help: "Metadata store (default: a SQLite file in a temporary directory).")
    var store: String?

    func run() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1)
        // Every client is released before the cluster stops, so none logs a refused reconnect.
        try await detect(on: cluster)
        withExtendedLifetime(cluster) {}
    }

    private func detect(on cluster: EmbeddedKafkaCluster) async throws {
        let topic = "demo.orders"
        let topics = DriftlineTopics.defaults
        try cluster.createTopic(topic, partitions: partitions)
        for name in topics.all { try cluster.createTopic(name, partitions: 3) }
        print("embedded Kafka at \(cluster.bootstrapServers); producing \(records) records to \(topic) (\(partitions) partitions)")

        // 1. Produce the dataset, with one malformed record in every 2000.
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: cluster.clientConfiguration(clientID: "driftline-demo")))
        let dataset = DriftDataset(records: records, timestamps: timestamps)
        dataset.forEachRecord { index, record in
            let value = index % 2_000 == 1_999 ? Array(record.prefix(40)) : Array(record)
            try? producer.send(ProducerRecord(topic: topic, partition: Int32(index % partitions), key: Array("order-\(index)".utf8), value: value))
        }
        try producer.flush(timeout: .seconds(60))
        print("produced \(producer.deliveryCounts.delivered) records (\(producer.deliveryCounts.failed) failed); drift starts at record \(dataset.driftStart)")
        try producer.close()

        // 2. The detector service: windows on the event-time field 'ts'; timestamps and ids advance by nature.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("driftline-demo-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = DetectorConfiguration()
        configuration.kafka.brokers = [cluster.bootstrapServers]
        configuration.kafka.groupID = "driftline-demo-detector"
        var source = DetectorConfiguration.Source(topic: topic)
        source.eventTime = .field(path: "ts", unit: timestamps == .rfc3339 ? .rfc3339 : .milliseconds)
        source.weights = ["ts": [.distribution: 0], "event_id": [.distribution: 0]]
        configuration.sources = [source]
        configuration.windows.sizeMilliseconds = Int64(windowSeconds) * 1_000
        configuration.windows.allowedLatenessMilliseconds = 1_000
        configuration.reference = .first(windows: 5)
        configuration.metadataStore = store ?? directory.appendingPathComponent("metadata.sqlite").path
        var logger = Logger(label: "driftline.demo")
        logger.logLevel = .warning
        let service = DetectorService(configuration: configuration, logger: logger, recordLimit: Int64(records))
        let progress = ProgressReporter(total: records, label: "detected records")
        let running = Task { try await service.run() }
        while !service.status.snapshot.finished {
            progress.update(Int(service.status.snapshot.recordsConsumed))
            try await Task.sleep(for: .milliseconds(250))
        }
        try await running.value
        progress.finish()

        let opened = try await MetadataStores.open(configuration.metadataStore)
        let repository = MetadataRepository(store: opened)
        let scores = try await repository.log(WindowScoreRecord.self, kind: MetadataKind.windowScore, source: topic)
        let versions = try await repository.schemaHistory(topic)
        let prediction = try await repository.get(SchemaPrediction.self, kind: MetadataKind.schemaPrediction, source: topic)?.value
        await opened.close()
        let status = service.status.snapshot
        let line = scores.map { $0.score >= 0.5 ? "█" : $0.score >= 0.3 ? "▄" : "▁" }.joined()
        print("windows scored: \(scores.count) (after a 5-window reference) — score by window: \(line)")
        print("published: \(status.driftEventsPublished) drift events, \(status.alertsPublished) alerts, \(status.deadLettersPublished) dead letters (\(status.malformedRecords) malformed records)")
        print("metadata store \(configuration.metadataStore): \(scores.count) window scores, \(versions.count) schema versions")
        if let prediction {
            let changes = prediction.changes.map { "\($0.path) \($0.change)" }.joined(separator: ", ")
            let growth = prediction.growth.map { String(format: "; about %.0f records over the next %d windows", $0.records, $0.windows) } ?? ""
            print("predicted schema version \(prediction.predictedVersion) from \(prediction.historyWindows ?? 0) windows: "
                  + (changes.isEmpty ? "no field expected to appear, vanish or change type" : changes) + growth)
        }

        // 3. Read the alerts back from Kafka, as a subscriber would.
        let reader = try KafkaConsumer(configuration: KafkaConsumerConfiguration(client: cluster.clientConfiguration(clientID: "driftline-demo-reader"), groupID: "driftline-demo-alert-reader", reportPartitionEOF: true))
        try reader.subscribe(topics: [topics.alerts])
        var readBack = 0, ended = Set<Int32>()
        var firing: [String] = []
        let deadline = Date().addingTimeInterval(30)
        while ended.count < 3, Date() < deadline {
            for event in reader.poll(maxMessages: 500, timeout: .milliseconds(200)) {
                guard case let .message(message) = event else {
                    if case let .partitionEOF(position) = event { ended.insert(position.topicPartition.partition) }
                    continue
                }
                readBack += 1
                if let value = message.value, let alert = try? JSONDecoder().decode(AlertMessage.self, from: Data(value)),
                   alert.field == nil { firing.append("  [\(alert.state)] \(alert.message)") }
            }
        }
        try reader.close()
        for line in firing { print(line) }
        print("read back \(readBack) alerts from \(topics.alerts)")
        guard readBack == status.alertsPublished else { throw ValidationError("published \(status.alertsPublished) alerts but read back \(readBack)") }
        print("demo complete")
    }
}
