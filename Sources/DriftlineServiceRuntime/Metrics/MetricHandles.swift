import CoreMetrics
import Foundation
import Prometheus

/// swift-metrics handles recorded into one Prometheus registry per service (so several services in
/// one process, as in tests, do not share counters), each made once per label and dimensions.
/// Thread-safe: the detector records from its source side and its aggregation side. (A lock, not a
/// `Mutex`: the handles are stored as `Any`, which a `Mutex` would need to be `sending`.)
public final class MetricHandles: @unchecked Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let lock = NSLock()
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
        lock.lock()
        defer { lock.unlock() }
        if let existing = handles[key] as? Handle { return existing }
        let made = make()
        handles[key] = made
        return made
    }
}
