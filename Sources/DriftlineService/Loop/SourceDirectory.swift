import DriftlineDetector
import DriftlineKafka
import DriftlineProfiling
import Logging
import Synchronization

/// The source topics this instance watches, each with its `SourceSide`, made on first sight.
/// Owned by the source side of the loop; the aggregation side reads `catalog` instead.
final class SourceDirectory {
    let configuration: DetectorConfiguration
    private let producer: KafkaProducer
    private let logger: Logger
    private(set) var sides: [String: SourceSide] = [:]
    /// What the aggregation side needs of the sources, readable from its own thread.
    let catalog: SourceCatalog

    init(configuration: DetectorConfiguration, producer: KafkaProducer, logger: Logger) {
        self.configuration = configuration
        self.producer = producer
        self.logger = logger
        catalog = SourceCatalog(configuration: configuration)
    }

    var all: Dictionary<String, SourceSide>.Values { sides.values }

    /// The runtime of `topic` if a configured source watches it, made on first sight (a pattern
    /// source picks up topics created while the detector runs). Output topics are never watched.
    func watch(_ topic: String, partitions: Int? = nil) -> SourceSide? {
        if let existing = sides[topic] { return existing }
        guard let source = catalog.source(topic) else { return nil }
        guard let count = partitions ?? (try? producer.metadata().topic(topic)?.partitions.count) ?? nil, count > 0 else {
            logger.error("cannot read the partition count of '\(topic)'; not watching it")
            return nil
        }
        let configuration = configuration
        let runtime = SourceSide(
            source: source, partitionCount: Int32(count), workers: configuration.workers,
            deadLetterBudget: DeadLetterBudget(perWindow: configuration.deadLettersPerWindow, windowSize: configuration.windows.sizeMilliseconds),
            makeWindowing: { Self.windowing(for: source, configuration, closedThrough: $0) })
        sides[topic] = runtime
        return runtime
    }

    /// Records each source's average record size for the aggregation side (once a batch).
    func reportRecordSizes() {
        for (topic, side) in sides { catalog.setAverageRecordBytes(side.averageRecordBytes, of: topic) }
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
}

/// The sources as the aggregation side sees them: each one's configuration, resolved from the
/// configuration alone (no `SourceSide` is made), and its average record size as the source side
/// last reported it. Thread-safe: the aggregation runs beside the source side.
final class SourceCatalog: Sendable {
    let configuration: DetectorConfiguration
    private let averages = Mutex<[String: Double]>([:])

    init(configuration: DetectorConfiguration) { self.configuration = configuration }

    /// The configured source that watches `topic`, named for it; nil for output and internal topics.
    func source(_ topic: String) -> DetectorConfiguration.Source? {
        let outputs = [configuration.topics.profiles, configuration.topics.driftEvents, configuration.topics.alerts, configuration.topics.deadLetter,
                       configuration.topics.repartitionCommands, configuration.topics.repartitionStatus]
        guard !outputs.contains(topic), !topic.hasPrefix("__"), var source = configuration.sources.first(where: { $0.watches(topic) }) else { return nil }
        source.topic = topic
        return source
    }

    /// 0 until the source side has seen records of `topic` (another instance may own all of them).
    func averageRecordBytes(of topic: String) -> Double { averages.withLock { $0[topic] ?? 0 } }

    func setAverageRecordBytes(_ bytes: Double, of topic: String) { averages.withLock { $0[topic] = bytes } }
}
