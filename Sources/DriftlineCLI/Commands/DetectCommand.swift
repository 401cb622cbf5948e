import ArgumentParser
import DriftlineDetector
import DriftlineService
import DriftlineServiceRuntime
import Foundation
import Logging

struct DetectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Run the drift detector on live topics until stopped (SIGTERM/SIGINT finish the batch, commit and leave the group).",
        discussion: """
            Consumes the configured source topics in the consumer group 'kafka.groupId', profiles event-time \
            windows, aggregates partial profiles across instances through the profiles topic, scores each \
            window and publishes drift events and alerts (and sampled dead letters). Run more instances with \
            the same configuration to share the partitions. HTTP: /healthz, /readyz, /metrics on 'http.listen'. \
            Every configuration key is described in the README ("Detector configuration").
            """
    )

    @Option(help: "The detector's YAML configuration.")
    var config: String

    @Flag(help: "Validate the configuration and exit.")
    var checkConfig = false

    @Option(help: "Stop after this many source records (benchmarks and tests); default: run until stopped.")
    var exitAfterRecords: Int64?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level '\(logLevel)' is not a log level") }
        if let exitAfterRecords, exitAfterRecords < 1 { throw ValidationError("--exit-after-records must be positive") }
    }

    func run() async throws {
        let configuration: DetectorConfiguration
        do { configuration = try DetectorConfiguration.load(path: config) } catch {
            throw ValidationError(error.description)
        }
        if checkConfig {
            print("configuration OK: \(configuration.sources.count) source(s), windows of \(configuration.windows.sizeMilliseconds) ms, store \(configuration.metadataStore)")
            return
        }
        var logger = Logger(label: "driftline.detect")
        logger.logLevel = Logger.Level(rawValue: logLevel)!
        let service = DetectorService(configuration: configuration, logger: logger, recordLimit: exitAfterRecords)
        try await service.runWithHTTP()
        let status = service.status.snapshot
        var span = 0.0
        if let first = status.firstRecordAt, let last = status.lastRecordAt { span = last.timeIntervalSince(first) }
        print("detector stopped: \(status.recordsConsumed) records, \(status.windowsScored) windows scored, \(status.alertsPublished) alerts published")
        if status.recordsSkippedAlreadyScored > 0 {
            print("skipped \(status.recordsSkippedAlreadyScored) records of windows the metadata store had already scored (a new consumer group or reset offsets re-read them)")
        }
        let cpu = processCPUSeconds()
        print(String(format: "consuming span %.3f s; peak RSS %.1f MiB; CPU %.2f s", span, peakResidentMiB(), cpu))
        print(status.stages.line(processCPU: cpu))
    }
}
