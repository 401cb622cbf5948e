@testable import DriftlineDetector
import DriftlineDrift
import Testing

@Suite struct DetectorConfigurationTests {
    @Test func aFullConfigurationParses() throws {
        let configuration = try DetectorConfiguration.parse("""
            kafka:
              brokers: [broker-1:9092, broker-2:9092]
              groupId: drift-team
              security: {security.protocol: SASL_SSL, sasl.mechanism: PLAIN}
              properties: {fetch.max.bytes: "52428800"}
            sources:
              - topic: orders
                eventTime: {field: created_at, unit: rfc3339}
                maxFields: 128
                weights:
                  ts: {distribution: 0}
                importance: {id: 0.5}
                alerts: {fireLevel: 0.6, resolveLevel: 0.2, fireAfter: 3}
              - topic: clicks
                eventTime: processing
            windows: {size: 5m, allowedLateness: 30s, idleTimeout: 2m, partialTimeout: 45s}
            deadLetters: {maxPerWindow: 7}
            prediction: {everyWindows: 6, horizon: 48, historyWindows: 500}
            workers: 3
            reference: {mode: sliding, windows: 12}
            topics: {alerts: team.alerts}
            metadata: {store: postgres://driftline@db:5432/driftline}
            http: {listen: 0.0.0.0:9464}
            """)
        #expect(configuration.kafka.brokers == ["broker-1:9092", "broker-2:9092"])
        #expect(configuration.kafka.groupID == "drift-team")
        #expect(configuration.kafka.security["security.protocol"] == "SASL_SSL")
        #expect(configuration.sources.map(\.topic) == ["orders", "clicks"])
        #expect(configuration.sources[0].eventTime == .field(path: "created_at", unit: .rfc3339))
        #expect(configuration.sources[0].weights["ts"] == [.distribution: 0])
        #expect(configuration.sources[0].alerts.fireLevel == 0.6 && configuration.sources[0].alerts.fireAfter == 3)
        #expect(configuration.sources[1].eventTime == .processing)
        #expect(configuration.windows.sizeMilliseconds == 300_000 && configuration.windows.allowedLatenessMilliseconds == 30_000)
        #expect(configuration.reference == .sliding(windows: 12))
        #expect(configuration.topics.alerts == "team.alerts" && configuration.topics.driftEvents == "driftline.drift-events")
        #expect(configuration.metadataStore.hasPrefix("postgres://"))
        #expect(configuration.windows.partialTimeoutMilliseconds == 45_000 && configuration.deadLettersPerWindow == 7)
        #expect(configuration.workers == 3)
        #expect(configuration.prediction == .init(everyWindows: 6, horizon: 48, historyWindows: 500))
    }

    @Test func tablesAndPlanningParse() throws {
        let configuration = try DetectorConfiguration.parse("""
            sources: [{topic: orders}]
            planning: {every: 6, driftForecastThreshold: 0.7, schemaChangeThreshold: off, dryRun: true}
            tables:
              - {table: orders, target: 'postgres://app@db:5432/app', source: orders, queries: {log: /var/log/pg.log}, horizon: 7d, margin: 0.1}
              - {table: shop.items, target: 'postgres://app@db:5432/app', source: orders, queries: {pgStatStatements: true}}
              - {table: orders, target: 'sqlite:/var/lib/app.sqlite', source: orders, queries: {topic: app.sql, last: 500}}
              - {table: main.items, target: app.sqlite, source: orders, queries: {topic: app.sql}}
            topics: {repartitionCommands: cmds, repartitionStatus: stat}
            """)
        #expect(configuration.planning.everyWindows == 6 && configuration.planning.driftForecastThreshold == 0.7)
        #expect(configuration.planning.schemaChangeThreshold == nil && configuration.planning.dryRun)
        #expect(configuration.tables.map(\.name) == ["public.orders", "shop.items", "main.orders", "main.items"])
        #expect(configuration.tables[0].queries == .log(path: "/var/log/pg.log") && configuration.tables[1].queries == .pgStatStatements)
        #expect(configuration.tables[2].queries == .topic(name: "app.sql", last: 500) && configuration.tables[3].queries == .topic(name: "app.sql", last: 100_000))
        #expect(configuration.tables[2].target == "sqlite:/var/lib/app.sqlite")
        #expect(configuration.tables[0].horizonDays == 7 && configuration.tables[0].margin == 0.1 && configuration.tables[1].horizonDays == 30)
        #expect(configuration.topics.repartitionCommands == "cmds" && configuration.topics.repartitionStatus == "stat")
    }

    @Test func defaultsNeedOnlyASource() throws {
        let configuration = try DetectorConfiguration.parse("sources: [{topic: orders}]")
        #expect(configuration.sources[0].eventTime == .kafka)
        #expect(configuration.windows.sizeMilliseconds == 60_000)
        #expect(configuration.reference == .first(windows: 5))
        #expect(configuration.metadataStore == "driftline-metadata.sqlite")
        #expect(configuration.windows.partialTimeoutMilliseconds == 30_000)
        #expect(configuration.deadLettersPerWindow == 100)
        #expect(configuration.prediction == .init(everyWindows: 12, horizon: 24, historyWindows: 240))
    }

    @Test(arguments: [
        ("sources: []", "sources", "at least one source"),
        ("source: [{topic: a}]", "source", "unknown key"),
        ("sources: [{topic: a, eventtime: kafka}]", "sources[0].eventtime", "unknown key"),
        ("sources: [{topic: a, eventTime: {field: t, unit: minutes}}]", "sources[0].eventTime.unit", "'minutes' is not milliseconds, seconds or rfc3339"),
        ("sources: [{topic: a, format: avro}]", "sources[0].format", "only 'json'"),
        ("sources: [{topic: a, weights: {x: {distribution: 3}}}]", "sources[0].weights.x.distribution", "in [0, 1]"),
        ("sources: [{topic: a, weights: {x: {vibes: 1}}}]", "sources[0].weights.x", "'vibes' is not one of"),
        ("sources: [{topic: a, alerts: {fireLevel: 0.2, resolveLevel: 0.5}}]", "sources[0].alerts", "resolve level ≤ fire level"),
        ("sources: [{topic: a}, {topic: a}]", "sources", "listed twice"),
        ("sources: [{topic: a}]\nwindows: {size: 10 minutes}", "windows.size", "not a duration"),
        ("sources: [{topic: a}]\nreference: {mode: pinned}", "reference.name", "needs a name"),
        ("sources: [{topic: a}]\nkafka: {brokers: [localhost]}", "kafka.brokers", "not host:port"),
        ("sources: [{topic: driftline.alerts}]\ntopics: {profiles: p}", "topics", "also a watched source"),
        ("sources: [{topic: a, schema: /nonexistent.json}]", "sources[0].schema", "no such file"),
        ("sources: [{topic: a}]\nhttp: {listen: everywhere}", "http.listen", "not host:port"),
        ("sources: [{topic: a}]\nwindows: {partialTimeout: soon}", "windows.partialTimeout", "not a duration"),
        ("sources: [{topic: a}]\ndeadLetters: {maxPerWindow: -1}", "deadLetters.maxPerWindow", "must not be negative"),
        ("sources: [{topic: a}]\ndeadLetters: {perWindow: 5}", "deadLetters.perWindow", "unknown key"),
        ("sources: [{topic: a}]\nprediction: {everyWindows: -1}", "prediction.everyWindows", "must not be negative"),
        ("sources: [{topic: a}]\nprediction: {historyWindows: 3}", "prediction.historyWindows", "must be in 8...100000"),
        ("sources: [{topic: a}]\nprediction: {horizon: 0}", "prediction.horizon", "must be in 1...10000"),
        ("sources: [{topic: a}]\nworkers: 0", "workers", "must be in 1...64"),
        ("sources: [{topic: \"^orders(\"}]", "sources[0].topic", "not a valid regular expression"),
        ("sources: [{topic: a}]\nplanning: {every: -1}", "planning.every", "must not be negative"),
        ("sources: [{topic: a}]\nplanning: {driftForecastThreshold: 2}", "planning.driftForecastThreshold", "must be in 0...1, or off"),
        ("sources: [{topic: a}]\nplanning: {dryRun: maybe}", "planning.dryRun", "expected true or false"),
        ("sources: [{topic: a}]\ntables: [{table: t, target: 'postgres://u@h/db', source: b, queries: {log: q.log}}]", "tables[0].source", "not one of the sources"),
        ("sources: [{topic: a}]\ntables: [{table: t, target: 'sqlite:', source: a, queries: {log: q.log}}]", "tables[0].target", "needs the database file"),
        ("sources: [{topic: a}]\ntables: [{table: shop.t, target: app.sqlite, source: a, queries: {log: q.log}}]", "tables[0].table", "SQLite tables live in main"),
        ("sources: [{topic: a}]\ntables: [{table: t, target: app.sqlite, source: a, queries: {pgStatStatements: true}}]", "tables[0].queries.pgStatStatements", "PostgreSQL's"),
        ("sources: [{topic: a}]\ntables: [{table: t, target: 'postgres://u@h/db', source: a, queries: {topic: sql, last: 0}}]", "tables[0].queries.last", "1...10000000"),
        ("sources: [{topic: a}]\ntables: [{table: t, target: 'postgres://u@h/db', source: a, queries: {log: q.log, last: 5}}]", "tables[0].queries.last", "only with topic"),
        ("sources: [{topic: a}]\ntables: [{table: t, target: 'postgres://u@h/db', source: a, queries: {sql: x}}]", "tables[0].queries.sql", "unknown key"),
        ("sources: [{topic: a}]\ntables: [{table: t, target: 'postgres://u@h/db', source: a}]", "tables[0].queries", "required"),
        ("sources: [{topic: a}]\ntables: [{table: t, target: 'postgres://u@h/db', source: a, queries: {log: q.log, pgStatStatements: true}}]", "tables[0].queries", "exactly one"),
        ("sources: [{topic: a}]\ntables: [{table: t, target: 'postgres://u@h/db', source: a, queries: {log: q}, horizon: soon}]", "tables[0].horizon", "not a duration"),
        ("sources: [{topic: a}]\ntables: [{table: t, target: 'postgres://u@h/db', source: a, queries: {log: q}}, {table: public.t, target: 'postgres://u@h/db', source: a, queries: {log: q}}]", "tables[1].table", "listed twice"),
        ("- just\n- a list", "(file)", "must be a mapping"),
        ("sources: [{topic: a", "(file)", "not valid YAML"),
    ])
    func badConfigurationNamesTheKeyAndTheReason(yaml: String, key: String, reason: String) {
        let error = #expect(throws: DetectorConfiguration.Error.self) { try DetectorConfiguration.parse(yaml) }
        #expect(error?.key == key, "\(String(describing: error))")
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
    }
}
