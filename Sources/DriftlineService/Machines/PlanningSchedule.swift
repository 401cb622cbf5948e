/// When the aggregator plans one table: every `everyWindows` scored windows of its source, and at
/// once when the source's drift forecast or its schema prediction crosses a threshold (the seed's
/// "anticipate" step). The thresholds are edge-triggered: a forecast that stays above plans once,
/// and again only after it fell below. A trigger stays due until a run starts on it: one that comes
/// while a run is going or a command is in flight is planned on afterwards, not lost. Pure; the
/// shell decides whether a run can start.
struct PlanningSchedule: Equatable {
    enum Trigger: Equatable, Codable {
        case schedule
        /// The forecast source score, `ahead` windows on.
        case driftForecast(Double)
        /// The field and confidence of the predicted schema change.
        case schemaChange(path: String, confidence: Double)

        var name: String {
            switch self {
            case .schedule: "schedule"
            case .driftForecast: "drift_forecast"
            case .schemaChange: "schema_change"
            }
        }
    }

    let everyWindows: Int
    let driftThreshold: Double?
    let schemaThreshold: Double?
    private(set) var windowsSincePlan = 0
    private(set) var driftAbove = false
    private(set) var schemaAbove = false
    /// The trigger no run has started on yet.
    private(set) var due: Trigger?

    init(everyWindows: Int, driftThreshold: Double?, schemaThreshold: Double?) {
        self.everyWindows = everyWindows
        self.driftThreshold = driftThreshold
        self.schemaThreshold = schemaThreshold
    }

    /// `count` windows were scored (0: nothing new, asking again); `driftForecast` is the source score
    /// forecast ahead (nil: too little history), `schemaChange` the most confident predicted change.
    /// The trigger due now, if any; it stays due until `started()`. A forecast or schema trigger
    /// replaces a due schedule trigger (it says more about why).
    mutating func windowsScored(_ count: Int, driftForecast: Double?, schemaChange: (path: String, confidence: Double)?) -> Trigger? {
        windowsSincePlan += count
        var trigger: Trigger?
        if let threshold = driftThreshold, let forecast = driftForecast {
            let above = forecast >= threshold
            if above, !driftAbove { trigger = .driftForecast(forecast) }
            driftAbove = above
        }
        if let threshold = schemaThreshold {
            let above = (schemaChange?.confidence ?? 0) >= threshold
            if above, !schemaAbove, trigger == nil, let change = schemaChange { trigger = .schemaChange(path: change.path, confidence: change.confidence) }
            schemaAbove = above
        }
        if trigger == nil, everyWindows > 0, windowsSincePlan >= everyWindows { trigger = .schedule }
        if let trigger {
            windowsSincePlan = 0
            if due == nil || due == .schedule { due = trigger }
        }
        return due
    }

    /// What the schedule has counted and what is due: stored with the aggregator's state, so the
    /// next owner of the source (after a rebalance, a crash or a lost lease) goes on from here
    /// instead of from zero — a handover used to lose a due trigger, and with no more windows
    /// coming the table was never planned.
    struct Progress: Codable, Equatable {
        var windowsSincePlan: Int
        var driftAbove: Bool
        var schemaAbove: Bool
        var due: Trigger?
    }

    var progress: Progress { Progress(windowsSincePlan: windowsSincePlan, driftAbove: driftAbove, schemaAbove: schemaAbove, due: due) }

    mutating func restore(_ progress: Progress) {
        windowsSincePlan = progress.windowsSincePlan
        driftAbove = progress.driftAbove
        schemaAbove = progress.schemaAbove
        due = progress.due
    }

    /// A planning run started on the due trigger.
    mutating func started() {
        due = nil
    }

    /// The run on `trigger` failed or did not finish: it is due again (unless a newer one is).
    mutating func retry(_ trigger: Trigger) {
        if due == nil || due == .schedule { due = trigger }
    }

    /// The source score `ahead` windows on, from a least-squares line through `scores` (oldest
    /// first), clamped to 0...1; nil with fewer than 6 scores. A line, not a fitted model: the
    /// trigger needs the direction and rough size of a trend over the last few windows, cheaply.
    static func trendForecast(_ scores: [Double], ahead: Int) -> Double? {
        guard scores.count >= 6 else { return nil }
        let n = Double(scores.count)
        let meanX = (n - 1) / 2
        let meanY = scores.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0
        for (index, score) in scores.enumerated() {
            let dx = Double(index) - meanX
            sxy += dx * (score - meanY)
            sxx += dx * dx
        }
        let slope = sxx > 0 ? sxy / sxx : 0
        return min(1, max(0, meanY + slope * (n - 1 - meanX + Double(ahead))))
    }
}
