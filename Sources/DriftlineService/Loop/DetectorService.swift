import DriftlineDetector
import DriftlineKafka
import DriftlineMetadata
import DriftlineServiceRuntime
import Foundation
import Logging
import Prometheus
import ServiceLifecycle

/// Why the detector stopped or refused to start; tests match on the case, operators read the text.
public enum DetectorServiceError: Error, CustomStringConvertible, Equatable {
    case configuration(String)
    /// A topic the detector needs does not exist (`role`: source or output).
    case topicMissing(String, role: String)
    /// Output messages were not delivered; nothing was committed past them.
    case deliveryFailed(count: Int, last: String)
    /// The aggregator lease of a source stayed held by another instance.
    case leaseHeld(source: String)
    /// librdkafka reported a fatal error: the client cannot go on.
    case fatalKafka(String)
    case kafka(String)

    public var description: String {
        switch self {
        case let .configuration(reason): "configuration: \(reason)"
        case let .topicMissing(topic, "source"): "kafka: source topic '\(topic)' does not exist"
        case let .topicMissing(topic, role): "kafka: \(role) topic '\(topic)' does not exist (create it, or run `driftline dev` for a local cluster)"
        case let .deliveryFailed(count, last): "kafka: \(count) output messages were not delivered (last: \(last)); stopping without committing past them"
        case let .leaseHeld(source): "metadata lease: the aggregator lease of '\(source)' stays held by another instance"
        case let .fatalKafka(reason): "kafka: fatal error: \(reason)"
        case let .kafka(reason): "kafka: \(reason)"
        }
    }
}

/// `driftline detect` as a swift-service-lifecycle `Service`: opens (and migrates) the metadata
/// store, then runs the detector loop until a graceful shutdown (SIGTERM) asks it to finish its
/// batch, commit and leave the group. A PostgreSQL store's client is a child task of this service:
/// started before the loop, cancelled and awaited after it, so the loop's last writes (shutdown
/// commits, lease releases) always have a client.
public struct DetectorService: Service {
    public let configuration: DetectorConfiguration
    public let status: ServiceStatus
    public let registry: PrometheusCollectorRegistry
    let logger: Logger
    let recordLimit: Int64?

    public init(configuration: DetectorConfiguration, status: ServiceStatus = ServiceStatus(),
                registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), logger: Logger, recordLimit: Int64? = nil) {
        self.configuration = configuration
        self.status = status
        self.registry = registry
        self.logger = logger
        self.recordLimit = recordLimit
    }

    public func run() async throws {
        defer { status.update { $0.finished = true } }
        // The store (and a PostgreSQL client, as a child task) lives exactly as long as the loop.
        try await MetadataStores.withStore(configuration.metadataStore) { store in
            try await store.migrate()
            let loop = try DetectorLoop(configuration: configuration, store: store, status: status,
                                        metrics: DetectorMetrics(registry: registry), logger: logger, recordLimit: recordLimit)
            try await withGracefulShutdownHandler {
                try await withTaskExecutorPreference(BlockingWorkExecutor(label: "driftline.detector.loop")) {
                    try await loop.run()
                }
            } onGracefulShutdown: {
                status.requestStop()
            }
        }
    }

    /// The detector plus its HTTP endpoints, stopped together on SIGTERM or SIGINT. Returns when
    /// the detector finishes (stopped, or its record limit reached).
    public func runWithHTTP() async throws {
        let http = HealthServer.application(listen: configuration.httpListen, health: status, registry: registry, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: self, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: http),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}
