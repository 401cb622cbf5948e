import DriftlineServiceRuntime

/// Where a detector's CPU goes, stage by stage: `driftline_stage_cpu_seconds_total{stage}`, and
/// the table `detect --exit-after-records` prints for `bench detect`. Each stage is CPU time of the
/// thread that ran it; librdkafka's own threads (fetching, decompressing, producing) and the
/// metadata store's are counted apart (see `DetectorStageReport`).
public enum DetectorStage: String, CaseIterable, Sendable {
    /// Polling the source topics and copying records out of librdkafka's buffers (loop thread).
    case consume
    /// Scanning and profiling records, summed over the lanes' cores.
    case profile
    /// Closing windows and encoding their partial profiles.
    case partialsEncode = "partials_encode"
    /// Handing partials to the producer (and waiting for it to take them).
    case partialsPublish = "partials_publish"
    /// Polling the profiles topic and decoding the partials' envelopes.
    case partialsRead = "partials_read"
    /// Decoding partial profiles and merging them into their windows.
    case merge
    /// Scoring closed windows and building their outputs and the aggregator's state.
    case score
    /// Flushing the producer and committing offsets.
    case commit
}

/// The stage CPU of a whole run, with what no stage measures: librdkafka's threads, the rest of the
/// process (metadata store, HTTP, runtime), and the wall time spent in metadata-store calls.
public struct DetectorStageReport: Sendable, Equatable {
    public var stages = StageCPU()
    /// Wall seconds the loop spent awaiting the metadata store (leases, state, history).
    public var metadataWallSeconds = 0.0
    /// librdkafka's threads (`rdk:…`), read just before the clients close (their threads end with them).
    public var kafkaThreadsCPU: Double?

    public init() {}

    /// "stage CPU s: consume 0.41, profile 1.20, …, librdkafka_threads 0.90, other 0.12; metadata wall 0.30 s":
    /// one line a benchmark can parse.
    public func line(processCPU: Double) -> String {
        var parts = DetectorStage.allCases.map { stage in "\(stage.rawValue) \(format(stages.seconds[stage.rawValue] ?? 0))" }
        let measured = stages.seconds.values.reduce(0, +) + (kafkaThreadsCPU ?? 0)
        if let kafkaThreadsCPU { parts.append("librdkafka_threads \(format(kafkaThreadsCPU))") }
        parts.append("other \(format(max(0, processCPU - measured)))")
        return "stage CPU s: " + parts.joined(separator: ", ") + "; metadata wall \(format(metadataWallSeconds)) s"
    }

    private func format(_ value: Double) -> String { String(format: "%.3f", value) }
}
