import CoreMetrics
import DriftlineProfiling
import DriftlineServiceRuntime
import Prometheus

/// The detector's Prometheus metrics, recorded through swift-metrics into one registry per
/// service (so several detectors in one process, as in tests, do not share counters).
final class DetectorMetrics {
    private let handles: MetricHandles
    var registry: PrometheusCollectorRegistry { handles.registry }

    init(registry: PrometheusCollectorRegistry) {
        handles = MetricHandles(registry: registry, durationBuckets: [
            .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(15), .seconds(60), .seconds(300)])
        for stage in DetectorStage.allCases { _ = handles.floatingCounter("driftline_stage_cpu_seconds_total", [("stage", stage.rawValue)]) }
    }

    /// A watched source's counters exist from the start at 0, so dashboards and alert rules see
    /// every series (and `increase()` counts the first event) before anything happened.
    func sourceWatched(_ source: String) {
        for name in ["driftline_records_total", "driftline_record_bytes_total", "driftline_late_records_total", "driftline_drift_events_total", "driftline_dead_letters_total"] {
            _ = counter(name, [("source", source)])
        }
        for complete in ["true", "false"] { _ = counter("driftline_windows_scored_total", [("source", source), ("complete", complete)]) }
        for result in ["stored", "failed"] { _ = counter("driftline_prediction_refreshes_total", [("source", source), ("result", result)]) }
        for reason in ScanErrorReason.allCases { _ = counter("driftline_malformed_records_total", [("source", source), ("reason", reason.rawValue)]) }
    }

    /// The same for a table the closed loop plans.
    func tablePlanned(_ table: String) {
        for decision in ["repartition", "keep", "in_flight", "failed"] { _ = counter("driftline_planner_runs_total", [("table", table), ("decision", decision)]) }
        _ = counter("driftline_repartition_commands_total", [("table", table)])
    }

    /// CPU seconds per pipeline stage (`DetectorStage`), so a dashboard shows where the detector's cores go.
    func stageCPU(_ stages: StageCPU) {
        for (stage, seconds) in stages.seconds where seconds > 0 {
            handles.floatingCounter("driftline_stage_cpu_seconds_total", [("stage", stage)]).increment(by: seconds)
        }
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

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Counter { handles.counter(label, dimensions) }
    private func gauge(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Gauge { handles.gauge(label, dimensions) }
    private func timer(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Timer { handles.timer(label, dimensions) }

    /// A planning run of the closed loop ended: `repartition` (a command was sent), `keep`, `in_flight`, `failed`.
    func planned(_ table: String, decision: String, improvement: Double?) {
        counter("driftline_planner_runs_total", [("table", table), ("decision", decision)]).increment()
        if let improvement { gauge("driftline_planner_predicted_improvement", [("table", table)]).record(improvement) }
    }

    func commandSent(_ table: String) {
        counter("driftline_repartition_commands_total", [("table", table)]).increment()
    }
}
