import DriftlineKafka
import Testing

/// librdkafka 2.0.2's mock cluster accepts every transactional request but keeps no transaction
/// state: it writes no abort markers (read_committed readers see aborted messages), does not store
/// offsets sent with TxnOffsetCommit, and does not fence an older producer with the same
/// transactional id. Those broker-side checks are recorded as known issues on the embedded cluster
/// and hold strictly against a real Kafka (`DRIFTLINE_TEST_KAFKA_BROKERS=host:port`).
private let mockHasNoTransactionState = "librdkafka 2.0.2's mock cluster keeps no transaction state (markers, offsets, fencing)"

@Suite(.timeLimit(.minutes(10)))
struct TransactionTests {
    /// Consume–transform–produce: an aborted transaction leaves neither its messages nor its offsets
    /// visible to read_committed readers; a committed one makes both visible together.
    @Test func abortedTransactionIsInvisibleAndCommittedOneCarriesItsOffsets() throws {
        let kafka = try TestKafka()
        let input = try kafka.createTopic("input", partitions: 1)
        let output = try kafka.createTopic("output", partitions: 1)
        let plain = try makeProducer(kafka)
        _ = try produceAll(plain, (0..<10).map { ProducerRecord(topic: input, value: bytes("in-\($0)")) })
        try plain.close()

        let source = try makeConsumer(kafka, group: "transformer-\(input)")
        try source.subscribe(topics: [input])
        var inputs: [KafkaMessage] = []
        try pollUntil(source, "10 input messages") { event in
            if case let .message(message) = event { inputs.append(message) }
            return inputs.count == 10
        }
        let inputPartition = TopicPartition(input, 0)

        let producer = try makeProducer(kafka, transactionalID: "transformer-\(input)")
        try producer.initTransactions()

        // First attempt: transform the first five, make sure they reach the log, then abort.
        try producer.beginTransaction()
        for message in inputs.prefix(5) {
            try producer.send(ProducerRecord(topic: output, value: bytes("aborted-") + message.value!))
        }
        try producer.sendOffsetsToTransaction([inputs[4].nextOffset], group: source.groupMetadata())
        try producer.flush()
        try producer.abortTransaction()
        #expect(try source.committed([inputPartition]).first?.offset == KafkaOffset.invalid, "aborted offsets are not committed")

        // Second attempt: transform all ten and commit.
        try producer.beginTransaction()
        for message in inputs {
            try producer.send(ProducerRecord(topic: output, value: bytes("done-") + message.value!))
        }
        try producer.sendOffsetsToTransaction([inputs[9].nextOffset], group: source.groupMetadata())
        try producer.commitTransaction()
        try producer.close()

        // The aborted messages really were written: an uncommitted reader sees them, in order.
        let everything = try readToEnd(kafka, topic: output, isolation: .readUncommitted)
        #expect(everything == (0..<5).map { "aborted-in-\($0)" } + (0..<10).map { "done-in-\($0)" })

        let committedValues = try readToEnd(kafka, topic: output, isolation: .readCommitted)
        let committedOffset = try source.committed([inputPartition]).first?.offset
        try source.close()
        withKnownIssue(Comment(rawValue: mockHasNoTransactionState)) {
            #expect(committedValues == (0..<10).map { "done-in-\($0)" }, "read_committed sees only the committed transaction")
            #expect(committedOffset == 10, "offsets become visible with the transaction")
        } when: { kafka.isEmbedded }
    }

    @Test func transactionsNeedATransactionalID() throws {
        let kafka = try TestKafka()
        let producer = try makeProducer(kafka)
        let error = #expect(throws: KafkaError.self) { try producer.initTransactions(timeout: .seconds(5)) }
        #expect(error?.description.contains("init transactions") == true)
        try producer.close()
    }

    @Test func aSecondProducerWithTheSameTransactionalIDFencesTheFirst() throws {
        let kafka = try TestKafka()
        let topic = try kafka.createTopic("fenced", partitions: 1)
        let first = try makeProducer(kafka, transactionalID: "shared-\(topic)")
        try first.initTransactions()
        try first.beginTransaction()
        try first.send(ProducerRecord(topic: topic, value: bytes("zombie")))
        try first.flush()

        let second = try makeProducer(kafka, transactionalID: "shared-\(topic)")
        try second.initTransactions()
        try second.beginTransaction()
        try second.send(ProducerRecord(topic: topic, value: bytes("live")))
        try second.commitTransaction()
        try second.close()

        var zombieCommit: KafkaError?
        do { try first.commitTransaction(timeout: .seconds(10)) } catch { zombieCommit = error }
        try? first.close(timeout: .seconds(1))
        let visible = try readToEnd(kafka, topic: topic, isolation: .readCommitted)
        #expect(visible.contains("live"))
        withKnownIssue(Comment(rawValue: mockHasNoTransactionState)) {
            #expect(zombieCommit?.isFatal == true, "a fenced producer must stop")
            #expect(visible == ["live"])
        } when: { kafka.isEmbedded }
    }

    private func readToEnd(_ kafka: TestKafka, topic: String, isolation: IsolationLevel) throws -> [String] {
        let reader = try makeConsumer(kafka, group: "reader-\(isolation.rawValue)-\(topic)", isolation: isolation, reportEOF: true)
        try reader.subscribe(topics: [topic])
        var values: [String] = []
        try pollUntil(reader, "end of \(topic)") { event in
            switch event {
            case let .message(message): values.append(String(decoding: message.value ?? [], as: UTF8.self))
            case .partitionEOF: return true
            default: break
            }
            return false
        }
        try reader.close()
        return values
    }
}
