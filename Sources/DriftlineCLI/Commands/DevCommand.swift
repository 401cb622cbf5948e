import ArgumentParser
import DriftlineKafka
import DriftlineMessages
import Foundation

struct DevCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run an embedded Kafka cluster on loopback with Driftline's topics, until Ctrl-C.",
        discussion: """
            The cluster is librdkafka's mock cluster: the real Kafka protocol, in memory, so kcat and \
            any Kafka client can connect (e.g. `kcat -b 127.0.0.1:9092 -L`). It keeps about 5 MiB per \
            partition; older data is dropped.
            """
    )

    @Option(help: "Loopback port clients bootstrap from.")
    var port: UInt16 = 9092

    @Option(help: "Number of brokers.")
    var brokers: Int = 1

    @Option(help: "Partitions of each Driftline topic.")
    var partitions: Int = 3

    @Option(name: .customLong("topic"), help: "Extra topic to create, as NAME or NAME:PARTITIONS (repeatable).")
    var extraTopics: [String] = []

    func validate() throws {
        guard partitions > 0 else { throw ValidationError("--partitions must be positive") }
        for spec in extraTopics { _ = try TopicSpec(parsing: spec) }
    }

    func run() throws {
        let cluster = try EmbeddedKafkaCluster(brokers: brokers, bootstrapPort: port)
        for topic in DriftlineTopics.defaults.all {
            try cluster.createTopic(topic, partitions: partitions, replicationFactor: min(brokers, 3))
        }
        for spec in try extraTopics.map(TopicSpec.init(parsing:)) {
            try cluster.createTopic(spec.name, partitions: spec.partitions, replicationFactor: min(brokers, 3))
        }
        print("driftline dev: embedded Kafka cluster with \(brokers) broker(s)")
        print("bootstrap: \(cluster.bootstrapServers)")
        print("topics: \((DriftlineTopics.defaults.all + extraTopics.compactMap { try? TopicSpec(parsing: $0).name }).joined(separator: ", "))")
        print("try: kcat -b \(cluster.bootstrapServers) -L")
        print("Ctrl-C to stop.")
        fflush(nil)  // flush stdout before blocking, so a piped reader sees the address now
        waitForTermination()
        print("driftline dev: stopping")
        withExtendedLifetime(cluster) {}
    }
}

struct TopicSpec {
    var name: String
    var partitions: Int

    init(parsing spec: String) throws {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty else {
            throw ValidationError("topic '\(spec)' should be NAME or NAME:PARTITIONS")
        }
        name = String(parts[0])
        if parts.count == 2 {
            guard let count = Int(parts[1]), count > 0 else {
                throw ValidationError("topic '\(spec)': partitions must be a positive integer")
            }
            partitions = count
        } else {
            partitions = 1
        }
    }
}

/// Blocks until SIGINT or SIGTERM.
func waitForTermination() {
    let semaphore = DispatchSemaphore(value: 0)
    var sources: [DispatchSourceSignal] = []
    for signalNumber in [SIGINT, SIGTERM] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler { semaphore.signal() }
        source.resume()
        sources.append(source)
    }
    semaphore.wait()
    sources.forEach { $0.cancel() }
}
