/// When the aggregator refreshes a source's schema prediction: every `everyWindows` scored
/// windows, and at once after a new schema version (the stored prediction is then about a version
/// that already exists). Pure; 0 switches refreshing off.
struct PredictionSchedule: Equatable {
    enum Action: Equatable {
        case none
        /// Refresh from the history up to this window (its start, epoch milliseconds).
        case refresh(latestWindow: Int64)
    }

    let everyWindows: Int
    private(set) var windowsSinceRefresh = 0
    private(set) var stale = false

    init(everyWindows: Int) { self.everyWindows = everyWindows }

    mutating func schemaVersionRecorded() { stale = true }

    mutating func windowsScored(_ starts: [Int64]) -> Action {
        windowsSinceRefresh += starts.count
        guard everyWindows > 0, windowsSinceRefresh >= everyWindows || stale, let latest = starts.max() else { return .none }
        windowsSinceRefresh = 0
        stale = false
        return .refresh(latestWindow: latest)
    }
}
