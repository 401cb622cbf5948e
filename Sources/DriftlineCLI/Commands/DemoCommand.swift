import ArgumentParser
import DriftlineKafka
import DriftlineMessages
import Foundation

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "End-to-end run on the embedded defaults: start a cluster, produce sample records, consume them back."
    )

    @Option(help: "Sample records to produce.")
    var records: Int = 10_000

    @Option(help: "Partitions of the sample topic.")
    var partitions: Int = 4

    func validate() throws {
        guard records > 0 else { throw ValidationError("--records must be positive") }
        guard partitions > 0 else { throw ValidationError("--partitions must be positive") }
    }

    func run() throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1)
        let topic = "demo.orders"
        try cluster.createTopic(topic, partitions: partitions)
        for name in DriftlineTopics.defaults.all { try cluster.createTopic(name, partitions: 3) }
        print("embedded cluster at \(cluster.bootstrapServers); topic \(topic) with \(partitions) partitions")

        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: cluster.clientConfiguration(clientID: "driftline-demo")))
        for index in 0..<records {
            let amount = Double(index % 1000) / 10
            let json = #"{"order_id":\#(index),"customer":"c\#(index % 97)","amount":\#(amount),"currency":"EUR"}"#
            try producer.send(ProducerRecord(
                topic: topic, key: Array("c\(index % 97)".utf8), value: Array(json.utf8),
                headers: [KafkaHeader("source", Array("demo".utf8))]
            ))
        }
        try producer.close()
        let counts = producer.deliveryCounts
        print("produced \(counts.delivered) records (\(counts.failed) failed)")
        if let failure = counts.lastFailure { throw failure }

        let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(
            client: cluster.clientConfiguration(clientID: "driftline-demo"), groupID: "driftline-demo"
        ))
        try consumer.subscribe(topics: [topic])
        var consumed = 0
        var bytes = 0
        var perPartition: [Int32: Int] = [:]
        var nextOffsets: [Int32: Int64] = [:]
        let progress = ProgressReporter(total: records, label: "consumed")
        while consumed < records {
            let events = consumer.consumeBatch(maxMessages: 1000, timeout: .milliseconds(200)) { message in
                consumed += 1
                bytes += message.value?.count ?? 0
                perPartition[message.partition, default: 0] += 1
                nextOffsets[message.partition] = message.offset + 1
            }
            for case let .error(error) in events { FileHandle.standardError.write(Data("warning: \(error)\n".utf8)) }
            progress.update(consumed)
        }
        try consumer.commit(nextOffsets.map { TopicPartitionOffset(topic: topic, partition: $0.key, offset: $0.value) })
        try consumer.close()
        progress.finish()
        print("consumed \(consumed) records, \(bytes) bytes; per partition: \(perPartition.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
        print("demo complete")
    }
}
