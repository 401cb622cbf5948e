import DriftlineConfiguration

extension DetectorConfiguration {
    /// The closed loop: when the aggregator of a table's source plans that table.
    public struct Planning: Equatable, Sendable {
        /// Scored windows of the source between planning runs; 0 plans only on the triggers below.
        public var everyWindows = 20
        /// Plan at once when the source's drift score, forecast `prediction.horizon` windows ahead,
        /// reaches this (the seed's "anticipate" step); nil: no drift trigger.
        public var driftForecastThreshold: Double? = 0.6
        /// Plan at once when the schema prediction expects a change with at least this confidence
        /// within its horizon; nil: no schema trigger.
        public var schemaChangeThreshold: Double? = 0.5
        /// Commands go out with `dry_run: true`: the executor validates and reports, changes nothing.
        public var dryRun = false

        public init() {}
    }

    /// A target table the loop plans for: where it lives, what feeds it, what queries it.
    public struct Table: Equatable, Sendable {
        public enum Queries: Equatable, Sendable {
            /// A PostgreSQL server log or a `;`-separated SQL file, read at each planning run.
            case log(path: String)
            /// `pg_stat_statements` of the target server.
            case pgStatStatements
            /// The latest `last` messages of a topic of statements (`schemas/query-statement.v1.json`).
            case topic(name: String, last: Int)
        }

        /// `schema.table` (`main.table` on SQLite).
        public var name: String
        /// The target store: `postgres://user@host:port/db`, or a SQLite file (`sqlite:PATH`).
        public var target: String
        /// The source topic whose records land in the table.
        public var source: String
        public var queries: Queries
        /// How far ahead a layout is costed, in days.
        public var horizonDays: Double = 30
        /// A change must save this fraction more than moving the table costs.
        public var margin: Double = 0.25

        public init(name: String, target: String, source: String, queries: Queries) {
            self.name = name; self.target = target; self.source = source; self.queries = queries
        }
    }

    static func readPlanning(_ reader: ConfigReader) throws(Error) -> Planning {
        try reader.check(allowed: ["every", "driftForecastThreshold", "schemaChangeThreshold", "dryRun"])
        var planning = Planning()
        if let value = try reader.integer("every") {
            guard value >= 0 else { throw Error(key: reader.path("every"), reason: "must not be negative (0 plans only on the forecast triggers)") }
            planning.everyWindows = value
        }
        for key in ["driftForecastThreshold", "schemaChangeThreshold"] {
            guard let text = try reader.string(key) else { continue }
            var value: Double?
            if text != "off" {
                guard let number = Double(text), (0...1).contains(number) else { throw Error(key: reader.path(key), reason: "must be in 0...1, or off") }
                value = number
            }
            if key == "driftForecastThreshold" { planning.driftForecastThreshold = value } else { planning.schemaChangeThreshold = value }
        }
        if let text = try reader.string("dryRun") {
            guard let value = Bool(text) else { throw Error(key: reader.path("dryRun"), reason: "expected true or false") }
            planning.dryRun = value
        }
        return planning
    }

    static func readTables(_ tables: [ConfigReader], sources: [Source]) throws(Error) -> [Table] {
        var result: [Table] = []
        for table in tables {
            try table.check(allowed: ["table", "target", "source", "queries", "horizon", "margin"])
            guard let name = try table.string("table"), !name.isEmpty else { throw Error(key: table.path("table"), reason: "required: schema.table (or a table name in public)") }
            guard let target = try table.string("target") else {
                throw Error(key: table.path("target"), reason: "required: the table's store, postgres://user@host:port/db or sqlite:PATH")
            }
            let postgres = target.hasPrefix("postgres://") || target.hasPrefix("postgresql://")
            if postgres {
                do { _ = try PostgresURL(target) } catch { throw Error(key: table.path("target"), reason: error.reason) }
            } else if target.hasPrefix("sqlite:") ? target.count == "sqlite:".count : target.isEmpty {
                throw Error(key: table.path("target"), reason: "sqlite: needs the database file's path (sqlite:/var/lib/app/app.sqlite)")
            }
            let qualified = name.contains(".") ? name : "\(postgres ? "public" : "main").\(name)"
            if !postgres, !qualified.hasPrefix("main.") {
                throw Error(key: table.path("table"), reason: "SQLite tables live in main: write \(name.split(separator: ".").last ?? "") or main.…")
            }
            guard !result.contains(where: { $0.name == qualified }) else { throw Error(key: table.path("table"), reason: "\(qualified) is listed twice") }
            guard let source = try table.string("source") else { throw Error(key: table.path("source"), reason: "required: the source topic that feeds the table") }
            guard sources.contains(where: { $0.watches(source) }) else {
                throw Error(key: table.path("source"), reason: "'\(source)' is not one of the sources this detector watches")
            }
            guard let queriesSection = try table.mapping("queries") else {
                throw Error(key: table.path("queries"), reason: "required: {log: PATH} (a server log or SQL file), {pgStatStatements: true} or {topic: NAME}")
            }
            try queriesSection.check(allowed: ["log", "pgStatStatements", "topic", "last"])
            let queries: Table.Queries
            switch (try queriesSection.string("log"), try queriesSection.string("pgStatStatements"), try queriesSection.string("topic")) {
            case let (path?, nil, nil):
                guard !path.isEmpty else { throw Error(key: queriesSection.path("log"), reason: "a file path") }
                queries = .log(path: path)
            case (nil, "true"?, nil):
                guard postgres else { throw Error(key: queriesSection.path("pgStatStatements"), reason: "pg_stat_statements is PostgreSQL's; a SQLite table's statements come from a log or a topic") }
                queries = .pgStatStatements
            case (nil, _?, nil):
                throw Error(key: queriesSection.path("pgStatStatements"), reason: "expected true")
            case let (nil, nil, topic?):
                guard !topic.isEmpty else { throw Error(key: queriesSection.path("topic"), reason: "a topic name") }
                let last = try queriesSection.integer("last") ?? 100_000
                guard (1...10_000_000).contains(last) else {
                    throw Error(key: queriesSection.path("last"), reason: "must be in 1...10000000 (the latest statements read at each planning run)")
                }
                queries = .topic(name: topic, last: last)
            default:
                throw Error(key: table.path("queries"), reason: "give exactly one of log, pgStatStatements or topic")
            }
            if case .topic = queries {} else if try queriesSection.integer("last") != nil {
                throw Error(key: queriesSection.path("last"), reason: "only with topic: (how many of its latest statements to read)")
            }
            var parsed = Table(name: qualified, target: target, source: source, queries: queries)
            if let milliseconds = try table.duration("horizon") {
                guard milliseconds > 0 else { throw Error(key: table.path("horizon"), reason: "must be longer than 0") }
                parsed.horizonDays = Double(milliseconds) / 86_400_000
            }
            if let margin = try table.number("margin") {
                guard margin >= 0 else { throw Error(key: table.path("margin"), reason: "must not be negative") }
                parsed.margin = margin
            }
            result.append(parsed)
        }
        return result
    }
}
