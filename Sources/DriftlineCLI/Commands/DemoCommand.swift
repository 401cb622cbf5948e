import ArgumentParser
import DriftlineDetector
import DriftlineKafka
import DriftlineMessages
import DriftlineProfiling
import DriftlineSampleData
import Foundation

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "The main job on the embedded defaults: drift detection on a generated topic, alerts published and read back.",
        discussion: """
            Starts an embedded Kafka cluster, produces the drift dataset (orders whose last 30% drift: \
            amount's mean, the currency mix, quantity arriving as strings, more null discounts) with a few \
            malformed records, then consumes it as the detector does: event-time windows on 'ts', the first \
            5 windows as reference, every later window scored. Drift events, alerts and dead letters are \
            published to the driftline.* topics and the alerts are read back from Kafka.
            """
    )

    @Option(help: "Records to produce.")
    var records: Int = 60_000

    @Option(help: "Partitions of the sample topic.")
    var partitions: Int = 4

    @Option(help: "Window size in seconds of event time (the dataset advances 10 ms a record).")
    var windowSeconds: Int = 30

    func validate() throws {
        guard records >= 1_000 else { throw ValidationError("--records must be at least 1000") }
        guard partitions > 0, windowSeconds > 0 else { throw ValidationError("--partitions and --window-seconds must be positive") }
    }

    func run() throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1)
        // Every client is released before the cluster stops, so none logs a refused reconnect.
        try withExtendedLifetime(cluster) { try detect(on: cluster) }
    }

    private func detect(on cluster: EmbeddedKafkaCluster) throws {
        let topic = "demo.orders"
        let topics = DriftlineTopics.defaults
        try cluster.createTopic(topic, partitions: partitions)
        for name in topics.all { try cluster.createTopic(name, partitions: 3) }
        print("embedded Kafka at \(cluster.bootstrapServers); producing \(records) records to \(topic) (\(partitions) partitions)")

        // 1. Produce the dataset, with one malformed record in every 2000.
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: cluster.clientConfiguration(clientID: "driftline-demo")))
        let dataset = DriftDataset(records: records)
        dataset.forEachRecord { index, record in
            let value = index % 2_000 == 1_999 ? Array(record.prefix(40)) : Array(record)
            try? producer.send(ProducerRecord(topic: topic, partition: Int32(index % partitions), key: Array("order-\(index)".utf8), value: value))
        }
        try producer.flush(timeout: .seconds(60))
        print("produced \(producer.deliveryCounts.delivered) records (\(producer.deliveryCounts.failed) failed); drift starts at record \(dataset.driftStart)")

        // 2. Detect: windows on the event-time field 'ts'; timestamps and ids advance by nature.
        var source = DetectorConfiguration.Source(topic: topic)
        source.eventTime = .field(path: "ts", unit: .milliseconds)
        source.weights = ["ts": [.distribution: 0], "event_id": [.distribution: 0]]
        let windowSize = Int64(windowSeconds) * 1_000
        var windowing = SourceWindowing(topic: topic, eventTime: source.eventTime, windows: TumblingWindows(size: windowSize, allowedLateness: 1_000))
        var aggregator = PartialAggregator(partitionCount: partitions, timeout: 60_000)
        var scorer = WindowScorer(source: source, reference: .first(windows: 5))
        let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(client: cluster.clientConfiguration(clientID: "driftline-demo"), groupID: "driftline-demo-detector"))
        try consumer.subscribe(topics: [topic])
        var consumed = 0, published = (events: 0, alerts: 0, deadLetters: 0)
        var scores: [(start: Int64, score: Double)] = []
        var firing: [AlertMessage] = []
        let progress = ProgressReporter(total: records, label: "detected records")
        func publish(_ key: String, _ json: Data, to topic: String) {
            try? producer.send(ProducerRecord(topic: topic, key: Array(key.utf8), value: Array(json)))
        }
        func closeWindows() throws {
            for closed in windowing.closeReady(now: 0) {
                for part in closed.partitions {
                    try aggregator.add(windowStart: closed.start, partial: part.profile, partitions: [part.partition], now: 0)
                }
            }
            for window in aggregator.ready(now: 0) {
                let result = scorer.score(windowStart: window.start, windowEnd: window.start + windowSize, profile: window.profile, now: window.start + windowSize)
                if let score = result.score { scores.append((window.start, score.score)) }
                for event in result.events { publish(event.key, try WireJSON.encode(event), to: topics.driftEvents); published.events += 1 }
                for alert in result.alerts {
                    publish(alert.key, try WireJSON.encode(alert), to: topics.alerts)
                    published.alerts += 1
                    if alert.field == nil { firing.append(alert) }
                }
            }
        }
        while consumed < records {
            var batchError: Error?
            _ = consumer.consumeBatch(maxMessages: 5_000, timeout: .milliseconds(200)) { message in
                consumed += 1
                guard let value = message.value else { return }
                let outcome = windowing.ingest(value, partition: message.partition, offset: message.offset, kafkaTimestamp: message.timestamp.milliseconds, now: 0)
                if case let .malformed(error) = outcome {
                    let letter = DeadLetterMessage(topic: topic, partition: message.partition, offset: message.offset, reason: error.reason.rawValue,
                                                   byteOffset: error.offset, record: Array(value), emittedAt: Int64(Date().timeIntervalSince1970 * 1000))
                    do { publish(letter.key, try WireJSON.encode(letter), to: topics.deadLetter) } catch { batchError = error }
                    published.deadLetters += 1
                }
            }
            if let batchError { throw batchError }
            try closeWindows()
            progress.update(consumed)
        }
        progress.finish()
        try consumer.close()
        try producer.close()

        let line = scores.map { $0.score >= 0.5 ? "█" : $0.score >= 0.3 ? "▄" : "▁" }.joined()
        print("windows scored: \(scores.count) (after a 5-window reference) — score by window: \(line)")
        print("published: \(published.events) drift events, \(published.alerts) alerts, \(published.deadLetters) dead letters (\(windowing.malformed.values.reduce(0, +)) malformed records)")
        for alert in firing { print("  [\(alert.state)] \(alert.message)") }

        // 3. Read the alerts back from Kafka, as a subscriber would.
        let reader = try KafkaConsumer(configuration: KafkaConsumerConfiguration(client: cluster.clientConfiguration(clientID: "driftline-demo-reader"), groupID: "driftline-demo-alert-reader", reportPartitionEOF: true))
        try reader.subscribe(topics: [topics.alerts])
        var readBack = 0, ended = Set<Int32>()
        let deadline = Date().addingTimeInterval(30)
        while ended.count < 3, Date() < deadline {
            for event in reader.poll(maxMessages: 500, timeout: .milliseconds(200)) {
                if case .message = event { readBack += 1 }
                if case let .partitionEOF(position) = event { ended.insert(position.topicPartition.partition) }
            }
        }
        try reader.close()
        print("read back \(readBack) alerts from \(topics.alerts)")
        guard readBack == published.alerts else { throw ValidationError("published \(published.alerts) alerts but read back \(readBack)") }
        print("demo complete")
    }
}
