import DriftlineDetector
import DriftlineDrift
import DriftlineKafka
import DriftlineMessages
import DriftlineMetadata
import DriftlineProfiling
import DriftlineServiceRuntime
import Foundation
import Logging

/// One detector instance's consume → profile → aggregate → score → publish loop. Owns its Kafka
/// clients (a consumer of the sources, a consumer of the profiles topic in the `<groupId>.aggregation`
/// group — separate so partials never queue behind prefetched source records — and one producer)
/// and runs on the task that calls `run()`.
///
/// Source side: records become per-partition window profiles; when a window closes its partials go
/// to the profiles topic (keyed by source), are flushed, and only then is each source partition
/// committed at the first offset an open window still needs — so open windows are rebuilt by
/// re-reading after a restart or a rebalance.
/// Aggregator side: whoever owns a source's key in the profiles topic holds that source's lease,
/// merges partials, scores windows in order and publishes through the fenced outbox
/// (`AggregatorState`); the profiles topic is committed at the oldest partial still pending.
final class DetectorLoop {
    let configuration: DetectorConfiguration
    let status: ServiceStatus
    let metrics: DetectorMetrics
    let logger: Logger
    let repository: MetadataRepository
    let holder = "detector-\(UUID().uuidString.prefix(8))"
    /// Stop after this many source records (benchmarks and tests); nil runs until stopped.
    let recordLimit: Int64?

    private let consumer: KafkaConsumer
    private let aggregationConsumer: KafkaConsumer
    private let producer: KafkaProducer
    private let outputs: OutputTopicReader
    private var sources: [String: SourceRuntime] = [:]
    private var aggregators: [String: AggregatorRuntime] = [:]
    /// Aggregators dropped by a revocation, whose leases still need releasing.
    private var released: [Lease] = []
    /// Partials read in the current batch, handled after it (lease and store calls are async).
    private var batchPartials: [(partition: Int32, offset: Int64, message: PartialProfileMessage)] = []
    /// Profiles topic: per partition, the offset after the last message read.
    private var profilesNext: [Int32: Int64] = [:]
    private var commits: CommitTracker
    private var recordsSeen: Int64 = 0
    /// Each source topic's runtime by `KafkaMessageView.topicIdentity` (no topic name per record).
    private var routes: [UInt: SourceRuntime?] = [:]
    /// With a record limit: the profiles topic's end after the last partials this instance sent.
    private var profilesSent: [Int32: Int64] = [:]
    private var deliveryFailures = 0
    private var lastLeaseRenewal = ContinuousClock.now
    /// Lag is measured every 10 s, the first time as soon as partitions are assigned.
    private var lastLagCheck = ContinuousClock.now - .seconds(3_600)

    static let leaseTTL: Duration = .seconds(10)

    init(configuration: DetectorConfiguration, store: any MetadataStore, status: ServiceStatus, metrics: DetectorMetrics, logger: Logger, recordLimit: Int64?) throws {
        self.configuration = configuration
        self.status = status
        self.metrics = metrics
        self.logger = logger
        self.recordLimit = recordLimit
        repository = MetadataRepository(store: store)
        commits = CommitTracker(profilesTopic: configuration.topics.profiles)
        let client = configuration.kafka.clientConfiguration
        producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client, compression: .lz4))
        // Prefetch deeply (as tuned kcat does); librdkafka bounds the queue as a whole by
        // queued.max.messages.kbytes (64 MiB by default), so memory does not grow with partitions.
        // Both can be overridden in kafka.properties.
        consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(
            client: client, groupID: configuration.kafka.groupID, queuedMinMessages: 1_000_000, fetchWaitMaxMilliseconds: 10))
        aggregationConsumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(
            client: client, groupID: configuration.kafka.groupID + ".aggregation", queuedMinMessages: 1_000, fetchWaitMaxMilliseconds: 10))
        outputs = try OutputTopicReader(client: client)

        let metadata = try producer.metadata()
        for topic in [configuration.topics.profiles, configuration.topics.driftEvents, configuration.topics.alerts, configuration.topics.deadLetter] {
            guard let described = metadata.topic(topic), described.error == nil, !described.partitions.isEmpty else {
                throw DetectorServiceError.topicMissing(topic, role: "output")
            }
        }
        for source in configuration.sources where !source.isPattern {
            guard let described = metadata.topic(source.topic), described.error == nil, !described.partitions.isEmpty else {
                throw DetectorServiceError.topicMissing(source.topic, role: "source")
            }
        }
        for topic in metadata.topics { _ = watch(topic.name, partitions: topic.partitions.count) }
        // Weak: the consumer may close from its deinit after the loop is gone (a failed start).
        consumer.onRevoke = { [weak self] partitions in self?.revokeSources(partitions) }
        aggregationConsumer.onRevoke = { [weak self] partitions in self?.revokeProfiles(partitions) }
        try consumer.subscribe(topics: configuration.sources.map(\.topic))
        logger.info("watching", metadata: ["topics": "\(sources.keys.sorted())"])
        try aggregationConsumer.subscribe(topics: [configuration.topics.profiles])
    }

    /// The runtime of `topic` if a configured source watches it, made on first sight (a pattern
    /// source picks up topics created while the detector runs). Output topics are never watched.
    private func watch(_ topic: String, partitions: Int? = nil) -> SourceRuntime? {
        if let existing = sources[topic] { return existing }
        let outputs = [configuration.topics.profiles, configuration.topics.driftEvents, configuration.topics.alerts, configuration.topics.deadLetter,
                       configuration.topics.repartitionCommands, configuration.topics.repartitionStatus]
        guard !outputs.contains(topic), !topic.hasPrefix("__"), let pattern = configuration.sources.first(where: { $0.watches(topic) }) else { return nil }
        guard let count = partitions ?? (try? producer.metadata().topic(topic)?.partitions.count) ?? nil, count > 0 else {
            logger.error("cannot read the partition count of '\(topic)'; not watching it")
            return nil
        }
        var source = pattern
        source.topic = topic
        let runtime = SourceRuntime(
            source: source, partitionCount: Int32(count),
            lanes: (0..<configuration.workers).map { _ in ProfilingLane(windowing: Self.windowing(for: source, configuration, closedThrough: .min)) },
            deadLetterBudget: DeadLetterBudget(perWindow: configuration.deadLettersPerWindow, windowSize: configuration.windows.sizeMilliseconds))
        sources[topic] = runtime
        return runtime
    }

    static func windowing(for source: DetectorConfiguration.Source, _ configuration: DetectorConfiguration, closedThrough: Int64) -> SourceWindowing {
        var profile = ProfileConfiguration()
        profile.maxFields = source.maxFields
        return SourceWindowing(
            topic: source.topic, eventTime: source.eventTime,
            windows: TumblingWindows(
                size: configuration.windows.sizeMilliseconds, allowedLateness: configuration.windows.allowedLatenessMilliseconds,
                idleTimeout: configuration.windows.idleTimeoutMilliseconds, closedThrough: closedThrough),
            profile: profile)
    }

    // MARK: Running

    func run() async throws {
        logger.info("detector started", metadata: ["holder": "\(holder)", "sources": "\(configuration.sources.map(\.topic))"])
        var quietSteps = 0
        // A graceful shutdown finishes the batch and commits; cancellation stops as soon as the
        // batch is done too (nothing is committed that is not durable either way).
        while !status.snapshot.stopRequested, !Task.isCancelled {
            let progressed: Bool
            do { progressed = try await step() } catch {
                // Leave the group without committing anything new: a restart resumes from the
                // last commit, which only ever covers durable outputs.
                logger.error("detector failed: \(error)")
                for consumer in [consumer, aggregationConsumer] {
                    consumer.onRevoke = nil
                    try? consumer.close()
                }
                throw error
            }
            // With a record limit, stop once the limit is reached and the windows it closed are
            // scored: nothing read from the profiles topic and nothing released for a while.
            if let recordLimit, recordsSeen >= recordLimit {
                quietSteps = progressed || !partialsReadBack ? 0 : quietSteps + 1
                if quietSteps >= 20 { break }
            }
        }
        try await shutdown()
    }

    /// Every partial this instance sent has been read back (so its windows were aggregated here or
    /// by their owner).
    private var partialsReadBack: Bool {
        profilesSent.allSatisfy { partition, end in (profilesNext[partition] ?? 0) >= end }
    }

    /// Finish: publish what closed, commit, leave the group (commit-on-revoke stores the positions
    /// of open windows), release leases.
    private func shutdown() async throws {
        logger.info("detector stopping", metadata: ["records": "\(recordsSeen)"])
        // Stored with the commit, so close() commits them again if this one meets a rebalance.
        try commitProgress()
        try consumer.close()
        try aggregationConsumer.close()
        released += aggregators.values.compactMap(\.delivery.lease)
        aggregators.removeAll()
        await releaseLeases()
        try producer.flush(timeout: .seconds(30))
        try producer.close()
    }

    /// One batch; true if it read partials or scored windows.
    private func step() async throws -> Bool {
        let now = Self.millisecondsNow()
        var events = consumer.consumeBatch(maxMessages: 20_000, timeout: .milliseconds(100)) { message in
            let identity = message.topicIdentity
            let runtime: SourceRuntime?
            if let known = routes[identity] {
                runtime = known
            } else {
                runtime = watch(message.topic)
                routes[identity] = runtime
            }
            if let runtime { ingest(message, into: runtime, now: now) }
        }
        events += aggregationConsumer.consumeBatch(maxMessages: 5_000, timeout: .zero) { message in readPartial(message) }
        profileBatch(now: now)
        for event in events {
            switch event {
            case let .rebalance(.assigned(partitions)):
                for (topic, group) in Dictionary(grouping: partitions, by: \.topic) {
                    guard let runtime = watch(topic) else { continue }
                    let numbers = group.map(\.partition)
                    runtime.assigned.formUnion(numbers)
                    for number in numbers { runtime.lane(number).windowing.assign([number], now: now) }
                }
                status.update { $0.ready = true }
                logger.info("partitions assigned", metadata: ["partitions": "\(partitions.map(\.description).sorted())"])
            case let .rebalance(.revoked(partitions)):
                logger.info("partitions revoked", metadata: ["partitions": "\(partitions.map(\.description).sorted())"])
            case let .error(error):
                // A fatal error leaves the client unusable: stop with its message, commit nothing more.
                if error.isFatal { throw DetectorServiceError.fatalKafka("consumer: \(error)") }
                logger.warning("kafka: \(error)")
            case .message, .partitionEOF:
                break
            }
        }
        // Drained every step, so they are seen (and their buffer stays small).
        for error in producer.takeClientErrors() {
            if error.isFatal { throw DetectorServiceError.fatalKafka("producer: \(error)") }
            logger.warning("kafka producer: \(error)")
        }
        await releaseLeases()

        try publishClosedWindows(now: now)
        let progressed = try await aggregate(now: now)
        try commitProgress()
        try await renewLeases()
        reportBatchMetrics()
        if ContinuousClock.now - lastLagCheck > .seconds(10), status.snapshot.ready { reportLag() }
        status.update { $0.lastStep = Date() }
        return progressed
    }

    // MARK: Source side

    private func ingest(_ message: KafkaMessageView, into runtime: SourceRuntime, now: Int64) {
        recordsSeen += 1
        runtime.records += 1
        guard let value = message.value else { return }
        runtime.bytes += Int64(value.count)
        runtime.lane(message.partition).enqueue(message, value: value)
    }

    /// Profiles the batch: every lane with records on its own core, then counts and dead letters here.
    private func profileBatch(now: Int64) {
        let busy = sources.values.flatMap(\.lanes).filter { !$0.isEmpty }
        if busy.count > 1 {
            DispatchQueue.concurrentPerform(iterations: busy.count) { busy[$0].process(now: now) }
        } else {
            busy.first?.process(now: now)
        }
        for runtime in sources.values {
            for lane in runtime.lanes {
                let outcomes = lane.takeOutcomes()
                runtime.late += outcomes.late
                for bad in outcomes.malformed { deadLetter(bad, of: runtime, now: now) }
            }
        }
    }

    private func deadLetter(_ bad: ProfilingLane.Malformed, of runtime: SourceRuntime, now: Int64) {
        runtime.malformed[bad.error.reason.rawValue, default: 0] += 1
        guard runtime.deadLetterBudget.admit(arrivedAt: bad.timestamp ?? now) else { return }
        let letter = DeadLetterMessage(
            topic: runtime.source.topic, partition: bad.partition, offset: bad.offset, reason: bad.error.reason.rawValue,
            byteOffset: bad.error.offset, record: bad.record, emittedAt: now)
        do {
            send(topic: configuration.topics.deadLetter, key: letter.key, value: try WireJSON.encode(letter))
            runtime.deadLetters += 1
        } catch {
            // Counted as malformed already; only the sample is lost, and the reason is logged.
            logger.error("cannot encode a dead letter for \(runtime.source.topic)[\(bad.partition)]@\(bad.offset): \(error)")
        }
    }

    /// Partials of windows closed in this batch go out (one per owned partition, empty for those
    /// without records, so the aggregator need not wait for its timeout), flushed before the
    /// source positions that cover them are committed.
    private func publishClosedWindows(now: Int64) throws {
        var sentPartials = false
        for runtime in sources.values {
            var closedAny = false
            for (index, lane) in runtime.lanes.enumerated() {
                for closed in lane.windowing.closeReady(now: now) {
                    publishPartials(of: closed, lane: index, of: runtime)
                    closedAny = true
                }
            }
            if closedAny {
                runtime.deadLetterBudget.windowsClosed(now: now)
                sentPartials = true
            }
        }
        if sentPartials, recordLimit != nil {
            try flush()
            profilesSent = try outputs.ends(of: [configuration.topics.profiles])[configuration.topics.profiles] ?? [:]
        }
    }

    /// One partial per partition of the lane, empty for assigned partitions without records.
    private func publishPartials(of closed: SourceWindowing.ClosedWindow, lane index: Int, of runtime: SourceRuntime) {
        var parts = Dictionary(uniqueKeysWithValues: closed.partitions.map { ($0.partition, $0.profile) })
        for partition in runtime.assigned where Int(partition) % runtime.lanes.count == index && parts[partition] == nil {
            parts[partition] = WindowProfile(configuration: runtime.lanes[index].windowing.profileConfiguration)
        }
        for (partition, profile) in parts.sorted(by: { $0.key < $1.key }) {
            let partial = PartialProfileMessage(
                source: runtime.source.topic, windowStart: closed.start, windowEnd: closed.end,
                partitionCount: runtime.partitionCount, partitions: [partition], profile: profile.encoded())
            send(topic: configuration.topics.profiles, key: runtime.source.topic, value: Data(partial.encoded()))
        }
    }

    private func readPartial(_ message: KafkaMessageView) {
        profilesNext[message.partition] = message.offset + 1
        guard let value = message.value else { return }
        do {
            let partial = try PartialProfileMessage(decoding: value)
            batchPartials.append((message.partition, message.offset, partial))
        } catch {
            logger.error("skipping a message on \(configuration.topics.profiles)[\(message.partition)]@\(message.offset): \(error)")
        }
    }

    // MARK: Aggregator side

    private func aggregate(now: Int64) async throws -> Bool {
        let partials = batchPartials
        batchPartials.removeAll()
        for (partition, offset, partial) in partials {
            guard try await ownAggregator(for: partial, profilesPartition: partition), var runtime = aggregators[partial.source] else { continue }
            do {
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
                    runtime.skippedWindows.insert(partial.windowStart)
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
        guard let source = watch(partial.source)?.source else {
            logger.warning("partial for unknown source '\(partial.source)' ignored")
            return false
        }
        aggregators[partial.source] = AggregatorRuntime(
            delivery: AggregatorDelivery(source: partial.source, leaseWait: Self.leaseTTL * 3),
            aggregator: PartialAggregator(partitionCount: Int(partial.partitionCount), timeout: configuration.windows.partialTimeoutMilliseconds),
            scorer: try await freshScorer(source),
            prediction: PredictionSchedule(everyWindows: configuration.prediction.everyWindows),
            profilesPartition: profilesPartition)
        try await perform(aggregators[partial.source]!.delivery.partialArrived(now: .now), source: partial.source)
        return aggregators[partial.source]?.delivery.isIdle == true
    }

    /// Runs the delivery machine's actions for `source` until it has nothing more to do.
    private func perform(_ first: AggregatorDelivery.Action, source: String) async throws {
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
                if let (state, _) = stored, var runtime = aggregators[source], let watched = watch(source)?.source {
                    runtime.aggregator = PartialAggregator(partitionCount: runtime.aggregator.partitionCount, timeout: runtime.aggregator.timeout,
                                                           releasedThrough: state.releasedThrough)
                    runtime.scorer = try WindowScorer(source: watched, reference: configuration.reference, schema: try schema(watched), restoring: state.scorer)
                    aggregators[source] = runtime
                    logger.info("aggregator resumed", metadata: ["source": "\(source)", "releasedThrough": "\(state.releasedThrough)"])
                }
                action = next { $0.stateLoaded(stored?.0, version: stored?.1) }
            case let .deliverMissing(outbox, marks):
                let present = try outputs.ids(from: marks)
                let missing = outbox.filter { !present.contains($0.id) }
                for message in missing { send(topic: message.topic, key: message.key, value: message.value) }
                try flush()
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
                for message in messages { send(topic: message.topic, key: message.key, value: message.value) }
                try flush()
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
        let marks = try outputs.ends(of: Array(Set(outbox.map(\.topic))))
        let state = AggregatorState(releasedThrough: runtime.aggregator.releasedThrough, scorer: try runtime.scorer.snapshot(), outbox: outbox, outputMarks: marks)
        aggregators[source] = runtime
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
        return true
    }

    /// Keeps the source's predicted schema version and growth current for the planner. A failure
    /// here is logged and retried at the next refresh: it must not stop detection.
    private func refreshPrediction(source: String, latestWindow: Int64) async {
        let history = Int64(configuration.prediction.historyWindows - 1) * configuration.windows.sizeMilliseconds
        let since = Date(timeIntervalSince1970: Double(latestWindow - history) / 1000)
        do {
            let result = try await SchemaPredictionRefresh.refresh(repository, source: source, horizon: configuration.prediction.horizon, since: since)
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
        let averageBytes = sources[source]?.averageRecordBytes ?? 0
        for window in windows {
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

    private func renewLeases() async throws {
        guard ContinuousClock.now - lastLeaseRenewal > Self.leaseTTL / 3 else { return }
        lastLeaseRenewal = ContinuousClock.now
        for source in aggregators.keys.sorted() where aggregators[source]?.delivery.lease != nil {
            let renewed = try await repository.store.acquireLease("aggregator/\(source)", holder: holder, ttl: Self.leaseTTL, now: Date())
            try await perform(aggregators[source]!.delivery.renewalAnswered(renewed), source: source)
        }
    }

    /// Leases of aggregators this instance gave up. A failed release is logged: the lease then
    /// runs out after its TTL, and the next owner waits for that.
    private func releaseLeases() async {
        for lease in released {
            do { try await repository.store.releaseLease(lease) } catch {
                logger.warning("releasing the lease '\(lease.name)' failed (it expires in \(Self.leaseTTL)): \(error)")
            }
        }
        released.removeAll()
    }

    // MARK: Progress

    /// Source partitions at their commit positions, profiles partitions at the oldest pending partial.
    private func positions() -> [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        for runtime in sources.values {
            for lane in runtime.lanes {
                for (partition, offset) in lane.windowing.commitPositions where runtime.assigned.contains(partition) {
                    result[TopicPartition(runtime.source.topic, partition)] = offset
                }
            }
        }
        var pending: [Int32: [Int64]] = [:]
        for runtime in aggregators.values { pending[runtime.profilesPartition, default: []] += runtime.pendingOffsets.values.joined() }
        for partial in batchPartials { pending[partial.partition, default: []].append(partial.offset) }
        for (partition, position) in CommitTracker.profilesPositions(next: profilesNext, pending: pending) {
            result[TopicPartition(configuration.topics.profiles, partition)] = position
        }
        return result
    }

    private func commitProgress() throws {
        guard case let .flushThenCommit(sourceOffsets, profileOffsets) = commits.progress(positions()) else { return }
        try flush()
        for (consumer, offsets) in [(consumer, sourceOffsets), (aggregationConsumer, profileOffsets)] where !offsets.isEmpty {
            do {
                // Stored as well, so the commit on revocation or close never rewinds to older positions.
                try consumer.storeOffsets(offsets)
                try consumer.commit(offsets)
                commits.committed(offsets)
            } catch {
                // Refused during a rebalance: retried next step (or by close); records are re-read at worst.
                logger.warning("commit failed: \(error)")
            }
        }
    }

    /// Called inside the poll when source partitions are revoked: store where each one must resume,
    /// then forget the state built from them (eager rebalancing revokes everything; the next owner,
    /// maybe this instance again, rebuilds open windows from those positions).
    private func revokeSources(_ partitions: [TopicPartition]) {
        storePositions(of: partitions, in: consumer)
        let revoked = Set(partitions)
        for runtime in sources.values {
            let lost = runtime.assigned.filter { revoked.contains(TopicPartition(runtime.source.topic, $0)) }
            guard !lost.isEmpty else { continue }
            runtime.assigned.subtract(lost)
            for lane in runtime.lanes {
                lane.discard(lost)
                lane.windowing = Self.windowing(for: runtime.source, configuration, closedThrough: lane.windowing.closedThrough)
            }
            for partition in runtime.assigned { runtime.lane(partition).windowing.assign([partition], now: Self.millisecondsNow()) }
        }
    }

    /// Profiles partitions revoked: their aggregators go (leases released after the batch); the next
    /// owner re-reads from the oldest partial still pending.
    private func revokeProfiles(_ partitions: [TopicPartition]) {
        storePositions(of: partitions, in: aggregationConsumer)
        let lost = Set(partitions.map(\.partition))
        for (source, runtime) in aggregators where lost.contains(runtime.profilesPartition) {
            if let lease = runtime.delivery.lease { released.append(lease) }
            aggregators.removeValue(forKey: source)
        }
        batchPartials.removeAll { lost.contains($0.partition) }
        for partition in lost { profilesNext.removeValue(forKey: partition) }
    }

    /// Inside the rebalance callback, which cannot throw: a failed flush or store is logged, and
    /// the partitions' next owner resumes from the last commit (re-reading, never skipping).
    private func storePositions(of partitions: [TopicPartition], in consumer: KafkaConsumer) {
        let stored = positions().filter { partitions.contains($0.key) }.map { TopicPartitionOffset($0.key, offset: $0.value) }
        do {
            try flush()
            try consumer.storeOffsets(stored)
            commits.committed(stored)
        } catch {
            logger.warning("storing offsets on revoke failed; the next owner resumes from the last commit: \(error)")
        }
    }

    // MARK: Output

    private func send(topic: String, key: String, value: Data) {
        do {
            try producer.send(ProducerRecord(topic: topic, key: Array(key.utf8), value: Array(value)))
        } catch {
            deliveryFailures += 1
            logger.error("cannot queue a message for \(topic): \(error)")
        }
    }

    /// Waits until everything queued is acknowledged; a failed delivery stops the detector rather
    /// than commit past outputs that were never written.
    private func flush() throws {
        guard producer.queuedMessages > 0 || deliveryFailures > 0 else { return }
        try producer.flush(timeout: .seconds(120))
        let counts = producer.deliveryCounts
        if counts.failed > 0 || deliveryFailures > 0 {
            throw DetectorServiceError.deliveryFailed(count: counts.failed + deliveryFailures, last: counts.lastFailure.map { "\($0)" } ?? "queueing failed")
        }
    }

    private func reportBatchMetrics() {
        var malformed: Int64 = 0, deadLetters: Int64 = 0
        for runtime in sources.values {
            malformed += runtime.malformed.values.reduce(0, +)
            deadLetters += Int64(runtime.deadLetters)
            runtime.totalRecords += runtime.records
            runtime.totalBytes += runtime.bytes
            if runtime.records > 0 { metrics.records(runtime.source.topic, count: runtime.records, bytes: runtime.bytes) }
            if runtime.late > 0 { metrics.late(runtime.source.topic, count: runtime.late) }
            for (reason, count) in runtime.malformed { metrics.malformed(runtime.source.topic, reason: reason, count: count) }
            if runtime.deadLetters > 0 { metrics.deadLetters(runtime.source.topic, count: runtime.deadLetters) }
            runtime.records = 0
            runtime.bytes = 0
            runtime.late = 0
            runtime.malformed = [:]
            runtime.deadLetters = 0
        }
        let seen = recordsSeen
        status.update { status in
            if seen > status.recordsConsumed {
                status.firstRecordAt = status.firstRecordAt ?? Date()
                status.lastRecordAt = Date()
            }
            status.recordsConsumed = seen
            status.malformedRecords += malformed
            status.deadLettersPublished += deadLetters
        }
    }

    private func reportLag() {
        lastLagCheck = ContinuousClock.now
        for runtime in sources.values {
            let partitions = runtime.assigned.map { TopicPartition(runtime.source.topic, $0) }
            guard let positions = try? consumer.position(partitions) else { continue }
            var lag: Int64 = 0
            for position in positions where position.offset >= 0 {
                if let marks = try? consumer.watermarks(position.topicPartition, timeout: .seconds(2)) { lag += max(0, marks.high - position.offset) }
            }
            metrics.lag(runtime.source.topic, messages: lag)
        }
    }

    static func millisecondsNow() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}
