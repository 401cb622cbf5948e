@testable import DriftlineKafka
import Testing

/// The rules for waking librdkafka's fetchers, driven without a broker.
struct FetchWakeScheduleTests {
    let start = ContinuousClock.now

    @Test func onlyFullBatchesWake() {
        var schedule = FetchWakeSchedule(interval: .milliseconds(50))
        #expect(schedule.batchConsumed(full: false, now: start) == .none)
        #expect(schedule.batchConsumed(full: true, now: start) == .wake)
    }

    @Test func oneWakeAtATimeAndNotMoreOftenThanTheInterval() {
        var schedule = FetchWakeSchedule(interval: .milliseconds(50))
        #expect(schedule.batchConsumed(full: true, now: start) == .wake)
        // Still running: no second one, however long it takes.
        #expect(schedule.batchConsumed(full: true, now: start + .seconds(5)) == .none)
        schedule.wakeFinished()
        // Finished, but the interval since the last start has passed: a new one.
        #expect(schedule.batchConsumed(full: true, now: start + .seconds(5)) == .wake)
        schedule.wakeFinished()
        #expect(schedule.batchConsumed(full: true, now: start + .seconds(5) + .milliseconds(49)) == .none)
        #expect(schedule.batchConsumed(full: true, now: start + .seconds(5) + .milliseconds(50)) == .wake)
    }

    @Test func nothingWakesAfterStop() {
        var schedule = FetchWakeSchedule(interval: .milliseconds(50))
        schedule.stop()
        #expect(schedule.batchConsumed(full: true, now: start + .seconds(1)) == .none)
    }
}

@Suite(.timeLimit(.minutes(5)))
struct FetchWakeConsumerTests {
    /// A consumer behind its broker (a queue limit far below the backlog, full batches) wakes the
    /// fetchers and still reads every message exactly once, in order per partition.
    @Test func aBackloggedConsumerWakesItsFetchersAndReadsEverything() throws {
        let cluster = try makeCluster(topics: [("backlog", 4)])
        let producer = try makeProducer(cluster)
        let records = (0..<20_000).map { index in
            ProducerRecord(topic: "backlog", partition: Int32(index % 4), key: nil, value: bytes(String(repeating: "x", count: 200) + "\(index)"))
        }
        _ = try produceAll(producer, records)
        try producer.close()

        var configuration = KafkaConsumerConfiguration(client: cluster.clientConfiguration(clientID: "backlog"), groupID: "backlog")
        // 64 KiB of queue for 4 MB of backlog: the fetchers stop at the limit over and over.
        configuration.client.properties["queued.max.messages.kbytes"] = "64"
        let consumer = try KafkaConsumer(configuration: configuration)
        try consumer.subscribe(topics: ["backlog"])
        var next: [Int32: Int64] = [:]
        var read = 0
        let deadline = ContinuousClock.now + .seconds(120)
        while read < records.count, ContinuousClock.now < deadline {
            _ = consumer.consumeBatch(maxMessages: 50, timeout: .milliseconds(100)) { message in
                #expect(message.offset == next[message.partition, default: 0], "partition \(message.partition) skipped or repeated")
                next[message.partition] = message.offset + 1
                read += 1
            }
        }
        #expect(read == records.count)
        #expect(consumer.fetchWakesSent > 0, "full batches behind a full queue must wake the fetchers")
        try consumer.close()
    }
}
