import DriftlineSQL

/// One statement as it reached the planner (a log line, a file, pg_stat_statements).
public struct LoggedStatement: Equatable, Sendable {
    public var sql: String
    /// How many times it ran (pg_stat_statements gives totals; log lines are 1 each).
    public var calls: Double
    public var totalMilliseconds: Double?
    /// Seconds since 1970, from the log line's prefix.
    public var time: Double?

    public init(sql: String, calls: Double = 1, totalMilliseconds: Double? = nil, time: Double? = nil) {
        self.sql = sql; self.calls = calls; self.totalMilliseconds = totalMilliseconds; self.time = time
    }
}

/// Statements grouped by libpg_query's fingerprint, with frequencies and a few parsed samples each.
public struct StatementClass: Sendable {
    public var fingerprint: String
    /// The first sample with literals replaced by `$n`.
    public var normalized: String
    public var calls: Double
    public var totalMilliseconds: Double
    /// Parsed samples (their literal values drive pruning); at most `Workload.samplesPerClass`.
    public var samples: [StatementShape]
    public var sampleText: [String]
    public var kind: StatementShape.Kind { samples.first?.kind ?? .other }
}

/// The workload read from a log: classes, what could not be parsed, and the period it covers.
/// Memory is bounded by the number of classes (capped) times the samples kept per class, never by
/// the number of statements read.
public struct Workload: Sendable {
    public static let samplesPerClass = 16
    public static let maximumClasses = 10_000

    public private(set) var classes: [StatementClass] = []
    private var index: [String: Int] = [:]
    public private(set) var statements: Double = 0
    public private(set) var unparsed: Double = 0
    public private(set) var unparsedExamples: [String] = []
    public private(set) var droppedClasses: Double = 0
    public private(set) var firstTime: Double?
    public private(set) var lastTime: Double?

    public init() {}

    public init(_ statements: [LoggedStatement]) {
        for statement in statements { add(statement) }
    }

    public mutating func add(_ statement: LoggedStatement) {
        statements += statement.calls
        if let time = statement.time {
            firstTime = min(firstTime ?? time, time)
            lastTime = max(lastTime ?? time, time)
        }
        let fingerprint: String
        do {
            fingerprint = try PostgresParser.fingerprint(statement.sql)
        } catch {
            unparsed += statement.calls
            if unparsedExamples.count < 5 { unparsedExamples.append("\(Self.shorten(statement.sql)): \(error)") }
            return
        }
        if let position = index[fingerprint] {
            classes[position].calls += statement.calls
            classes[position].totalMilliseconds += statement.totalMilliseconds ?? 0
            // Keep every k-th sample once full, so samples spread over the log, not only its start.
            let seen = classes[position].calls
            if classes[position].samples.count < Self.samplesPerClass || seen.truncatingRemainder(dividingBy: 97) == 0 {
                if let shape = try? PredicateExtractor.shape(of: statement.sql) {  // fingerprinted, so it parses
                    if classes[position].samples.count >= Self.samplesPerClass {
                        let slot = Int(seen / 97) % Self.samplesPerClass
                        classes[position].samples[slot] = shape
                        classes[position].sampleText[slot] = statement.sql
                    } else {
                        classes[position].samples.append(shape)
                        classes[position].sampleText.append(statement.sql)
                    }
                }
            }
            return
        }
        guard classes.count < Self.maximumClasses else { droppedClasses += statement.calls; return }
        guard let shape = try? PredicateExtractor.shape(of: statement.sql) else { unparsed += statement.calls; return }  // fingerprinted, so it parses
        // Normalizing only rewrites literals of text that already parsed.
        let normalized = (try? PostgresParser.normalize(statement.sql)) ?? statement.sql
        index[fingerprint] = classes.count
        classes.append(StatementClass(fingerprint: fingerprint, normalized: normalized, calls: statement.calls,
                                      totalMilliseconds: statement.totalMilliseconds ?? 0, samples: [shape], sampleText: [statement.sql]))
    }

    /// Days the statements cover (from log times), nil when unknown or under a minute.
    public var periodDays: Double? {
        guard let firstTime, let lastTime, lastTime - firstTime >= 60 else { return nil }
        return (lastTime - firstTime) / 86_400
    }

    /// Classes that read or write `table`.
    public func classes(touching table: String) -> [StatementClass] {
        classes.filter { $0.samples.contains { shape in shape.scans.contains { $0.table == table } || shape.writes.contains(table) } }
    }

    static func shorten(_ sql: String) -> String {
        let flat = sql.split(whereSeparator: \.isNewline).joined(separator: " ")
        return flat.count > 80 ? String(flat.prefix(77)) + "…" : flat
    }
}
