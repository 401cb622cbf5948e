import CoreMetrics
import Prometheus

/// The detector's Prometheus metrics, recorded through swift-metrics into one registry per
/// service (so several detectors in one process, as in tests, do not share counters).
final class DetectorMetrics {
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private var handles: [String: Any] = [:]

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [.milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(15), .seconds(60), .seconds(300)]
        self.factory = factory
    }

    func records(_ source: String, count: Int64, bytes: Int64) {
        counter("driftline_records_total", [("source", source)]).increment(by: count)
        counter("driftline_record_bytes_total", [("source", source)]).increment(by: bytes)
    }

    func malformed(_ source: String, reason: String, count: Int64) {
        counter("driftline_malformed_records_total", [("source", source), ("reason", reason)]).increment(by: count)
    }

    func late(_ source: String, count: Int64) {
        counter("driftline_late_records_total", [("source", source)]).increment(by: count)
    }

    func lag(_ source: String, messages: Int64) {
        gauge("driftline_consumer_lag_messages", [("source", source)]).record(messages)
    }

    func windowScored(_ source: String, closeLatencyMilliseconds: Int64, complete: Bool) {
        timer("driftline_window_close_latency_seconds", [("source", source)]).recordMilliseconds(max(0, closeLatencyMilliseconds))
        counter("driftline_windows_scored_total", [("source", source), ("complete", complete ? "true" : "false")]).increment()
    }

    func score(_ source: String, field: String?, value: Double) {
        gauge("driftline_drift_score", [("source", source), ("field", field ?? "*")]).record(value)
    }

    func alert(_ source: String, state: String, severity: String) {
        counter("driftline_alerts_total", [("source", source), ("state", state), ("severity", severity)]).increment()
    }

    func driftEvents(_ source: String, count: Int) {
        counter("driftline_drift_events_total", [("source", source)]).increment(by: count)
    }

    func deadLetters(_ source: String, count: Int) {
        counter("driftline_dead_letters_total", [("source", source)]).increment(by: count)
    }

    func predictionRefreshed(_ source: String, succeeded: Bool) {
        counter("driftline_prediction_refreshes_total", [("source", source), ("result", succeeded ? "stored" : "failed")]).increment()
    }

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Counter {
        cached(label, dimensions) { CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory) }
    }

    private func gauge(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Gauge {
        cached(label, dimensions) { CoreMetrics.Gauge(label: label, dimensions: dimensions, factory: factory) }
    }

    private func timer(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Timer {
        cached(label, dimensions) { CoreMetrics.Timer(label: label, dimensions: dimensions, factory: factory) }
    }

    /// One handle per label and dimensions, made on first use.
    private func cached<Handle>(_ label: String, _ dimensions: [(String, String)], make: () -> Handle) -> Handle {
        let key = Self.key(label, dimensions)
        if let existing = handles[key] as? Handle { return existing }
        let made = make()
        handles[key] = made
        return made
    }

    private static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        ([label] + dimensions.map { "\($0.0)=\($0.1)" }).joined(separator: "\u{1}")
    }
}
