import ArgumentParser
import DriftlineKafka
import DriftlineMessages
import DriftlineSampleData
import Foundation

struct DetectBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "One `driftline detect` instance end to end vs kcat consuming the same topic, with peak RSS.",
        discussion: """
            Produces the drift dataset (233 B JSON records, lz4) to an embedded cluster, then in the same \
            run: kcat with tuned prefetch (-X queued.min.messages=1000000 -X fetch.wait.max.ms=10) reads \
            the topic to its end, and `driftline detect --exit-after-records N` (a child process of this \
            executable) consumes, profiles, scores and publishes. Reported: kcat's wall time (start-up \
            included), the detector's consuming span (first to last record) and wall time (start-up, group \
            join and final scoring included), and the detector's peak RSS.
            """
    )

    @Option(help: "Records in the topic.")
    var records = 1_000_000

    @Option(help: "Partitions (default: enough to stay under the embedded cluster's ~5 MiB per partition).")
    var partitions: Int?

    @Option(help: """
        Window size in seconds of event time. The dataset advances 10 ms a record, so 1M records span \
        10,000 s: the default 600 gives 17 windows, already far more windows per record than a live \
        topic at this rate would close.
        """)
    var windowSeconds = 600

    @Option(help: "How records carry their event time `ts`: milliseconds (a number) or rfc3339 (a string).")
    var timestamps: DriftDataset.Timestamps = .milliseconds

    @Option(name: .customLong("kafka-property"), help: "A librdkafka property for the detector (key=value; repeatable).")
    var kafkaProperties: [String] = []

    @Option(help: "Profiling lanes of the detector (`workers` in its configuration; default: one per core, at most 8).")
    var workers: Int?

    @Option(help: "kcat executable; empty to skip the baseline.")
    var kcat = "kcat"

    func validate() throws {
        guard records >= 10_000 else { throw ValidationError("--records must be at least 10000") }
        if let partitions, partitions < 1 { throw ValidationError("--partitions must be positive") }
        if let workers, !(1...64).contains(workers) { throw ValidationError("--workers must be in 1...64") }
    }

    func run() throws {
        let partitions = partitions ?? max(64, records / 40_000)
        let cluster = try EmbeddedKafkaCluster(brokers: 1)
        try withExtendedLifetime(cluster) {
            let topic = "bench.orders"
            try cluster.createTopic(topic, partitions: partitions)
            for name in DriftlineTopics.defaults.all { try cluster.createTopic(name, partitions: 3) }
            let bytes = try produce(cluster, topic: topic, partitions: partitions)
            print("topic: \(records) records, \(bytes / 1_000_000) MB of JSON, \(partitions) partitions, lz4, ts as \(timestamps.rawValue)")

            var kcatSeconds: Double?
            let kcatPath = kcat.isEmpty ? nil : executablePath(named: kcat)
            if !kcat.isEmpty, kcatPath == nil { print("kcat not found; reporting Driftline only") }
            if let kcatPath {
                let start = DispatchTime.now()
                let lines = try runProcess(kcatPath, ["-C", "-b", cluster.bootstrapServers, "-t", topic, "-o", "beginning", "-e", "-q",
                                                  "-X", "queued.min.messages=1000000", "-X", "fetch.wait.max.ms=10", "-f", "%o\n"], captureLines: true)
                kcatSeconds = seconds(since: start)
                guard lines.lines == records else { throw ValidationError("kcat read \(lines.lines) of \(records) records") }
                print(String(format: "kcat (tuned prefetch): %.2f s wall → %.0f records/s", kcatSeconds!, Double(records) / kcatSeconds!))
            }

            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("driftline-bench-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let config = directory.appendingPathComponent("driftline.yaml")
            try """
                kafka:
                  brokers: [\(cluster.bootstrapServers)]
                  groupId: bench-\(UUID().uuidString.prefix(8))
                  properties: {\(kafkaProperties.map { $0.replacingOccurrences(of: "=", with: ": ") }.joined(separator: ", "))}
                sources:
                  - topic: \(topic)
                    eventTime: {field: ts, unit: \(timestamps.rawValue)}
                    weights: {ts: {distribution: 0}, event_id: {distribution: 0}}
                windows: {size: \(windowSeconds)s, allowedLateness: 1s}
                metadata: {store: \(directory.appendingPathComponent("metadata.sqlite").path)}
                http: {listen: "127.0.0.1:0"}
                \(workers.map { "workers: \($0)" } ?? "")
                """.write(to: config, atomically: true, encoding: .utf8)
            let start = DispatchTime.now()
            let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
            let detect = ["detect", "--config", config.path, "--exit-after-records", String(records), "--log-level", "warning"]
            // A profiler around the detector alone (heaptrack, valgrind, perf): its first word is the
            // program, the rest its arguments, then the detector's command line.
            let wrapper = ProcessInfo.processInfo.environment["DRIFTLINE_BENCH_DETECTOR_WRAPPER"].map { $0.split(separator: " ").map(String.init) } ?? []
            let output = try wrapper.first.map { try runProcess(executablePath(named: $0) ?? $0, Array(wrapper.dropFirst()) + [executable] + detect).output }
                ?? runProcess(executable, detect).output
            let wall = seconds(since: start)
            guard let span = number(after: "consuming span ", in: output), let rss = number(after: "peak RSS ", in: output) else {
                throw ValidationError("unexpected detector output:\n\(output)")
            }
            print(output.split(separator: "\n").filter { $0.hasPrefix("detector stopped") || $0.hasPrefix("consuming span") }.joined(separator: "\n"))
            if let stages = output.split(separator: "\n").first(where: { $0.hasPrefix("stage CPU s: ") }) { printStages(String(stages)) }
            print(String(format: "driftline detect: %.2f s consuming → %.0f records/s; %.2f s wall (start-up, group join, final scoring); peak RSS %.1f MiB",
                         span, Double(records) / span, wall, rss))
            if let kcatSeconds {
                print(String(format: "ratio driftline/kcat records/s: %.2f consuming span, %.2f wall to wall", kcatSeconds / span, kcatSeconds / wall))
            }
        }
    }

    private func produce(_ cluster: EmbeddedKafkaCluster, topic: String, partitions: Int) throws -> Int {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(
            client: cluster.clientConfiguration(clientID: "bench-producer"), lingerMilliseconds: 20, compression: .lz4))
        var bytes = 0
        let progress = ProgressReporter(total: records, label: "produced")
        DriftDataset(records: records, timestamps: timestamps).forEachRecord { index, record in
            bytes += record.count
            while true {
                do {
                    try producer.send(ProducerRecord(topic: topic, partition: Int32(index % partitions), value: Array(record)))
                    break
                } catch {
                    Thread.sleep(forTimeInterval: 0.005)  // queue full: let deliveries drain
                }
            }
            if index % 50_000 == 0 { progress.update(index) }
        }
        try producer.flush(timeout: .seconds(300))
        progress.finish()
        guard producer.deliveryCounts.failed == 0 else { throw ValidationError("\(producer.deliveryCounts.failed) records failed to produce") }
        try producer.close()
        let admin = try KafkaAdmin(configuration: cluster.clientConfiguration(clientID: "bench-admin"))
        for partition in 0..<partitions {
            let marks = try admin.watermarks(TopicPartition(topic, Int32(partition)))
            guard marks.low == 0 else {
                throw ValidationError("the embedded cluster dropped the start of partition \(partition) (low watermark \(marks.low)): use more --partitions")
            }
        }
        return bytes
    }

    /// The detector's stage line as a table: CPU seconds per stage, per million records, and share.
    private func printStages(_ line: String) {
        let body = line.dropFirst("stage CPU s: ".count)
        let halves = body.components(separatedBy: "; metadata wall ")
        let stages: [(String, Double)] = halves[0].components(separatedBy: ", ").compactMap { part in
            let fields = part.split(separator: " ")
            guard fields.count == 2, let seconds = Double(fields[1]) else { return nil }
            return (String(fields[0]), seconds)
        }
        let total = stages.map(\.1).reduce(0, +)
        let perMillion = 1_000_000 / Double(records)
        print("stage                 CPU s   s per 1M records   share")
        for (stage, seconds) in stages {
            print(stage.padding(toLength: 20, withPad: " ", startingAt: 0) + String(format: " %6.2f   %16.2f   %4.0f%%", seconds, seconds * perMillion, total > 0 ? seconds / total * 100 : 0))
        }
        print("total".padding(toLength: 20, withPad: " ", startingAt: 0) + String(format: " %6.2f   %16.2f", total, total * perMillion))
        if halves.count == 2 { print("metadata store calls: \(halves[1]) wall (their CPU is on the store's threads, in \"other\")") }
    }

    private func number(after prefix: String, in text: String) -> Double? {
        guard let range = text.range(of: prefix) else { return nil }
        return Double(text[range.upperBound...].prefix { $0.isNumber || $0 == "." })
    }
}

extension DriftDataset.Timestamps: ExpressibleByArgument {}
