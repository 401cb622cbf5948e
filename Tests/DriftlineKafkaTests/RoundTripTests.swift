import DriftlineKafka
import Testing

@Suite(.timeLimit(.minutes(10)))
struct RoundTripTests {
    @Test func messagesComeBackByteIdenticalInPartitionOrder() throws {
        let cluster = try makeCluster(topics: [("orders", 3)])
        let producer = try makeProducer(cluster)
        var generator = SystemRandomNumberGenerator()
        let records: [ProducerRecord] = (0..<600).map { index in
            let value: [UInt8]? = switch index % 50 {
            case 7: nil  // a tombstone
            case 8: []   // empty is not null
            default: (0..<(index % 300)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            }
            return ProducerRecord(
                topic: "orders",
                key: index % 40 == 0 ? nil : bytes("key-\(index % 17)") + [0, UInt8(index % 256)],
                value: value,
                headers: [
                    KafkaHeader("trace", bytes("t\(index)")),
                    KafkaHeader("binary", [0, 255, UInt8(index % 256)]),
                    KafkaHeader("absent", nil),
                ],
                timestampMilliseconds: 1_700_000_000_000 + Int64(index)
            )
        }
        let reports = try produceAll(producer, records)
        try producer.close()

        // Expected order per partition is the order of the offsets the broker assigned.
        var expected: [Int32: [(offset: Int64, record: ProducerRecord)]] = [:]
        for (record, report) in zip(records, reports) {
            #expect(report.topic == "orders")
            expected[report.partition, default: []].append((report.offset, record))
        }
        #expect(expected.count == 3, "a keyed workload should reach every partition")

        let consumer = try makeConsumer(cluster, group: "round-trip")
        try consumer.subscribe(topics: ["orders"])
        var received: [Int32: [KafkaMessage]] = [:]
        var count = 0
        try pollUntil(consumer, "all 600 messages") { event in
            if case let .message(message) = event {
                received[message.partition, default: []].append(message)
                count += 1
            }
            return count == records.count
        }
        try consumer.close()

        for (partition, want) in expected {
            let got = received[partition] ?? []
            #expect(got.map(\.offset) == want.map(\.offset).sorted(), "partition \(partition) out of order or incomplete")
            for (message, (offset, record)) in zip(got, want.sorted { $0.offset < $1.offset }) {
                #expect(message.offset == offset)
                #expect(message.key == record.key)
                #expect(message.value == record.value)
                #expect(message.headers == record.headers)
                #expect(message.timestamp == .createTime(record.timestampMilliseconds!))
            }
        }
    }

    @Test func explicitPartitionIsHonoured() throws {
        let cluster = try makeCluster(topics: [("pinned", 4)])
        let producer = try makeProducer(cluster)
        let reports = try produceAll(producer, (0..<20).map { ProducerRecord(topic: "pinned", partition: 2, value: bytes("v\($0)")) })
        #expect(reports.allSatisfy { $0.partition == 2 })
        #expect(reports.map(\.offset) == Array(0..<20))
        #expect(try producer.metadata().topic("pinned")?.partitions.count == 4)
        try producer.close()
    }

    @Test func sendAndWaitReportsWhereTheMessageLanded() async throws {
        let cluster = try makeCluster(topics: [("single", 1)])
        let producer = try makeProducer(cluster)
        let first = try await producer.sendAndWait(ProducerRecord(topic: "single", value: bytes("a")))
        let second = try await producer.sendAndWait(ProducerRecord(topic: "single", value: bytes("b")))
        #expect(first.offset == 0 && second.offset == 1 && first.partition == 0)
        try producer.close()
    }
}
