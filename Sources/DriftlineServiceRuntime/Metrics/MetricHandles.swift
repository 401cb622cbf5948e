import CoreMetrics
import Prometheus

/// swift-metrics handles recorded into one Prometheus registry per service (so several services in
/// one process, as in tests, do not share counters), each made once per label and dimensions.
/// Not thread-safe: one owner (the service's loop) records.
public final class MetricHandles {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private var handles: [String: Any] = [:]

    public init(registry: PrometheusCollectorRegistry, durationBuckets: [Duration]) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = durationBuckets
        self.factory = factory
    }

    public func counter(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Counter {
        cached(label, dimensions) { CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory) }
    }

    public func floatingCounter(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.FloatingPointCounter {
        cached(label, dimensions) { CoreMetrics.FloatingPointCounter(label: label, dimensions: dimensions, factory: factory) }
    }

    public func gauge(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Gauge {
        cached(label, dimensions) { CoreMetrics.Gauge(label: label, dimensions: dimensions, factory: factory) }
    }

    public func timer(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Timer {
        cached(label, dimensions) { CoreMetrics.Timer(label: label, dimensions: dimensions, factory: factory) }
    }

    private func cached<Handle>(_ label: String, _ dimensions: [(String, String)], make: () -> Handle) -> Handle {
        let key = ([label] + dimensions.map { "\($0.0)=\($0.1)" }).joined(separator: "\u{1}")
        if let existing = handles[key] as? Handle { return existing }
        let made = make()
        handles[key] = made
        return made
    }
}
