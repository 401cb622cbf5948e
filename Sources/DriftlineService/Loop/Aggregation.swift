import DriftlineDetector
import DriftlineDrift
import DriftlineMessages
import DriftlineMetadata
import DriftlineProfiling
import DriftlineServiceRuntime
import Foundation
import Logging

/// A partial read from the profiles topic: its partition and offset there, and the message.
typealias ReadPartial = (partition: Int32, offset: Int64, message: PartialProfileMessage)

/// The aggregator side of one detector instance: for each source whose key it owns in the
/// profiles topic, it performs the `AggregatorDelivery` machine's actions (lease, restore, fenced
/// outbox), merges partials, scores windows in order and writes what they add to the metadata store.
final class Aggregation {
    static let leaseTTL: Duration = .seconds(10)

    let configuration: DetectorConfiguration
    let repository: MetadataRepository
    let holder: String
    let outputs: OutputTopicReader
    private let publisher: OutputPublisher
    private let status: ServiceStatus
    let metrics: DetectorMetrics
    let logger: Logger
    /// The sources' configurations and average record sizes (the source side reports them).
    private let sources: SourceCatalog
    var aggregators: [String: AggregatorRuntime] = [:]
    /// Aggregators dropped by a revocation, whose leases still need releasing.
    private var released: [Lease] = []
    private var lastLeaseRenewal = ContinuousClock.now
    /// Table → its planning run in progress (closed loop).
    var planningRuns: [String: PlanningRun] = [:]
    /// Commands whose deferral of a due trigger (`in_flight`) this instance has recorded.
    var deferralsRecorded: Set<String> = []
    let planningExecutor = BlockingWorkExecutor(label: "driftline.detector.planning")
    /// How often a planning trigger left due is tried again (each try may read the status topic).
    static let planningRetry: Duration = .seconds(5)
    var lastPlanningRetry = ContinuousClock.now
    /// A planning run still going after this is abandoned, recorded as failed and tried again: CI's
    /// demo once waited 300 s on a run that never reported (a few seconds is usual).
    static let planningRunLimit: Duration = .seconds(120)
    /// Merge and scoring CPU, and the wall time of metadata-store work, since the loop last took them.
    var stages = DetectorStageReport()

    init(configuration: DetectorConfiguration, repository: MetadataRepository, holder: String, outputs: OutputTopicReader, publisher: OutputPublisher,
         status: ServiceStatus, metrics: DetectorMetrics, logger: Logger, sources: SourceCatalog) {
        self.configuration = configuration
        self.repository = repository
        self.holder = holder
        self.outputs = outputs
        self.publisher = publisher
        self.status = status
        self.metrics = metrics
        self.logger = logger
        self.sources = sources
    }

    /// Per profiles partition, the offsets of partials merged but not yet scored.
    var pendingOffsets: [Int32: [Int64]] {
        var pending: [Int32: [Int64]] = [:]
        for runtime in aggregators.values { pending[runtime.profilesPartition, default: []] += runtime.pendingOffsets.values.joined() }
        return pending
    }

    /// Profiles partitions revoked (inside the poll): their aggregators go, leases released after
    /// the batch; the next owner re-reads from the oldest partial still pending.
    func revoke(profilesPartitions lost: Set<Int32>) {
        for (source, runtime) in aggregators where lost.contains(runtime.profilesPartition) {
            if let lease = runtime.delivery.lease { released.append(lease) }
            aggregators.removeValue(forKey: source)
            // Its tables' planning runs go too: the next owner plans them from its own state.
            planningRuns = planningRuns.filter { $0.value.table.source != source }
        }
    }

    /// Shutdown: every lease goes.
    func releaseAll() async {
        released += aggregators.values.compactMap(\.delivery.lease)
        aggregators.removeAll()
        await releaseLeases()
    }

    /// Merges the batch's partials (acquiring leases on first sight) and scores what is ready;
    /// true if there were partials or windows were scored.
    func add(_ partials: [ReadPartial], now: Int64) async throws -> Bool {
        for (partition, offset, partial) in partials {
            guard try await ownAggregator(for: partial, profilesPartition: partition), var runtime = aggregators[partial.source] else { continue }
            do {
                let start = threadCPUSeconds()
                defer { stages.stages.add(DetectorStage.merge.rawValue, threadCPUSeconds() - start) }
                let profile = try WindowProfile(encoded: partial.profile)
                switch try runtime.aggregator.add(windowStart: partial.windowStart, partial: profile, partitions: Set(partial.partitions), now: now) {
                case .merged:
                    runtime.pendingOffsets[partial.windowStart, default: []].append(offset)
                case .alreadyScored:
                    if runtime.skippedRecords == 0, profile.recordCount > 0 {
                        logger.warning("skipping records of windows this source has already scored (a new consumer group, or offsets reset, over a metadata store that holds its state)", metadata: [
                            "source": "\(partial.source)", "scoredThrough": "\(WireTime.format(milliseconds: runtime.aggregator.releasedThrough))"])
                    }
                    runtime.skippedRecords += profile.recordCount
                    status.update { $0.recordsSkippedAlreadyScored += profile.recordCount }
                case .duplicate:
                    break
                }
            } catch {
                // A partial that cannot be used must not stop the detector (it would meet it again
                // after every restart): its window is scored on the others, stating its coverage.
                logger.error("skipping the partial at \(configuration.topics.profiles)[\(partition)]@\(offset) for \(partial.source): \(error)")
                continue
            }
            aggregators[partial.source] = runtime
        }
        var scored = false
        for source in aggregators.keys.sorted() {
            if try await score(source: source, now: now) { scored = true }
        }
        return scored || !partials.isEmpty
    }

    /// Whether this instance owns `partial.source`'s aggregator, acquiring its lease and restoring
    /// its state on first use.
    private func ownAggregator(for partial: PartialProfileMessage, profilesPartition: Int32) async throws -> Bool {
        if let existing = aggregators[partial.source] { return existing.delivery.isIdle }
        guard let source = sources.source(partial.source) else {
            logger.warning("partial for unknown source '\(partial.source)' ignored")
            return false
        }
        aggregators[partial.source] = AggregatorRuntime(
            delivery: AggregatorDelivery(source: partial.source, leaseWait: Self.leaseTTL * 3),
            aggregator: PartialAggregator(partitionCount: Int(partial.partitionCount), timeout: configuration.windows.partialTimeoutMilliseconds),
            scorer: try await freshScorer(source),
            prediction: PredictionSchedule(everyWindows: configuration.prediction.everyWindows),
            profilesPartition: profilesPartition,
            planning: Dictionary(uniqueKeysWithValues: configuration.tables.filter { $0.source == partial.source }.map {
                ($0.name, PlanningSchedule(everyWindows: configuration.planning.everyWindows, driftThreshold: configuration.planning.driftForecastThreshold,
                                           schemaThreshold: configuration.planning.schemaChangeThreshold))
            }))
        try await perform(aggregators[partial.source]!.delivery.partialArrived(now: .now), source: partial.source)
        return aggregators[partial.source]?.delivery.isIdle == true
    }

    /// Runs the delivery machine's actions for `source` until it has nothing more to do.
    func perform(_ first: AggregatorDelivery.Action, source: String) async throws {
        var action = first
        func next(_ event: (inout AggregatorDelivery) -> AggregatorDelivery.Action) -> AggregatorDelivery.Action {
            guard aggregators[source] != nil else { return .none }
            return event(&aggregators[source]!.delivery)
        }
        while true {
            switch action {
            case .none:
                return
            case .acquireLease:
                let lease = try await repository.store.acquireLease("aggregator/\(source)", holder: holder, ttl: Self.leaseTTL, now: Date())
                action = next { $0.leaseAnswered(lease, now: .now) }
            case let .retryLease(after):
                try await Task.sleep(for: after)
                action = .acquireLease
            case .loadState:
                let stored = try await repository.get(AggregatorState.self, kind: MetadataKind.detectorState, source: source)
                if let (state, _) = stored, var runtime = aggregators[source], let watched = sources.source(source) {
                    runtime.aggregator = PartialAggregator(partitionCount: runtime.aggregator.partitionCount, timeout: runtime.aggregator.timeout,
                                                           releasedThrough: state.releasedThrough)
                    runtime.scorer = try WindowScorer(source: watched, reference: configuration.reference, schema: try schema(watched), restoring: state.scorer)
                    runtime.commands = state.commands
                    for (table, progress) in state.planning { runtime.planning[table]?.restore(progress) }
                    aggregators[source] = runtime
                    logger.info("aggregator resumed", metadata: ["source": "\(source)", "releasedThrough": "\(state.releasedThrough)"])
                }
                action = next { $0.stateLoaded(stored?.0, version: stored?.1) }
            case let .deliverMissing(outbox, marks):
                let present = try outputs.ids(from: marks)
                let missing = outbox.filter { !present.contains($0.id) }
                for message in missing { publisher.send(topic: message.topic, key: message.key, value: message.value) }
                try publisher.flush()
                logger.info("outbox delivered after restart", metadata: ["source": "\(source)", "missing": "\(missing.count)", "alreadyPublished": "\(outbox.count - missing.count)"])
                action = next { $0.missingDelivered() }
            case let .store(state, expected, fence):
                let outcome = await storeState(state, source: source, expectedVersion: expected, fence: fence)
                switch outcome {
                case let .success(version): action = next { $0.stored(version: version) }
                case let .failure(error) where error.isConflict || error.isStaleFence: action = next { $0.storeRefused("\(error)") }
                case let .failure(error): throw error
                }
            case let .publish(messages):
                for message in messages { publisher.send(topic: message.topic, key: message.key, value: message.value) }
                try publisher.flush()
                action = next { $0.published() }
            case let .drop(reason):
                // Another instance took this source over: its state wins, ours is dropped unpublished.
                logger.warning("lost the aggregator of '\(source)': \(reason)")
                aggregators.removeValue(forKey: source)
                return
            case let .fail(error):
                throw error
            }
        }
    }

    /// A `Result` rather than `do { } catch where …` around the typed-throwing `put`: that form
    /// crashed the Swift 6.3 compiler (SIL ownership verifier) inside `perform`.
    private func storeState(_ state: AggregatorState, source: String, expectedVersion: Int64?, fence: FencingToken) async -> Result<Int64, MetadataError> {
        do {
            return .success(try await repository.put(state, kind: MetadataKind.detectorState, source: source, expectedVersion: expectedVersion, fence: fence))
        } catch {
            return .failure(error)
        }
    }

    private func freshScorer(_ source: DetectorConfiguration.Source) async throws -> WindowScorer {
        var pinned: WindowProfile?
        if case let .pinned(name) = configuration.reference {
            guard let stored = try await repository.referenceProfile(source: source.topic, name: name) else {
                throw DetectorServiceError.configuration("reference.name '\(name)': no reference profile of that name for '\(source.topic)' in the metadata store")
            }
            pinned = try WindowProfile(encoded: stored.bytes)
        }
        return WindowScorer(source: source, reference: configuration.reference, schema: try schema(source), pinned: pinned)
    }

    private func schema(_ source: DetectorConfiguration.Source) throws -> DeclaredSchema? {
        guard let path = source.schema else { return nil }
        return try DeclaredSchema(contentsOf: URL(fileURLWithPath: path))
    }

    /// Scores every released window of `source` and publishes through the outbox; true if any.
    private func score(source: String, now: Int64) async throws -> Bool {
        guard var runtime = aggregators[source], runtime.delivery.isIdle else { return false }
        let ready = runtime.aggregator.ready(now: now)
        guard !ready.isEmpty else { return false }
        let scoringStart = threadCPUSeconds()
        var outbox: [OutboxMessage] = []
        var scoredWindows: [ScoredWindow] = []
        for window in ready {
            let end = window.start + configuration.windows.sizeMilliseconds
            let result: WindowScorer.Result
            do {
                result = try runtime.scorer.score(windowStart: window.start, windowEnd: end, profile: window.profile, now: now)
            } catch {
                // Scoring it would stop every restart at the same window; it is skipped, loudly.
                logger.error("window not scored", metadata: ["source": "\(source)", "window": "\(window.start)", "reason": "\(error)"])
                runtime.pendingOffsets.removeValue(forKey: window.start)
                continue
            }
            for event in result.events {
                outbox.append(OutboxMessage(topic: configuration.topics.driftEvents, key: event.key, id: event.id, value: try WireJSON.encode(event)))
            }
            for alert in result.alerts {
                outbox.append(OutboxMessage(topic: configuration.topics.alerts, key: alert.key, id: alert.id, value: try WireJSON.encode(alert)))
                metrics.alert(source, state: alert.state, severity: alert.severity)
            }
            if let score = result.score {
                runtime.recentScores = Array((runtime.recentScores + [score.score]).suffix(24))
                metrics.score(source, field: nil, value: score.score)
                for field in score.fields { metrics.score(source, field: field.path, value: field.score) }
            }
            metrics.windowScored(source, closeLatencyMilliseconds: now - end, complete: window.complete)
            if !window.complete {
                logger.warning("window scored on partial coverage", metadata: [
                    "source": "\(source)", "window": "\(window.start)", "partitions": "\(window.coveredPartitions)/\(runtime.aggregator.partitionCount)"])
            }
            scoredWindows.append(ScoredWindow(start: window.start, profile: window.profile, score: result.score, events: result.events, complete: window.complete))
            runtime.pendingOffsets.removeValue(forKey: window.start)
        }
        // The planning schedules count these windows now, so the state stored with them says so.
        let forecast = PlanningSchedule.trendForecast(runtime.recentScores, ahead: configuration.prediction.horizon)
        for name in runtime.planning.keys.sorted() {
            _ = runtime.planning[name]?.windowsScored(scoredWindows.count, driftForecast: forecast, schemaChange: runtime.schemaChange)
        }
        let marks = try outputs.ends(of: Array(Set(outbox.map(\.topic))))
        let state = AggregatorState(releasedThrough: runtime.aggregator.releasedThrough, scorer: try runtime.scorer.snapshot(), outbox: outbox, outputMarks: marks,
                                    commands: runtime.commands, planning: runtime.planning.mapValues(\.progress))
        aggregators[source] = runtime
        stages.stages.add(DetectorStage.score.rawValue, threadCPUSeconds() - scoringStart)
        let storing = ContinuousClock.now
        defer { stages.metadataWallSeconds += (ContinuousClock.now - storing) / .seconds(1) }
        try await perform(aggregators[source]!.delivery.windowsScored(state), source: source)
        guard aggregators[source]?.delivery.isIdle == true else { return false }
        let alerts = outbox.filter { $0.topic == configuration.topics.alerts }.count
        let events = outbox.count - alerts
        status.update {
            $0.windowsScored += Int64(ready.count)
            $0.alertsPublished += Int64(alerts)
            $0.driftEventsPublished += Int64(events)
        }
        metrics.driftEvents(source, count: events)
        try await recordMetadata(source: source, windows: scoredWindows)
        if case let .refresh(latest) = aggregators[source]!.prediction.windowsScored(scoredWindows.map(\.start)) {
            await refreshPrediction(source: source, latestWindow: latest)
        }
        try await schedulePlanning(source: source, windows: scoredWindows.count)
        return true
    }

    /// Keeps the source's predicted schema version and growth current for the planner. A failure
    /// here is logged and retried at the next refresh: it must not stop detection.
    private func refreshPrediction(source: String, latestWindow: Int64) async {
        let history = Int64(configuration.prediction.historyWindows - 1) * configuration.windows.sizeMilliseconds
        let since = Date(timeIntervalSince1970: Double(latestWindow - history) / 1000)
        do {
            let result = try await SchemaPredictionRefresh.refresh(repository, source: source, horizon: configuration.prediction.horizon, since: since)
            if let change = result.changes.max(by: { $0.confidence < $1.confidence }) {
                aggregators[source]?.schemaChange = (change.path, change.confidence)
            } else {
                aggregators[source]?.schemaChange = nil
            }
            status.update { $0.predictionsStored += 1 }
            metrics.predictionRefreshed(source, succeeded: true)
            logger.info("schema prediction refreshed", metadata: [
                "source": "\(source)", "historyWindows": "\(result.historyWindows)", "predictedVersion": "\(result.stored.predictedVersion)",
                "changes": "\(result.changes.count)",
            ])
        } catch is SchemaPredictionRefresh.NotEnoughHistory {
            logger.debug("not enough history yet for a schema prediction", metadata: ["source": "\(source)"])
        } catch {
            metrics.predictionRefreshed(source, succeeded: false)
            logger.warning("schema prediction failed: \(error)", metadata: ["source": "\(source)"])
        }
    }

    /// Drift log, field statistics and schema versions. Written after the outputs are durable; a
    /// crash in between repeats log entries (with the same ids), never loses an alert.
    private func recordMetadata(source: String, windows: [ScoredWindow]) async throws {
        let averageBytes = sources.averageRecordBytes(of: source)
        for window in windows {
            // Many windows at once (a backlog) on a slow disk can take longer than the lease TTL:
            // renew between windows (at most every TTL / 3).
            try await renewLeases()
            let time = Date(timeIntervalSince1970: Double(window.start) / 1000)
            if let score = window.score {
                let end = Date(timeIntervalSince1970: Double(window.start + configuration.windows.sizeMilliseconds) / 1000)
                let record = WindowScoreRecord(
                    windowStart: time, windowEnd: end, score: score.score,
                    fields: Dictionary(uniqueKeysWithValues: score.fields.map { ($0.path, $0.score) }),
                    records: window.profile.recordCount, complete: window.complete)
                _ = try await repository.append(record, kind: MetadataKind.windowScore, source: source, at: time)
            }
            for event in window.events {
                let record = DriftEventRecord(id: event.id, field: event.field, kind: event.kind.rawValue, score: event.score, components: event.metrics, time: time)
                _ = try await repository.append(record, kind: MetadataKind.driftEvent, source: source, at: time)
            }
            _ = try await repository.append(WindowMetadata.shape(window.profile, window: window.start, averageRecordBytes: averageBytes),
                                            kind: MetadataKind.windowShape, source: source, at: time)
            for statistics in WindowMetadata.statistics(window.profile, window: window.start) {
                _ = try await repository.append(statistics, kind: MetadataKind.statistics, source: source, at: time)
            }
            let fields = WindowMetadata.inferredSchema(window.profile)
            if aggregators[source]?.schema == nil { aggregators[source]?.schema = try await repository.currentSchema(source)?.fields }
            if !fields.isEmpty, fields != aggregators[source]?.schema {
                let triggering = window.events.first { [.fieldAdded, .fieldRemoved, .typeChange].contains($0.kind) }?.id
                try await repository.recordSchemaVersion(source, fields: fields, at: time, driftEventID: triggering)
                aggregators[source]?.schema = fields
                aggregators[source]?.prediction.schemaVersionRecorded()
            }
        }
    }

    func renewLeases() async throws {
        guard ContinuousClock.now - lastLeaseRenewal > Self.leaseTTL / 3 else { return }
        lastLeaseRenewal = ContinuousClock.now
        for source in aggregators.keys.sorted() where aggregators[source]?.delivery.lease != nil {
            let renewed = try await repository.store.acquireLease("aggregator/\(source)", holder: holder, ttl: Self.leaseTTL, now: Date())
            try await perform(aggregators[source]!.delivery.renewalAnswered(renewed), source: source)
        }
    }

    /// Leases of aggregators this instance gave up. A failed release is logged: the lease then
    /// runs out after its TTL, and the next owner waits for that.
    func releaseLeases() async {
        for lease in released {
            do { try await repository.store.releaseLease(lease) } catch {
                logger.warning("releasing the lease '\(lease.name)' failed (it expires in \(Self.leaseTTL)): \(error)")
            }
        }
        released.removeAll()
    }

}
