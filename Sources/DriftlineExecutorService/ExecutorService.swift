import DriftlineExecutor
import DriftlineKafka
import DriftlineMetadata
import DriftlineProfiling
import DriftlineServiceRuntime
import DriftlineTargets
import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization

/// What the executor's HTTP endpoints and its operators see.
public final class ExecutorHealth: ServiceHealth, Sendable {
    public struct Snapshot: Sendable {
        public var lastBeat = Date()
        public var ready = false
        public var stopRequested = false
        public var httpPort: Int?
        public var commandsCompleted = 0
        public var commandsRejected = 0
        public var commandsFailed = 0
        public var current: String?
    }

    private let state = Mutex(Snapshot())
    public init() {}
    public var snapshot: Snapshot { state.withLock { $0 } }
    public func update(_ body: (inout Snapshot) -> Void) { state.withLock { body(&$0) } }
    public func isHealthy() -> Bool { Date().timeIntervalSince(snapshot.lastBeat) < 60 }
    public func notReadyReason() -> String? { snapshot.ready ? nil : "waiting for the commands topic's partitions" }
    public func httpListening(port: Int?) { update { $0.httpPort = port } }
}

public enum ExecutorServiceError: Error, CustomStringConvertible {
    case topicMissing(String)
    case fatalKafka(String)
    case targetMissing(String)

    public var description: String {
        switch self {
        case let .topicMissing(topic): "kafka: topic '\(topic)' does not exist (create it, or run `driftline dev` for a local cluster)"
        case let .fatalKafka(reason): "kafka: fatal error: \(reason)"
        case let .targetMissing(store): "configuration: a command names the \(store) store, which targets does not configure"
        }
    }
}

/// `driftline execute --config`: its own consumer group on the commands topic (keyed by table, so
/// one table's commands arrive in order), one command at a time, status to the status topic. A
/// command's offset is committed only after it ended (completed, rejected or failed); stopped
/// midway (SIGTERM), it is not, and the next executor resumes it from its checkpoint.
public struct ExecutorService: Service {
    public let configuration: ExecutorConfiguration
    public let health: ExecutorHealth
    public let registry: PrometheusCollectorRegistry
    let logger: Logger

    public init(configuration: ExecutorConfiguration, health: ExecutorHealth = ExecutorHealth(),
                registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), logger: Logger) {
        self.configuration = configuration; self.health = health; self.registry = registry; self.logger = logger
    }

    public func run() async throws {
        try await MetadataStores.withStore(configuration.metadataStore) { store in
            try await store.migrate()
            try await withGracefulShutdownHandler {
                try await withTaskExecutorPreference(BlockingWorkExecutor(label: "driftline.executor.loop")) {
                    try await loop(MetadataRepository(store: store))
                }
            } onGracefulShutdown: {
                health.update { $0.stopRequested = true }
            }
        }
    }

    /// The executor plus `/healthz` `/readyz` `/metrics`, stopped together on SIGTERM or SIGINT.
    public func runWithHTTP() async throws {
        let http = HealthServer.application(listen: configuration.httpListen, health: health, registry: registry, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: self, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: http, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    private func loop(_ repository: MetadataRepository) async throws {
        let client = configuration.kafka.clientConfiguration
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(
            client: client, groupID: configuration.kafka.groupID, queuedMinMessages: 100, fetchWaitMaxMilliseconds: 50))
        let metadata = try producer.metadata()
        for topic in [configuration.commandsTopic, configuration.statusTopic] {
            guard let described = metadata.topic(topic), described.error == nil, !described.partitions.isEmpty else { throw ExecutorServiceError.topicMissing(topic) }
        }
        let metrics = MetricHandles(registry: registry, durationBuckets: [.milliseconds(10), .milliseconds(100), .seconds(1), .seconds(10), .seconds(60), .seconds(600)])
        // Every outcome's series exists from the start at 0 (dashboards, `increase()` of the first one).
        for outcome in [RepartitionStatus.State.completed, .rejected, .failed] {
            _ = metrics.counter("driftline_executor_commands_total", [("outcome", outcome.rawValue)])
        }
        try consumer.subscribe(topics: [configuration.commandsTopic])
        logger.info("executor waiting for commands", metadata: ["topic": "\(configuration.commandsTopic)"])
        var assigned: [TopicPartition] = []
        while !health.snapshot.stopRequested {
            health.update { $0.lastBeat = Date() }
            for event in consumer.poll(maxMessages: 1, timeout: .milliseconds(200)) {
                switch event {
                case let .rebalance(.assigned(partitions)):
                    assigned = partitions
                    health.update { $0.ready = true }
                case .rebalance(.revoked):
                    assigned = []
                case let .message(message):
                    // One command at a time: the others wait, paused, while this one runs (polling
                    // continues, so the group keeps this member).
                    try consumer.pause(assigned)
                    let outcome = try await execute(message, repository: repository, producer: producer, consumer: consumer, metrics: metrics)
                    if let outcome {
                        try consumer.storeOffset(message)
                        try consumer.commit()
                        metrics.counter("driftline_executor_commands_total", [("outcome", outcome.rawValue)]).increment()
                        health.update {
                            switch outcome {
                            case .completed: $0.commandsCompleted += 1
                            case .rejected: $0.commandsRejected += 1
                            default: $0.commandsFailed += 1
                            }
                        }
                    }
                    try consumer.resume(assigned)
                case let .error(error):
                    if error.isFatal { throw ExecutorServiceError.fatalKafka("\(error)") }
                    logger.warning("kafka: \(error)")
                case .partitionEOF: break
                }
            }
        }
        try consumer.commit()
        try consumer.close()
        try producer.flush()
        try producer.close()
    }

    /// Runs one command; nil when stopped before it ended (its offset stays uncommitted).
    private func execute(_ message: KafkaMessage, repository: MetadataRepository, producer: KafkaProducer, consumer: KafkaConsumer,
                         metrics: MetricHandles) async throws -> RepartitionStatus.State? {
        let key = message.key.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let command: RepartitionCommand
        do {
            command = try JSONDecoder().decode(RepartitionCommand.self, from: Data(message.value ?? []))
        } catch {
            logger.error("a message at \(message.topic)[\(message.partition)]@\(message.offset) is not a repartition command", metadata: ["error": "\(error)"])
            let status = RepartitionStatus(commandId: "\(message.topic)-\(message.partition)-\(message.offset)", table: key.isEmpty ? "unknown" : key,
                                           state: .rejected, error: "not a repartition command (schemas/repartition-command.v1.json): \(error)",
                                           emittedAt: Self.now())
            try await publish(status, producer: producer)
            return .rejected
        }
        guard let url = configuration.targets[command.store] else {
            let status = RepartitionStatus(commandId: command.id, table: command.table, state: .rejected,
                                           error: "no target database for the \(command.store) store is configured", emittedAt: Self.now())
            try await publish(status, producer: producer)
            return .rejected
        }
        health.update { $0.current = "\(command.id) on \(command.table)" }
        defer { health.update { $0.current = nil } }
        let target: any TargetStore
        do { target = try await TargetStores.open(url, capture: configuration.capture) } catch {
            // The database is unreachable: the command stays for the next attempt (not committed).
            logger.error("target unavailable", metadata: ["error": "\(error)"])
            try await Task.sleep(for: .seconds(5))
            return nil
        }
        let progress = JobMetrics(metrics: metrics)
        var runner = RepartitionRunner(command: command, target: target, repository: repository, holder: configuration.kafka.clientID + "-\(getpid())",
                                       settings: configuration.workflow, leaseTTL: .seconds(configuration.leaseSeconds)) { status in
            progress.record(status)
            do { try await publish(status, producer: producer) } catch { logger.error("status not delivered", metadata: ["error": "\(error)"]) }
        }
        if command.dryRun {
            // Checked against the target, changed nothing.
            let status = await runner.dryRun()
            await target.close()
            try await publish(status, producer: producer)
            return status.state
        }
        let stop = health
        runner.shouldStop = { stop.snapshot.stopRequested }
        // The job runs on the global pool; this loop keeps polling (paused) so the group keeps it.
        let job = Task(executorPreference: globalConcurrentExecutor) { await runner.run() }
        let finished = Atomic(false)
        let watcher = Task(executorPreference: globalConcurrentExecutor) { _ = await job.value; finished.store(true, ordering: .releasing) }
        while !finished.load(ordering: .acquiring) {
            health.update { $0.lastBeat = Date() }
            for event in consumer.poll(maxMessages: 1, timeout: .milliseconds(100)) {
                if case let .error(error) = event, error.isFatal { logger.error("kafka: \(error)") }
            }
        }
        await watcher.value
        let outcome = await job.value
        await target.close()
        return outcome
    }

    private func publish(_ status: RepartitionStatus, producer: KafkaProducer) async throws {
        _ = try await producer.sendAndWait(ProducerRecord(topic: configuration.statusTopic, key: Array(status.table.utf8), value: Array(try JSONEncoder().encode(status))))
    }

    static func now() -> String { RFC3339.string(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded())) }
}

/// The executor's per-table job metrics, from the statuses a job emits: copy progress (back to 0
/// when the job ends, so a finished job never looks stuck), rows copied, the last swap's lock time.
final class JobMetrics: @unchecked Sendable {
    // Statuses of one job arrive in order from one task; the lock covers the hand-off between tasks.
    private let lock = NSLock()
    private let metrics: MetricHandles
    private var copied: [String: Int64] = [:]

    init(metrics: MetricHandles) { self.metrics = metrics }

    func record(_ status: RepartitionStatus) {
        lock.withLock {
            let table = [("table", status.table)]
            let ended: Set<RepartitionStatus.State> = [.completed, .failed, .rejected, .rolledBack]
            let ratio = ended.contains(status.state) || status.rowsTotal == 0 ? 0 : min(1, Double(status.rowsDone) / Double(status.rowsTotal))
            metrics.gauge("driftline_executor_copy_progress_ratio", table).record(ratio)
            let before = copied[status.commandId] ?? 0
            if status.rowsDone > before {
                metrics.counter("driftline_executor_copied_rows_total", table).increment(by: status.rowsDone - before)
                copied[status.commandId] = status.rowsDone
            }
            if let held = status.lockMilliseconds { metrics.gauge("driftline_executor_swap_lock_seconds", table).record(held / 1000) }
            if ended.contains(status.state) { copied.removeValue(forKey: status.commandId) }
        }
    }
}
