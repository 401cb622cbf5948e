// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Driftline",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "driftline", targets: ["DriftlineCLI"]),
        .library(name: "DriftlineKafka", targets: ["DriftlineKafka"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.27.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.65.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        // No traits: the service needs neither swift-configuration nor the full-Foundation extras.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.20.0", traits: []),
        // Counts malloc calls (LD_PRELOAD on Linux) for the allocation probe.
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.1"),
    ],
    targets: [
        // librdkafka as installed by Debian's librdkafka-dev; the module map exposes rdkafka.h and rdkafka_mock.h.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // libpg_query as installed by Debian's libpg-query-dev (no pkg-config file): PostgreSQL's parser.
        .systemLibrary(name: "CPgQuery", providers: [.apt(["libpg-query-dev"])]),
        // Configuration plumbing every service shares: the YAML reader with key-path errors, the one
        // host:port parser, durations, the `kafka:` section (pure: Yams only).
        .target(name: "DriftlineConfiguration", dependencies: [.product(name: "Yams", package: "Yams")]),
        // What every long-running service shares: HTTP health and metrics, metric handles, Kafka
        // client settings from configuration.
        .target(
            name: "DriftlineServiceRuntime",
            dependencies: [
                "DriftlineConfiguration",
                "DriftlineKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The only module that touches librdkafka pointers.
        .target(
            name: "DriftlineKafka",
            dependencies: [
                "CRdKafka",
                "DriftlineConfiguration",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Record scanning and mergeable per-field profiles: the detector's hot path (pure).
        .target(
            name: "DriftlineProfiling",
            swiftSettings: [
                // The hot path mutates class-held sketches per field value; runtime exclusivity checks
                // there cost more than the statistics themselves. Debug builds keep the checks.
                .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
            ]
        ),
        // Drift metrics, change points, scores, alerts and reports over window profiles (pure).
        .target(name: "DriftlineDrift", dependencies: ["DriftlineProfiling"]),
        // The metadata store: one protocol, SQLite (GRDB, the embedded default) and PostgreSQL drivers.
        .target(
            name: "DriftlineMetadata",
            dependencies: [
                "DriftlineConfiguration",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Forecasting: exponential smoothing, baselines, model selection (pure).
        .target(
            name: "DriftlineForecast",
            swiftSettings: [
                // Model selection fits hundreds of models (Kalman filters, Nelder–Mead); unoptimised,
                // the forecasting tests alone would take minutes. Optimised in debug builds too.
                .unsafeFlags(["-O"], .when(configuration: .debug)),
            ]
        ),
        // Deterministic datasets with known drift for benchmarks, tests and the demo (pure).
        .target(name: "DriftlineSampleData", dependencies: ["DriftlineProfiling"]),
        // The detector service: windows, scoring across instances, outputs.
        .target(
            name: "DriftlineDetector",
            dependencies: ["DriftlineConfiguration", "DriftlineDrift", "DriftlineProfiling", "DriftlineMessages", .product(name: "Yams", package: "Yams")]
        ),
        // The long-running `driftline detect`: Kafka in and out, state in the metadata store, HTTP
        // health and Prometheus metrics, graceful shutdown.
        .target(
            name: "DriftlineService",
            dependencies: [
                "DriftlineConfiguration",
                // The closed loop: plans (planner, catalog reader) and repartition commands.
                "DriftlinePlanning",
                "DriftlineTargets",
                "DriftlineExecutor",
                "DriftlineServiceRuntime",
                "DriftlineDetector",
                "DriftlineForecast",
                "DriftlineKafka",
                "DriftlineMessages",
                "DriftlineMetadata",
                "DriftlineProfiling",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: [
                // The loop and the lanes touch class-held counters and buffers for every record (about
                // seven runtime exclusivity checks each, 2% of the detector's CPU in perf). Debug
                // builds, which the tests run, keep the checks.
                .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
            ]
        ),
        // SQL through PostgreSQL's own parser: parse trees, fingerprints, statement splitting. The only
        // module that touches libpg_query pointers.
        .target(name: "DriftlineSQL", dependencies: ["CPgQuery"]),
        // The partitioning planner: query log → workload → candidates → cost → decision (pure: no
        // database or network; statistics arrive as plain values).
        .target(name: "DriftlinePlanning", dependencies: ["DriftlineSQL", "DriftlineProfiling"]),
        // The executor's logic (pure): the re-partitioning workflow as a state machine, commands and
        // status, and per-store SQL dialects that emit statements as values.
        .target(name: "DriftlineExecutor", dependencies: ["DriftlinePlanning", "DriftlineProfiling", "DriftlineSQL"]),
        // The executor service: runs commands through the workflow against target stores, checkpoints
        // and leases in the metadata store.
        .target(
            name: "DriftlineExecutorService",
            dependencies: [
                "DriftlineExecutor", "DriftlineMetadata", "DriftlinePlanning", "DriftlineTargets", "DriftlineConfiguration",
                "DriftlineKafka", "DriftlineServiceRuntime", "DriftlineProfiling",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Target databases the planner reads and the executor changes (PostgreSQL's catalog and
        // pg_stat_statements; SQLite files), and the planner's inputs from the metadata store.
        .target(
            name: "DriftlineTargets",
            dependencies: [
                "DriftlinePlanning",
                "DriftlineExecutor",
                "DriftlineConfiguration",
                "DriftlineMetadata",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // Wire contracts of the topics Driftline writes (pure).
        .target(name: "DriftlineMessages"),
        .executableTarget(
            name: "DriftlineCLI",
            dependencies: [
                "DriftlineKafka",
                "DriftlineMessages",
                "DriftlineProfiling",
                "DriftlineDrift",
                "DriftlineDetector",
                "DriftlineMetadata",
                "DriftlineSampleData",
                "DriftlineService",
                "DriftlineForecast",
                "DriftlinePlanning",
                "DriftlineSQL",
                "DriftlineTargets",
                "DriftlineExecutor",
                "DriftlineExecutorService",
                "DriftlineServiceRuntime",
                .product(name: "Yams", package: "Yams"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // The demo's SQLite target table and its application.
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Counts allocations on the profiling hot path; ops/test.sh runs it (release, interposer preloaded).
        .executableTarget(
            name: "ProfileAllocationProbe",
            dependencies: [
                "DriftlineProfiling",
                "DriftlineSampleData",
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ],
            path: "Benchmarks/ProfileAllocationProbe"
        ),
        // Child processes for tests, waited for off Swift's cooperative pool.
        .target(name: "DriftlineTestSupport", path: "Tests/DriftlineTestSupport"),
        .testTarget(
            name: "DriftlineKafkaTests",
            dependencies: ["DriftlineKafka", "DriftlineTestSupport"]
        ),
        .testTarget(
            name: "DriftlineProfilingTests",
            dependencies: ["DriftlineProfiling", "DriftlineSampleData"]
        ),
        .testTarget(
            name: "DriftlineDriftTests",
            dependencies: ["DriftlineTestSupport", "DriftlineDrift", "DriftlineProfiling", "DriftlineSampleData"],
            exclude: ["Golden"]
        ),
        .testTarget(
            name: "DriftlineForecastTests",
            dependencies: ["DriftlineForecast"],
            exclude: ["Golden"]
        ),
        .testTarget(
            name: "DriftlineMetadataTests",
            // The concurrent-open test runs `driftline metadata migrate` in several processes.
            dependencies: ["DriftlineTestSupport", "DriftlineMetadata", "DriftlineCLI", .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        .testTarget(
            name: "DriftlineDetectorTests",
            dependencies: ["DriftlineTestSupport", "DriftlineConfiguration", "DriftlineDetector", "DriftlineDrift", "DriftlineProfiling", "DriftlineMessages", "DriftlineSampleData"]
        ),
        .testTarget(
            name: "DriftlineServiceTests",
            dependencies: ["DriftlineTestSupport", 
                "DriftlineService", "DriftlineServiceRuntime", "DriftlineConfiguration", "DriftlineDetector", "DriftlineKafka", "DriftlineMessages", "DriftlineMetadata",
                "DriftlineProfiling", "DriftlineSampleData",
                // Fault tests run the `driftline` executable as a child process.
                "DriftlineCLI",
                // The closed loop's test runs the executor service beside the detector.
                "DriftlineExecutor", "DriftlineExecutorService",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "DriftlineExecutorTests",
            dependencies: ["DriftlineTestSupport", 
                "DriftlineExecutor", "DriftlinePlanning", "DriftlineExecutorService", "DriftlineTargets", "DriftlineMetadata",
                "DriftlineKafka", "DriftlineConfiguration",
                .product(name: "Logging", package: "swift-log"),
                // Crash tests run `driftline execute` as a child process and kill it.
                "DriftlineCLI",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "DriftlinePlanningTests",
            dependencies: ["DriftlineTestSupport", 
                "DriftlinePlanning", "DriftlineSQL", "DriftlineTargets", "DriftlineMetadata", "DriftlineSampleData",
                // `driftline plan` runs as a child process in the command tests.
                "DriftlineCLI",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // Runs the built `driftline` executable end to end.
        .testTarget(
            name: "DriftlineCLITests",
            dependencies: ["DriftlineTestSupport", "DriftlineCLI"]
        ),
    ]
)
