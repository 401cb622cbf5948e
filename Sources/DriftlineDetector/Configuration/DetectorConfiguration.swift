import DriftlineConfiguration
import DriftlineDrift
import DriftlineMessages
import Foundation
import Yams

/// `driftline detect --config driftline.yaml`: everything the detector needs, validated up front.
/// Every key is documented in the README ("Detector configuration"); unknown keys are errors, so a
/// typo never silently falls back to a default.
public struct DetectorConfiguration: Equatable, Sendable {
    public enum EventTime: Equatable, Sendable {
        /// A field of the record, in epoch milliseconds, epoch seconds or RFC 3339.
        case field(path: String, unit: TimeUnit)
        /// The Kafka message timestamp.
        case kafka
        /// Arrival time (for topics without timestamps).
        case processing
    }

    public enum TimeUnit: String, Equatable, Sendable { case milliseconds, seconds, rfc3339 }

    public struct Source: Equatable, Sendable {
        /// A topic name, or a pattern when it starts with `^` (a regular expression, as librdkafka
        /// subscribes): every matching topic — also ones created later — is watched as its own
        /// source with these settings. Driftline's own output topics never match.
        public var topic: String
        public var format = "json"
        public var eventTime: EventTime = .kafka
        /// A declared JSON Schema file.
        public var schema: String?
        public var maxFields = 256
        /// Per field: component → weight (e.g. `ts: {distribution: 0}` for a timestamp).
        public var weights: [String: [ScoreComponent: Double]] = [:]
        /// Per field: its weight in the source score.
        public var importance: [String: Double] = [:]
        public var alerts = AlertPolicy()

        public init(topic: String) { self.topic = topic }

        public var isPattern: Bool { topic.hasPrefix("^") }

        /// Whether `name` is this source's topic (or matches its pattern).
        public func watches(_ name: String) -> Bool {
            guard isPattern else { return name == topic }
            guard let regex = try? NSRegularExpression(pattern: topic) else { return false }
            let whole = NSRange(name.startIndex..., in: name)
            return regex.firstMatch(in: name, range: whole) != nil
        }
    }

    public struct Windows: Equatable, Sendable {
        public var sizeMilliseconds: Int64 = 60_000
        public var allowedLatenessMilliseconds: Int64 = 10_000
        public var idleTimeoutMilliseconds: Int64 = 60_000
        /// How long the aggregator waits for every partition's partial before scoring what it has.
        public var partialTimeoutMilliseconds: Int64 = 30_000
    }

    /// How often the aggregator refreshes a source's predicted schema version and growth.
    public struct Prediction: Equatable, Sendable {
        /// Scored windows between refreshes; 0 turns the refresh off (`driftline predict` still works).
        public var everyWindows = 12
        /// Windows ahead to forecast.
        public var horizon = 24
        /// The most recent windows of history used.
        public var historyWindows = 240

        public init(everyWindows: Int = 12, horizon: Int = 24, historyWindows: Int = 240) {
            self.everyWindows = everyWindows
            self.horizon = horizon
            self.historyWindows = historyWindows
        }
    }

    public enum Reference: Equatable, Sendable {
        /// The first N windows, merged, then fixed.
        case first(windows: Int)
        /// The N windows before the current one.
        case sliding(windows: Int)
        /// A profile stored in the metadata store under this name.
        case pinned(name: String)
    }

    public var kafka = KafkaSettings(clientID: "driftline-detector", groupID: "driftline-detector")
    public var sources: [Source] = []
    public var windows = Windows()
    public var reference: Reference = .first(windows: 5)
    public var topics = DriftlineTopics()
    public var metadataStore = "driftline-metadata.sqlite"
    public var httpListen = HostPort(host: "127.0.0.1", port: 9464)
    /// Malformed records sent to the dead-letter topic per source and window (all are counted).
    public var deadLettersPerWindow = 100
    public var prediction = Prediction()
    public var planning = Planning()
    /// Tables the closed loop plans for (none: the detector only detects).
    public var tables: [Table] = []
    /// Profiling threads per instance (partitions are split among them); default: the cores, up to 8.
    public var workers = min(max(ProcessInfo.processInfo.activeProcessorCount, 1), 8)

    /// The defaults; `load`/`parse` for a file. At least one source is needed to run.
    public init() {}

    public typealias Error = ConfigurationError

    public static func load(path: String) throws(Error) -> DetectorConfiguration {
        try parse(try ConfigReader.read(path: path))
    }

    public static func parse(_ yaml: String) throws(Error) -> DetectorConfiguration {
        let reader = try ConfigReader.document(yaml)
        var configuration = DetectorConfiguration()
        try reader.check(allowed: ["kafka", "sources", "windows", "reference", "topics", "metadata", "http", "deadLetters", "workers", "prediction", "planning", "tables"])

        if let kafka = try reader.mapping("kafka") { try configuration.kafka.read(kafka) }

        guard let sources = try reader.sequence("sources"), !sources.isEmpty else {
            throw Error(key: "sources", reason: "at least one source (a topic to watch) is required")
        }
        for source in sources {
            try source.check(allowed: ["topic", "format", "eventTime", "schema", "maxFields", "weights", "importance", "alerts"])
            guard let topic = try source.string("topic"), !topic.isEmpty else { throw Error(key: source.path("topic"), reason: "required") }
            if topic.hasPrefix("^") {
                do { _ = try NSRegularExpression(pattern: topic) } catch {
                    throw Error(key: source.path("topic"), reason: "'\(topic)' is not a valid regular expression")
                }
            }
            var parsed = Source(topic: topic)
            if let format = try source.string("format") {
                guard format == "json" else { throw Error(key: source.path("format"), reason: "only 'json' is supported") }
            }
            if let eventTime = try source.node("eventTime") {
                if let word = eventTime.scalar?.string {
                    switch word {
                    case "kafka": parsed.eventTime = .kafka
                    case "processing": parsed.eventTime = .processing
                    default: throw Error(key: source.path("eventTime"), reason: "'\(word)' is not kafka, processing or {field, unit}")
                    }
                } else if let mapping = eventTime.mapping {
                    let time = ConfigReader(node: mapping, path: source.path("eventTime"))
                    try time.check(allowed: ["field", "unit"])
                    guard let field = try time.string("field") else { throw Error(key: time.path("field"), reason: "required") }
                    let unitName = try time.string("unit") ?? "milliseconds"
                    guard let unit = TimeUnit(rawValue: unitName) else {
                        throw Error(key: time.path("unit"), reason: "'\(unitName)' is not milliseconds, seconds or rfc3339")
                    }
                    parsed.eventTime = .field(path: field, unit: unit)
                } else {
                    throw Error(key: source.path("eventTime"), reason: "expected kafka, processing or {field, unit}")
                }
            }
            if let schema = try source.string("schema") {
                guard FileManager.default.fileExists(atPath: schema) else { throw Error(key: source.path("schema"), reason: "no such file: \(schema)") }
                parsed.schema = schema
            }
            if let maxFields = try source.integer("maxFields") {
                guard (1...1_048_576).contains(maxFields) else { throw Error(key: source.path("maxFields"), reason: "must be in 1...1048576") }
                parsed.maxFields = maxFields
            }
            if let weights = try source.mapping("weights") {
                for (field, node) in weights.entries {
                    guard let components = node.mapping else { throw Error(key: weights.path(field), reason: "expected component: weight pairs") }
                    var map: [ScoreComponent: Double] = [:]
                    for (name, value) in components {
                        guard let key = name.string, let component = ScoreComponent(rawValue: key) else {
                            throw Error(key: weights.path(field), reason: "'\(name.string ?? "?")' is not one of \(ScoreComponent.allCases.map(\.rawValue).joined(separator: ", "))")
                        }
                        guard let weight = value.scalar.flatMap({ Double($0.string) }), (0...1).contains(weight) else {
                            throw Error(key: weights.path(field) + "." + key, reason: "a weight is a number in [0, 1]")
                        }
                        map[component] = weight
                    }
                    parsed.weights[field] = map
                }
            }
            if let importance = try source.mapping("importance") {
                for (field, node) in importance.entries {
                    guard let weight = node.scalar.flatMap({ Double($0.string) }), weight >= 0 else {
                        throw Error(key: importance.path(field), reason: "importance is a non-negative number")
                    }
                    parsed.importance[field] = weight
                }
            }
            if let alerts = try source.mapping("alerts") {
                try alerts.check(allowed: ["fireLevel", "resolveLevel", "fireAfter", "resolveAfter", "coolDown"])
                if let value = try alerts.number("fireLevel") { parsed.alerts.fireLevel = value }
                if let value = try alerts.number("resolveLevel") { parsed.alerts.resolveLevel = value }
                if let value = try alerts.integer("fireAfter") { parsed.alerts.fireAfter = value }
                if let value = try alerts.integer("resolveAfter") { parsed.alerts.resolveAfter = value }
                if let value = try alerts.integer("coolDown") { parsed.alerts.coolDown = value }
                do { try parsed.alerts.validate() } catch { throw Error(key: alerts.path, reason: error.description) }
            }
            configuration.sources.append(parsed)
        }
        let topics = configuration.sources.map(\.topic)
        if let duplicate = topics.first(where: { topic in topics.filter { $0 == topic }.count > 1 }) {
            throw Error(key: "sources", reason: "topic '\(duplicate)' is listed twice")
        }

        if let windows = try reader.mapping("windows") {
            try windows.check(allowed: ["size", "allowedLateness", "idleTimeout", "partialTimeout"])
            if let value = try windows.duration("size") { configuration.windows.sizeMilliseconds = value }
            if let value = try windows.duration("allowedLateness") { configuration.windows.allowedLatenessMilliseconds = value }
            if let value = try windows.duration("idleTimeout") { configuration.windows.idleTimeoutMilliseconds = value }
            if let value = try windows.duration("partialTimeout") { configuration.windows.partialTimeoutMilliseconds = value }
            guard configuration.windows.sizeMilliseconds > 0 else { throw Error(key: windows.path("size"), reason: "must be positive") }
            guard configuration.windows.idleTimeoutMilliseconds > 0 else { throw Error(key: windows.path("idleTimeout"), reason: "must be positive") }
        }

        if let reference = try reader.mapping("reference") {
            try reference.check(allowed: ["mode", "windows", "name"])
            let mode = try reference.string("mode") ?? "first"
            let count = try reference.integer("windows") ?? 5
            guard count >= 1 else { throw Error(key: reference.path("windows"), reason: "must be at least 1") }
            switch mode {
            case "first": configuration.reference = .first(windows: count)
            case "sliding": configuration.reference = .sliding(windows: count)
            case "pinned":
                guard let name = try reference.string("name") else { throw Error(key: reference.path("name"), reason: "a pinned reference needs a name") }
                configuration.reference = .pinned(name: name)
            default: throw Error(key: reference.path("mode"), reason: "'\(mode)' is not first, sliding or pinned")
            }
        }

        if let topicsSection = try reader.mapping("topics") {
            try topicsSection.check(allowed: ["profiles", "driftEvents", "alerts", "deadLetter", "repartitionCommands", "repartitionStatus"])
            if let value = try topicsSection.string("profiles") { configuration.topics.profiles = value }
            if let value = try topicsSection.string("driftEvents") { configuration.topics.driftEvents = value }
            if let value = try topicsSection.string("alerts") { configuration.topics.alerts = value }
            if let value = try topicsSection.string("deadLetter") { configuration.topics.deadLetter = value }
            if let value = try topicsSection.string("repartitionCommands") { configuration.topics.repartitionCommands = value }
            if let value = try topicsSection.string("repartitionStatus") { configuration.topics.repartitionStatus = value }
            let outputs = configuration.topics.all
            if let clash = topics.first(where: outputs.contains) {
                throw Error(key: "topics", reason: "output topic '\(clash)' is also a watched source")
            }
        }
        if let metadata = try reader.mapping("metadata") {
            try metadata.check(allowed: ["store"])
            if let value = try metadata.string("store") { configuration.metadataStore = value }
        }
        if let workers = try reader.integer("workers") {
            guard (1...64).contains(workers) else { throw Error(key: "workers", reason: "must be in 1...64") }
            configuration.workers = workers
        }
        if let deadLetters = try reader.mapping("deadLetters") {
            try deadLetters.check(allowed: ["maxPerWindow"])
            if let value = try deadLetters.integer("maxPerWindow") {
                guard value >= 0 else { throw Error(key: deadLetters.path("maxPerWindow"), reason: "must not be negative") }
                configuration.deadLettersPerWindow = value
            }
        }
        if let prediction = try reader.mapping("prediction") {
            try prediction.check(allowed: ["everyWindows", "horizon", "historyWindows"])
            if let value = try prediction.integer("everyWindows") {
                guard value >= 0 else { throw Error(key: prediction.path("everyWindows"), reason: "must not be negative (0 turns the refresh off)") }
                configuration.prediction.everyWindows = value
            }
            if let value = try prediction.integer("horizon") {
                guard (1...10_000).contains(value) else { throw Error(key: prediction.path("horizon"), reason: "must be in 1...10000") }
                configuration.prediction.horizon = value
            }
            if let value = try prediction.integer("historyWindows") {
                guard (8...100_000).contains(value) else { throw Error(key: prediction.path("historyWindows"), reason: "must be in 8...100000 (8 windows is the least a prediction uses)") }
                configuration.prediction.historyWindows = value
            }
        }
        if let http = try reader.mapping("http") {
            try http.check(allowed: ["listen"])
            if let value = try http.hostPort("listen") { configuration.httpListen = value }
        }
        if let planning = try reader.mapping("planning") { configuration.planning = try readPlanning(planning) }
        if let tables = try reader.sequence("tables") { configuration.tables = try readTables(tables, sources: configuration.sources) }
        return configuration
    }
}
