import DriftlineDrift
import DriftlineMessages

/// Turns one scored window into the messages the detector publishes: drift events for every field
/// component whose weighted value is at or above `eventLevel`, and alerts from per-field and source-level alert states.
/// Pure and deterministic (ids derive from source, field, window and kind), so a window scored twice
/// (after a restart or by another instance) yields byte-identical messages.
public struct OutputBuilder: Sendable, Codable, Equatable {
    public var source: String
    public var policy: AlertPolicy
    public var eventLevel = 0.5
    private var fieldAlerts: [String: AlertState] = [:]
    private var sourceAlert = AlertState()

    public init(source: String, policy: AlertPolicy = AlertPolicy()) {
        self.source = source
        self.policy = policy
    }

    public struct Window: Sendable {
        public var start: Int64
        public var end: Int64
        public var referenceStart: Int64
        public var referenceEnd: Int64
        public var schemaVersion: Int?

        public init(start: Int64, end: Int64, referenceStart: Int64, referenceEnd: Int64, schemaVersion: Int? = nil) {
            self.start = start
            self.end = end
            self.referenceStart = referenceStart
            self.referenceEnd = referenceEnd
            self.schemaVersion = schemaVersion
        }
    }

    public mutating func messages(for score: SourceScore, comparison: DriftComparison, window: Window, now: Int64) -> (events: [DriftEventMessage], alerts: [AlertMessage]) {
        let reference = SourceReference(topic: source)
        var events: [DriftEventMessage] = []
        for field in score.fields {
            guard let drift = comparison.field(field.path) else { continue }
            for kind in Self.kinds(field, drift, eventLevel) {
                events.append(DriftEventMessage(
                    source: reference, field: field.path, kind: kind, score: field.score, metrics: Self.metrics(drift),
                    current: (window.start, window.end), reference: (window.referenceStart, window.referenceEnd), emittedAt: now))
            }
        }
        var alerts: [AlertMessage] = []
        for field in score.fields {
            var state = fieldAlerts[field.path] ?? AlertState()
            if let alert = alert(state.event(score: field.score, policy: policy), field: field.path, score: field.score,
                                 components: field.components, window: window, now: now) {
                alerts.append(alert)
            }
            fieldAlerts[field.path] = state
        }
        let components = score.fields.first.map { $0.components } ?? [:]
        if let alert = alert(sourceAlert.event(score: score.score, policy: policy), field: nil, score: score.score,
                             components: components, window: window, now: now, topField: score.fields.first?.path) {
            alerts.append(alert)
        }
        return (events, alerts)
    }

    private func alert(
        _ action: AlertState.Action, field: String?, score: Double, components: [ScoreComponent: Double],
        window: Window, now: Int64, topField: String? = nil
    ) -> AlertMessage? {
        let state: String
        let severity: AlertSeverity
        switch action {
        case .none: return nil
        case let .fire(level), let .escalate(level):
            state = "firing"
            severity = level
        case .resolve:
            state = "resolved"
            severity = policy.severity(score)
        }
        // Ties broken by name: the same window must give the same sentence on every instance.
        let strongest = components.filter { $0.value > 0 }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.rawValue < $1.key.rawValue }.prefix(2)
            .map { "\($0.key.rawValue) \(Self.format($0.value))" }.joined(separator: ", ")
        let subject = field.map { "field '\($0)' of \(source)" } ?? "\(source)\(topField.map { " (most of all '\($0)')" } ?? "")"
        let sentence = state == "firing"
            ? "Schema drift in \(subject): score \(Self.format(score)) ≥ \(Self.format(policy.fireLevel))\(strongest.isEmpty ? "" : " (\(strongest))")."
            : "Drift in \(subject) resolved: score \(Self.format(score)) below \(Self.format(policy.resolveLevel))."
        return AlertMessage(
            source: SourceReference(topic: source), field: field, state: state, severity: severity.rawValue, score: score,
            threshold: policy.fireLevel, windowStart: window.start, windowEnd: window.end,
            components: Dictionary(uniqueKeysWithValues: components.map { ($0.key.rawValue, $0.value) }),
            schemaVersion: window.schemaVersion, message: sentence, emittedAt: now)
    }

    static func format(_ value: Double) -> String { String(Double(Int((value * 100).rounded())) / 100) }

    /// What drifted, by the weighted components (what the score is made of): a field whose
    /// weights make a component 0 (an id's ever-moving distribution) publishes no event for it.
    static func kinds(_ field: FieldScore, _ drift: FieldDrift, _ level: Double) -> [DriftEventMessage.Kind] {
        guard field.score > 0 else { return [] }
        func weighted(_ component: ScoreComponent) -> Double { (field.components[component] ?? 0) * (field.weights[component] ?? 0) }
        var kinds: [DriftEventMessage.Kind] = []
        if weighted(.presence) >= level {
            if drift.status == .added { kinds.append(.fieldAdded) }
            if drift.status == .removed { kinds.append(.fieldRemoved) }
        }
        if weighted(.typeChange) >= level { kinds.append(.typeChange) }
        if weighted(.distribution) >= level { kinds.append(.distributionShift) }
        if max(weighted(.missingRate), weighted(.nullRate)) >= level { kinds.append(.missingRate) }
        // Change-point activity has a small weight by design; it qualifies an event, never makes one.
        if (field.components[.changePointActivity] ?? 0) >= level, !kinds.isEmpty { kinds.append(.changePoint) }
        return kinds
    }

    /// The field's headline metrics plus the missing and null rates on both sides.
    static func metrics(_ drift: FieldDrift) -> [String: Double] {
        drift.headlineMetrics.merging([
            "missing_rate_reference": drift.schema.referenceMissingRate, "missing_rate_current": drift.schema.currentMissingRate,
            "null_rate_reference": drift.schema.referenceNullRate, "null_rate_current": drift.schema.currentNullRate,
        ]) { first, _ in first }
    }
}
