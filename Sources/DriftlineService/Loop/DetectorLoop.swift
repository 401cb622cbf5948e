import DriftlineDetector
import DriftlineDrift
import DriftlineKafka
import DriftlineMessages
import DriftlineMetadata
import DriftlineProfiling
import DriftlineServiceRuntime
import Foundation
import Logging
import Synchronization

/// One detector instance's shell: it polls, feeds the parts and performs what they return. Owns
/// the Kafka clients (a consumer of the sources, a consumer of the profiles topic in the
/// `<groupId>.aggregation` group — separate so partials never queue behind prefetched source
/// records — and one producer) and runs on the task that calls `run()` (on its own executor).
///
/// - `SourceSide` (one per source topic): records → per-partition window profiles; closed windows'
///   partials go to the profiles topic, are flushed, and only then is each source partition
///   committed at the first offset an open window still needs (`CommitTracker`), so open windows
///   are rebuilt by re-reading after a restart or a rebalance.
/// - `AggregationSide` (its own consumer and executor): whoever owns a source's key in the profiles
///   topic holds its lease, merges partials, scores windows in order and publishes through the
///   fenced outbox (`AggregatorDelivery`); the profiles topic is committed at the oldest partial
///   still pending. A step starts an aggregation step when none is in flight and collects it once it
///   has finished, never waiting for it: it runs while this thread polls and the lanes profile, and
///   a slow one (a metadata store commit waiting on fsync) does not stall polling and profiling.
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
    private let publisher: OutputPublisher
    private let outputs: OutputTopicReader
    private let aggregationSide: AggregationSide
    /// The aggregation's own thread (a Dispatch queue, never Swift's cooperative pool: a step may
    /// block in a flush or a broker query).
    private let aggregationExecutor = BlockingWorkExecutor(label: "driftline.detector.aggregation")
    /// The aggregation step in flight, collected by the first loop step that finds it finished.
    private var aggregationInFlight: AggregationStepInFlight?
    private let sources: SourceDirectory
    /// Source partitions only; the aggregation side commits the profiles topic.
    private var commits: GroupCommits
    private var recordsSeen: Int64 = 0
    /// Each source topic's runtime by `KafkaMessageView.topicIdentity` (no topic name per record).
    private var routes: [UInt: SourceSide?] = [:]
    /// With a record limit: the profiles topic's end after the last partials this instance sent,
    /// taken once the limit is reached and after each publish from then on.
    private var profilesSent: [Int32: Int64] = [:]
    private var profilesSentTaken = false
    /// Lag is measured every 10 s, the first time as soon as partitions are assigned.
    private var lastLagCheck = ContinuousClock.now - .seconds(3_600)
    /// The current step's stage CPU (the loop thread's stages; lanes and the aggregation report theirs).
    private var stepCPU = StageCPU()
    /// Left by each lane when it has profiled the batch in flight.
    private let laneWork = DispatchGroup()
    private var lanesBusy = false
    /// Source positions taken while the lanes were idle: committed while the next batch is in flight
    /// (they lag it, so a restart re-reads it rather than skipping it).
    private var sourcePositions: [TopicPartition: Int64] = [:]

    init(configuration: DetectorConfiguration, store: any MetadataStore, status: ServiceStatus, metrics: DetectorMetrics, logger: Logger, recordLimit: Int64?) throws {
        self.configuration = configuration
        self.status = status
        self.metrics = metrics
        self.logger = logger
        self.recordLimit = recordLimit
        repository = MetadataRepository(store: store)
        let client = configuration.kafka.clientConfiguration
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client, compression: .lz4))
        let publisher = OutputPublisher(producer: producer, logger: logger)
        self.publisher = publisher
        // Prefetch deeply (as tuned kcat does); librdkafka bounds the queue as a whole by
        // queued.max.messages.kbytes (64 MiB by default), so memory does not grow with partitions.
        // Both can be overridden in kafka.properties.
        consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(
            client: client, groupID: configuration.kafka.groupID, queuedMinMessages: 1_000_000, fetchWaitMaxMilliseconds: 10))
        commits = GroupCommits(consumer: consumer, profilesTopic: configuration.topics.profiles, publisher: publisher, logger: logger)
        let aggregationConsumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(
            client: client, groupID: configuration.kafka.groupID + ".aggregation", queuedMinMessages: 1_000, fetchWaitMaxMilliseconds: 10))
        outputs = try OutputTopicReader(client: client)

        let metadata = try producer.metadata()
        // The closed loop's topics only when it has tables to plan.
        let loopTopics = configuration.tables.isEmpty ? [] : [configuration.topics.repartitionCommands, configuration.topics.repartitionStatus]
        for topic in [configuration.topics.profiles, configuration.topics.driftEvents, configuration.topics.alerts, configuration.topics.deadLetter] + loopTopics {
            guard let described = metadata.topic(topic), described.error == nil, !described.partitions.isEmpty else {
                throw DetectorServiceError.topicMissing(topic, role: "output")
            }
        }
        for source in configuration.sources where !source.isPattern {
            guard let described = metadata.topic(source.topic), described.error == nil, !described.partitions.isEmpty else {
                throw DetectorServiceError.topicMissing(source.topic, role: "source")
            }
        }
        let sources = SourceDirectory(configuration: configuration, producer: producer, logger: logger)
        for topic in metadata.topics where sources.watch(topic.name, partitions: topic.partitions.count) != nil { metrics.sourceWatched(topic.name) }
        for table in configuration.tables { metrics.tablePlanned(table.name) }
        self.sources = sources
        let aggregation = Aggregation(configuration: configuration, repository: repository, holder: holder, outputs: outputs, publisher: publisher,
                                      status: status, metrics: metrics, logger: logger, sources: sources.catalog)
        aggregationSide = AggregationSide(consumer: aggregationConsumer, aggregation: aggregation, profilesTopic: configuration.topics.profiles,
                                          publisher: publisher, status: status, logger: logger)
        // Weak: the consumer may close from its deinit after the loop is gone (a failed start).
        consumer.onRevoke = { [weak self] partitions in self?.revokeSources(partitions) }
        try consumer.subscribe(topics: configuration.sources.map(\.topic))
        logger.info("watching", metadata: ["topics": "\(sources.sides.keys.sorted())"])
        try aggregationConsumer.subscribe(topics: [configuration.topics.profiles])
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
                finishProfiling()
                // A step that failed on its own was awaited (and is this error); one still in flight is
                // awaited so nothing touches the consumers while they close.
                if let inFlight = aggregationInFlight, case let .failure(other) = await inFlight.task.result {
                    logger.error("the aggregation step in flight failed as well: \(other)")
                }
                aggregationInFlight = nil
                consumer.onRevoke = nil
                do { try consumer.close() } catch {
                    // The group then rebalances after the session timeout instead of at once; nothing is lost.
                    logger.warning("closing the source consumer after a failure: \(error)")
                }
                aggregationSide.abandon()
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

    /// Whether every partial this instance sent had been read back when the last aggregation step
    /// finished (so its windows were aggregated here or by their owner).
    private var partialsReadBack = false

    /// Finish: publish what closed, commit, leave the group (commit-on-revoke stores the positions
    /// of open windows), release leases.
    private func shutdown() async throws {
        logger.info("detector stopping", metadata: ["records": "\(recordsSeen)"])
        // The batch in flight is profiled; its windows stay open, so the commit covers it exactly as
        // any open window: a restart re-reads it.
        finishProfiling()
        _ = try await finishAggregation()
        reportBatchMetrics(aggregationIdle: true)
        // Stored with the commit, so close() commits them again if this one meets a rebalance.
        try commitProgress()
        try aggregationSide.commit()
        let kafkaThreads = threadsCPUSeconds(namePrefix: "rdk:")
        status.update { $0.stages.kafkaThreadsCPU = kafkaThreads }
        try consumer.close()
        try await aggregationSide.close()
        try publisher.close()
    }

    /// One batch; true if the aggregation step it collected read partials or scored windows, or if
    /// one is still running. The lanes profile the batch the previous step consumed while this one
    /// polls; from `finishProfiling` on they are idle until `startProfiling` hands them this step's
    /// batch. The aggregation step in flight runs meanwhile on its own executor.
    private func step() async throws -> Bool {
        let now = Self.millisecondsNow()
        // A batch mostly comes from one topic: its route is looked up when the topic changes.
        var lastIdentity: UInt?
        var lastRuntime: SourceSide?
        let events = stepCPU.measure(DetectorStage.consume.rawValue) { consumer.consumeBatch(maxMessages: 20_000, timeout: .milliseconds(100)) { message in
            let identity = message.topicIdentity
            if identity != lastIdentity {
                lastIdentity = identity
                if let known = routes[identity] {
                    lastRuntime = known
                } else {
                    lastRuntime = sources.watch(message.topic)
                    routes[identity] = lastRuntime
                }
            }
            if let runtime = lastRuntime {
                recordsSeen += 1
                runtime.enqueue(message)
            }
        } }
        finishProfiling()
        sampleDeadLetters(now: now)
        if let assigned = try events.handleClientEvents(client: "source", logger: logger) {
            for (topic, group) in Dictionary(grouping: assigned, by: \.topic) {
                sources.watch(topic)?.assign(group.map(\.partition), now: now)
            }
            status.update { $0.ready = true }
        }
        // Drained every step, so they are seen (and their buffer stays small).
        try publisher.checkClientErrors()
        let closed = closeReadyWindows(now: now)
        startProfiling(now: now)
        try publishClosedWindows(closed)
        try stepCPU.measure(DetectorStage.commit.rawValue) { try commitProgress() }
        sources.reportRecordSizes()
        // An aggregation step still running counts as progress (what it will find is unknown).
        let progressed: Bool
        if let inFlight = aggregationInFlight, !inFlight.isFinished {
            progressed = true
            reportBatchMetrics(aggregationIdle: false)
        } else {
            progressed = try await finishAggregation()
            partialsReadBack = aggregationSide.hasRead(through: profilesSent)
            reportBatchMetrics(aggregationIdle: true)
            startAggregation(now: now)
        }
        if ContinuousClock.now - lastLagCheck > .seconds(10), status.snapshot.ready { reportLag() }
        status.update { $0.lastStep = Date() }
        return progressed
    }

    // MARK: Aggregation side

    /// Starts the next aggregation step on the aggregation's executor (none may be in flight).
    private func startAggregation(now: Int64) {
        precondition(aggregationInFlight == nil, "an aggregation step is still in flight")
        let side = aggregationSide
        aggregationInFlight = AggregationStepInFlight(on: aggregationExecutor) { try await side.step(now: now) }
    }

    /// Awaits the aggregation step in flight (false if none); its error is the loop's.
    private func finishAggregation() async throws -> Bool {
        guard let inFlight = aggregationInFlight else { return false }
        aggregationInFlight = nil
        return try await inFlight.task.value
    }

    // MARK: Source side

    /// Hands every lane with records its part of the batch just consumed, each on its own core.
    private func startProfiling(now: Int64) {
        precondition(!lanesBusy, "a batch is still in flight")
        let busy = sources.all.flatMap(\.lanes).filter { !$0.isEmpty }
        for lane in busy { lane.startProcessing(now: now, group: laneWork) }
        lanesBusy = !busy.isEmpty
    }

    /// Waits for the batch in flight, then records where each source partition may be committed
    /// (only idle lanes may be read). Safe to call when nothing is in flight.
    private func finishProfiling() {
        if lanesBusy {
            laneWork.wait()
            lanesBusy = false
        }
        takeSourcePositions()
    }

    private func takeSourcePositions() {
        precondition(!lanesBusy, "lanes are read only between batches")
        sourcePositions = [:]
        for runtime in sources.all { sourcePositions.merge(runtime.commitPositions) { $1 } }
    }

    /// Samples the malformed records of the batch just profiled to the dead-letter topic.
    private func sampleDeadLetters(now: Int64) {
        for runtime in sources.all {
            for letter in runtime.takeDeadLetters(now: now) {
                do { publisher.send(topic: configuration.topics.deadLetter, key: letter.key, value: try WireJSON.encode(letter)) } catch {
                    // Counted as malformed already; only the sample is lost, and the reason is logged.
                    logger.error("cannot encode a dead letter", metadata: ["source": "\(letter.source)", "id": "\(letter.id)", "reason": "\(error)"])
                }
            }
        }
    }

    /// Windows the watermark passed, their partials encoded by the lanes (on their cores); then the
    /// commit positions, which no longer wait for those windows.
    private func closeReadyWindows(now: Int64) -> [PartialProfileMessage] {
        let closed = sources.all.flatMap { $0.closeReadyWindows(now: now) }
        if !closed.isEmpty { takeSourcePositions() }
        return closed
    }

    /// Partials of windows closed in this batch go out, flushed before the source positions that
    /// cover them are committed.
    private func publishClosedWindows(_ closed: [PartialProfileMessage]) throws {
        // The lanes count their own encoding; the envelopes are the loop's.
        let partials = stepCPU.measure(DetectorStage.partialsEncode.rawValue) { closed.map { (key: $0.source, value: Data($0.encoded())) } }
        try stepCPU.measure(DetectorStage.partialsPublish.rawValue) {
            for partial in partials { publisher.send(topic: configuration.topics.profiles, key: partial.key, value: partial.value) }
            // Only where the limit can stop the run: a flush and a broker query per closed window
            // before it cost a benchmark a tenth of its consuming span, which production never pays.
            if let recordLimit, recordsSeen >= recordLimit, !partials.isEmpty || !profilesSentTaken {
                try publisher.flush()
                profilesSent = try outputs.ends(of: [configuration.topics.profiles])[configuration.topics.profiles] ?? [:]
                profilesSentTaken = true
            }
        }
    }

    // MARK: Progress

    /// Source partitions at their commit positions (after a flush, so the partials of every closed
    /// window are durable first).
    private func commitProgress() throws { try commits.commit(sourcePositions) }

    /// Called inside the poll when source partitions are revoked: store where each one must resume,
    /// then forget the state built from them (eager rebalancing revokes everything; the next owner,
    /// maybe this instance again, rebuilds open windows from those positions).
    private func revokeSources(_ partitions: [TopicPartition]) {
        finishProfiling()
        commits.storeRevoked(partitions, positions: sourcePositions)
        let revoked = Set(partitions)
        for runtime in sources.all { runtime.revoke(revoked, now: Self.millisecondsNow()) }
    }

    /// The batch's counters; the aggregation side's too when no aggregation step is in flight (they
    /// are its step's own until it finishes; the next report that finds it idle takes them).
    private func reportBatchMetrics(aggregationIdle: Bool) {
        var malformed: Int64 = 0, deadLetters: Int64 = 0
        var step = DetectorStageReport()
        step.stages = stepCPU.take()
        if aggregationIdle {
            let aggregation = aggregationSide.aggregation
            step.stages.add(aggregationSide.stepCPU.take())
            step.stages.add(aggregation.stages.stages.take())
            step.metadataWallSeconds = aggregation.stages.metadataWallSeconds
            aggregation.stages.metadataWallSeconds = 0
        }
        for runtime in sources.all {
            let counted = runtime.takeCounters()
            step.stages.add(DetectorStage.profile.rawValue, counted.profileCPU)
            step.stages.add(DetectorStage.partialsEncode.rawValue, counted.encodeCPU)
            let topic = runtime.source.topic
            malformed += counted.malformed.values.reduce(0, +)
            deadLetters += Int64(counted.deadLetters)
            if counted.records > 0 { metrics.records(topic, count: counted.records, bytes: counted.bytes) }
            if counted.late > 0 { metrics.late(topic, count: counted.late) }
            for (reason, count) in counted.malformed { metrics.malformed(topic, reason: reason, count: count) }
            if counted.deadLetters > 0 { metrics.deadLetters(topic, count: counted.deadLetters) }
        }
        metrics.stageCPU(step.stages)
        let seen = recordsSeen
        status.update { status in
            status.stages.stages.add(step.stages)
            status.stages.metadataWallSeconds += step.metadataWallSeconds
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
        for runtime in sources.all {
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

/// An aggregation step running on its own executor, and whether it has finished: the loop checks
/// that without waiting, so it keeps polling while the step commits to the metadata store.
final class AggregationStepInFlight: Sendable {
    let task: Task<Bool, any Error>
    private let finished: Flag

    /// A class, so the step's task and the loop share one lock.
    private final class Flag: Sendable {
        let value = Mutex(false)
    }

    init(on executor: BlockingWorkExecutor, _ step: @escaping @Sendable () async throws -> Bool) {
        let finished = Flag()
        self.finished = finished
        task = Task(executorPreference: executor) {
            defer { finished.value.withLock { $0 = true } }
            return try await step()
        }
    }

    /// True once the step returned or threw (`task.value` then does not wait).
    var isFinished: Bool { finished.value.withLock { $0 } }
}
