import DriftlineDetector
import DriftlineKafka
import DriftlineMetadata
import Foundation
import Logging
import Prometheus
import ServiceLifecycle

public enum DetectorServiceError: Error, CustomStringConvertible, Equatable {
    case configuration(String)
    case kafka(String)
    case lease(String)

    public var description: String {
        switch self {
        case let .configuration(reason): "configuration: \(reason)"
        case let .kafka(reason): "kafka: \(reason)"
        case let .lease(reason): "metadata lease: \(reason)"
        }
    }
}

/// `driftline detect` as a swift-service-lifecycle `Service`: opens (and migrates) the metadata
/// store, then runs the detector loop until a graceful shutdown (SIGTERM) asks it to finish its
/// batch, commit and leave the group.
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
        let store = try await MetadataStores.open(configuration.metadataStore)
        do {
            try await store.migrate()
            let loop = try DetectorLoop(configuration: configuration, store: store, status: status,
                                        metrics: DetectorMetrics(registry: registry), logger: logger, recordLimit: recordLimit)
            try await withGracefulShutdownHandler {
                try await loop.run()
            } onGracefulShutdown: {
                status.requestStop()
            }
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    /// The detector plus its HTTP endpoints, stopped together on SIGTERM or SIGINT. Returns when
    /// the detector finishes (stopped, or its record limit reached).
    public func runWithHTTP() async throws {
        let http = try HealthServer.application(listen: configuration.httpListen, status: status, registry: registry, logger: logger)
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
