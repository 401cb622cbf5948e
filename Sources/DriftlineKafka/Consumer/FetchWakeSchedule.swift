/// When a consumer wakes librdkafka's fetchers (`RdKafkaFetchWaker`): after a batch that came back
/// full — the queue holds more than one batch, so the application is behind the broker and the
/// fetchers may have stopped at the queue's limit — at most once per `interval`, one wake at a time,
/// none once stopped. Pure, so its rules are tested without a broker.
struct FetchWakeSchedule {
    let interval: Duration
    private var lastStarted: ContinuousClock.Instant?
    private var inFlight = false
    private var stopped = false

    init(interval: Duration = .milliseconds(50)) { self.interval = interval }

    enum Action: Equatable {
        case wake
        case none
    }

    /// A batch was consumed; `full` when it returned as many messages as it asked for.
    mutating func batchConsumed(full: Bool, now: ContinuousClock.Instant) -> Action {
        guard full, !stopped, !inFlight else { return .none }
        if let lastStarted, now - lastStarted < interval { return .none }
        lastStarted = now
        inFlight = true
        return .wake
    }

    mutating func wakeFinished() { inFlight = false }

    /// The consumer is closing: no wake starts from now on.
    mutating func stop() { stopped = true }
}
