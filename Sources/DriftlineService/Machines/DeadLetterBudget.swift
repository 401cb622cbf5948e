/// How many malformed records of a source are sampled to the dead-letter topic: at most
/// `perWindow` per window of arrival (a malformed record has no event time of its own). The rest
/// are counted, never dropped silently. Pure.
struct DeadLetterBudget: Equatable {
    let perWindow: Int
    let windowSize: Int64
    private var used: [Int64: Int] = [:]

    init(perWindow: Int, windowSize: Int64) {
        self.perWindow = perWindow
        self.windowSize = windowSize
    }

    /// True if a record arriving at `time` (epoch milliseconds) may be sampled; counts it.
    mutating func admit(arrivedAt time: Int64) -> Bool {
        let window = time / windowSize
        guard used[window, default: 0] < perWindow else { return false }
        used[window, default: 0] += 1
        return true
    }

    /// Windows closed: budgets older than the previous window are forgotten (bounded memory).
    mutating func windowsClosed(now: Int64) {
        let oldest = now / windowSize - 1
        used = used.filter { $0.key >= oldest }
    }

    var trackedWindows: Int { used.count }
}
