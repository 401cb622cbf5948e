import CRdKafka
import Dispatch
import Synchronization

/// Keeps librdkafka's fetchers going while the application is behind.
///
/// librdkafka before 2.2 stops fetching once the consumer queue holds `queued.max.messages.kbytes`
/// and decides to fetch again only when its broker thread wakes up for some other reason — a
/// request to send, a reply, or its one-second idle timeout. Draining the queue does not wake it. A
/// consumer slower than its broker (any backlog) therefore empties the queue and then waits for
/// data: `bench detect` idled 0.1–0.3 s after every 64 MiB (its consuming span 2.1 s, 7.1 s with a
/// 16 MiB queue; 1.6 s for both with these wakes).
///
/// A wake is a ListOffsets request for the assignment (`rd_kafka_offsets_for_times` at the latest
/// offset): librdkafka sends it through each partition's leader, so every fetching broker thread
/// wakes, sees the queue below its limit and fetches. It runs on its own queue, so polling never
/// waits for it; its answer is not needed.
final class RdKafkaFetchWaker: @unchecked Sendable {
    private let client: RdKafkaClient
    private let queue = DispatchQueue(label: "driftline.kafka.fetch-wake")
    private let schedule = Mutex(FetchWakeSchedule())
    private let sent = Atomic<Int>(0)

    init(client: RdKafkaClient) { self.client = client }

    /// Wake requests sent so far (tests and diagnostics).
    var wakesSent: Int { sent.load(ordering: .relaxed) }

    func batchConsumed(full: Bool) {
        let now = ContinuousClock.now
        guard schedule.withLock({ $0.batchConsumed(full: full, now: now) }) == .wake else { return }
        queue.async { [self] in
            defer { schedule.withLock { $0.wakeFinished() } }
            if wake() { sent.add(1, ordering: .relaxed) }
        }
    }

    /// Before the consumer closes: no new wake starts, and the one running (if any) has returned.
    func stop() {
        schedule.withLock { $0.stop() }
        queue.sync {}
    }

    /// False when there was nothing to send (no assignment).
    private func wake() -> Bool {
        var assignment: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(client.handle, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR, let assignment else { return false }
        defer { rd_kafka_topic_partition_list_destroy(assignment) }
        guard assignment.pointee.cnt > 0 else { return false }
        for index in 0..<Int(assignment.pointee.cnt) { assignment.pointee.elems[index].offset = KafkaOffset.end }  // as a timestamp: the latest offset
        // Ignored on purpose: the request reaching each leader's broker thread is the point; a
        // failure (a leader moving, a timeout) only means this wake did not help, and the next
        // full batch sends another.
        _ = rd_kafka_offsets_for_times(client.handle, assignment, 1_000)
        return true
    }
}
