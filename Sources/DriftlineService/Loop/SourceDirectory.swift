import DriftlineDetector
import DriftlineKafka
import DriftlineProfiling
import Logging

/// The source topics this instance watches, each with its `SourceSide`, made on first sight.
final class SourceDirectory {
    let configuration: DetectorConfiguration
    private let producer: KafkaProducer
    private let logger: Logger
    private(set) var sides: [String: SourceSide] = [:]

    init(configuration: DetectorConfiguration, producer: KafkaProducer, logger: Logger) {
        self.configuration = configuration
        self.producer = producer
        self.logger = logger
    }

    var all: Dictionary<String, SourceSide>.Values { sides.values }

    /// The runtime of `topic` if a configured source watches it, made on first sight (a pattern
    /// source picks up topics created while the detector runs). Output topics are never watched.
    func watch(_ topic: String, partitions: Int? = nil) -> SourceSide? {
        if let existing = sides[topic] { return existing }
        let outputs = [configuration.topics.profiles, configuration.topics.driftEvents, configuration.topics.alerts, configuration.topics.deadLetter,
                       configuration.topics.repartitionCommands, configuration.topics.repartitionStatus]
        guard !outputs.contains(topic), !topic.hasPrefix("__"), let pattern = configuration.sources.first(where: { $0.watches(topic) }) else { return nil }
        guard let count = partitions ?? (try? producer.metadata().topic(topic)?.partitions.count) ?? nil, count > 0 else {
            logger.error("cannot read the partition count of '\(topic)'; not watching it")
            return nil
        }
        var source = pattern
        source.topic = topic
        let configuration = configuration
        let runtime = SourceSide(
            source: source, partitionCount: Int32(count), workers: configuration.workers,
            deadLetterBudget: DeadLetterBudget(perWindow: configuration.deadLettersPerWindow, windowSize: configuration.windows.sizeMilliseconds),
            makeWindowing: { Self.windowing(for: source, configuration, closedThrough: $0) })
        sides[topic] = runtime
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
}
