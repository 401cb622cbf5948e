import ArgumentParser
import DriftlineKafka
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks, each against a baseline run in the same process (build with -c release).",
        subcommands: [KafkaBench.self, ProfileBench.self, DriftBench.self, ChangesBench.self, MetadataBench.self, DetectBench.self, ForecastBench.self, ProphetBench.self, PlanBench.self, ExecuteBench.self]
    )
}

struct KafkaBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract: "Produce and consume throughput of Driftline's client layer vs kcat, on one embedded cluster.",
        discussion: """
            Both sides move the same messages (same count, key and value sizes) through the same embedded \
            cluster. kcat runs with tuned prefetch (-X queued.min.messages=1000000 -X fetch.wait.max.ms=10) \
            and assigns partitions directly; Driftline's consumer joins a group, so its clock starts at \
            the first message, after the group join. kcat's time includes its process start-up.
            """
    )

    @Option(help: "Messages per run.")
    var messages: Int = 1_000_000

    @Option(help: "Value size in bytes.")
    var valueSize: Int = 100

    @Option(help: "Partitions of each benchmark topic (the embedded cluster keeps ~5 MiB per partition).")
    var partitions: Int = 64

    @Option(help: "kcat executable; empty to skip the baseline.")
    var kcat: String = "kcat"

    @Option(help: "Repetitions; the best run of each side is reported.")
    var repeats: Int = 3

    func validate() throws {
        guard messages > 0, valueSize > 0, partitions > 0, repeats > 0 else {
            throw ValidationError("--messages, --value-size, --partitions and --repeats must be positive")
        }
        let perPartition = messages / partitions * (valueSize + 16)
        guard perPartition < 4 * 1024 * 1024 else {
            throw ValidationError("about \(perPartition / 1024) KiB per partition would exceed what the embedded cluster keeps; raise --partitions")
        }
    }

    func run() throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1)
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: valueSize)
        let kcatPath = kcat.isEmpty ? nil : executablePath(named: kcat)
        if !kcat.isEmpty, kcatPath == nil { print("kcat not found; reporting Driftline only") }

        var best: [String: Double] = [:]
        func record(_ name: String, _ seconds: Double) {
            let rate = Double(messages) / seconds
            best[name] = max(best[name] ?? 0, rate)
            print("  " + name.padding(toLength: 20, withPad: " ", startingAt: 0) + String(format: "%12.0f msg/s  (%.3f s)", rate, seconds))
        }

        for run in 1...repeats {
            print("run \(run)/\(repeats): \(messages) messages of \(valueSize) B over \(partitions) partitions")
            let topic = "bench-driftline-\(run)"
            try cluster.createTopic(topic, partitions: partitions)
            record("driftline produce", try produceWithDriftline(cluster, topic: topic, value: value))
            record("driftline consume", try consumeWithDriftline(cluster, topic: topic, group: "bench-\(run)"))
            if let kcatPath {
                let kcatTopic = "bench-kcat-\(run)"
                try cluster.createTopic(kcatTopic, partitions: partitions)
                record("kcat produce", try produceWithKcat(kcatPath, cluster, topic: kcatTopic, value: value))
                record("kcat consume", try consumeWithKcat(kcatPath, cluster, topic: kcatTopic))
            }
        }
        print("best of \(repeats):")
        for name in ["driftline produce", "kcat produce", "driftline consume", "kcat consume"] {
            if let rate = best[name] { print("  " + name.padding(toLength: 20, withPad: " ", startingAt: 0) + String(format: "%12.0f msg/s", rate)) }
        }
        if let ours = best["driftline produce"], let theirs = best["kcat produce"] {
            print(String(format: "produce ratio driftline/kcat: %.2f", ours / theirs))
        }
        if let ours = best["driftline consume"], let theirs = best["kcat consume"] {
            print(String(format: "consume ratio driftline/kcat: %.2f", ours / theirs))
        }
    }

    private func produceWithDriftline(_ cluster: EmbeddedKafkaCluster, topic: String, value: [UInt8]) throws -> Double {
        var configuration = KafkaProducerConfiguration(client: cluster.clientConfiguration(clientID: "bench"))
        configuration.lingerMilliseconds = 5
        let producer = try KafkaProducer(configuration: configuration)
        let start = DispatchTime.now()
        for index in 0..<messages {
            try producer.send(ProducerRecord(topic: topic, key: Array(String(index).utf8), value: value))
        }
        try producer.close(timeout: .seconds(120))
        let elapsed = seconds(since: start)
        let counts = producer.deliveryCounts
        guard counts.delivered == messages else {
            throw ValidationError("driftline producer delivered \(counts.delivered) of \(messages): \(String(describing: counts.lastFailure))")
        }
        return elapsed
    }

    private func consumeWithDriftline(_ cluster: EmbeddedKafkaCluster, topic: String, group: String) throws -> Double {
        let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(
            client: cluster.clientConfiguration(clientID: "bench"), groupID: group
        ))
        defer { try? consumer.close() }
        try checkNothingDropped(consumer, topic: topic)
        try consumer.subscribe(topics: [topic])
        var received = 0
        var bytes = 0
        var start: DispatchTime?
        while received < messages {
            let events = consumer.consumeBatch(maxMessages: 10_000, timeout: .milliseconds(100)) { message in
                if start == nil { start = .now() }
                received += 1
                bytes &+= message.value?.count ?? 0
            }
            for case let .error(error) in events where error.isFatal { throw error }
        }
        return seconds(since: start!)
    }

    private func checkNothingDropped(_ consumer: KafkaConsumer, topic: String) throws {
        for partition in 0..<Int32(partitions) {
            let marks = try consumer.watermarks(TopicPartition(topic, partition))
            guard marks.low == 0 else {
                throw ValidationError("the embedded cluster dropped old data of \(topic)[\(partition)] (low watermark \(marks.low)); raise --partitions")
            }
        }
    }

    private func produceWithKcat(_ kcat: String, _ cluster: EmbeddedKafkaCluster, topic: String, value: [UInt8]) throws -> Double {
        var input = Data()
        input.reserveCapacity(messages * (valueSize + 10))
        for index in 0..<messages {
            input.append(contentsOf: Array("\(index):".utf8))
            input.append(contentsOf: value)
            input.append(UInt8(ascii: "\n"))
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("driftline-bench-\(getpid()).txt")
        try input.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let start = DispatchTime.now()
        try runProcess(kcat, ["-P", "-b", cluster.bootstrapServers, "-t", topic, "-K", ":", "-X", "linger.ms=5",
                                   "-X", "enable.idempotence=true", "-l", file.path])
        return seconds(since: start)
    }

    private func consumeWithKcat(_ kcat: String, _ cluster: EmbeddedKafkaCluster, topic: String) throws -> Double {
        let start = DispatchTime.now()
        let output = try runProcess(kcat, [
            "-C", "-b", cluster.bootstrapServers, "-t", topic, "-o", "beginning", "-e", "-q",
            "-X", "queued.min.messages=1000000", "-X", "fetch.wait.max.ms=10", "-f", "%o\n",
        ], captureLines: true).lines
        let elapsed = seconds(since: start)
        guard output == messages else { throw ValidationError("kcat consumed \(output) of \(messages) messages") }
        return elapsed
    }



}
