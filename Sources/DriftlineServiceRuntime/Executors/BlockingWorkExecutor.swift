import Dispatch

/// A service loop's own executor: one serial dispatch queue, outside Swift's cooperative thread
/// pool. The detector's and the executor's loops make blocking librdkafka calls (a flush may wait 120 s; commits, watermark and
/// lag queries, the profiling `concurrentPerform`), which on the cooperative pool would hold one of
/// its few threads and starve the HTTP server and the PostgreSQL client (as swift-kafka-client
/// polls on a queue of its own). Awaits on the metadata store hop to their event loops and back.
public final class BlockingWorkExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: the queue is the only state, and DispatchQueue is thread-safe.
    private let queue: DispatchQueue

    /// The label of the executor whose queue runs the caller, if any (logs and tests).
    public static let labelKey = DispatchSpecificKey<String>()

    public init(label: String) {
        queue = DispatchQueue(label: label)
        queue.setSpecific(key: Self.labelKey, value: label)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

}
