import ArgumentParser
import DriftlineDetector
import DriftlineProfiling
import DriftlineSampleData
import DriftlineServiceRuntime
import Foundation

struct ProfileBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Records/s of the hot path (scan only; scan + profile update) vs Foundation's JSONSerialization, one core.",
        discussion: """
            Generates the drift dataset (12 fields, nested object, nullable fields, the last 30% drifted; \
            about 220 bytes a record) in memory, then times, in this process: (a) scanning every record, \
            (b) scanning and updating a window profile, and the baseline, JSONSerialization parsing the same \
            records. Single-threaded; build with -c release. Best of --repeats runs.
            """
    )

    @Option(help: "Records in the dataset.")
    var records: Int = 1_000_000

    @Option(help: "Records parsed by the (slow) JSONSerialization baseline; its rate is what counts.")
    var baselineRecords: Int = 200_000

    @Option(help: "Repetitions; the best run of each measurement is reported.")
    var repeats: Int = 3

    @Option(help: "(c): partitions the records are spread over, as `bench detect` spreads them (record i to partition i % N).")
    var partitions: Int = 64

    @Option(help: "(c): window size in seconds of event time (the dataset advances 10 ms a record).")
    var windowSeconds: Int = 600

    @Option(help: "Also write the dataset as JSONL to this file.")
    var writeDataset: String?

    func validate() throws {
        guard records > 0, baselineRecords > 0, repeats > 0, partitions > 0, windowSeconds > 0 else { throw ValidationError("counts must be positive") }
    }

    func run() throws {
        let dataset = DriftDataset(records: records)
        let jsonl = dataset.jsonl()
        if let writeDataset { try Data(jsonl).write(to: URL(fileURLWithPath: writeDataset)) }
        var lines: [Range<Int>] = []
        lines.reserveCapacity(records)
        var start = 0
        for (index, byte) in jsonl.enumerated() where byte == UInt8(ascii: "\n") {
            lines.append(start..<index)
            start = index + 1
        }
        let bytes = lines.reduce(0) { $0 + $1.count }
        print("dataset: \(records) records, \(bytes) bytes (\(bytes / records) B/record), drift from record \(dataset.driftStart)")

        let scanner = JSONScanner()
        var scanBest = 0.0
        var profileBest = 0.0
        var baselineBest = 0.0
        var windowedBest = 0.0
        // (c)'s delivery order: per partition in runs of `runLength` records, as a consumer's fetches
        // hand them over, partitions taking turns.
        let runLength = 500
        // Locals: an @Option's getter per record cost (c) a few percent.
        let partitions = partitions, windowSeconds = windowSeconds
        var delivery: [Int] = []
        delivery.reserveCapacity(records)
        for round in stride(from: 0, to: (records + partitions - 1) / partitions, by: runLength) {
            for partition in 0..<partitions {
                for step in round..<(round + runLength) {
                    let index = step * partitions + partition
                    if index < records { delivery.append(index) }
                }
            }
        }
        var leaves = 0
        var finalProfile: WindowProfile?
        try jsonl.withUnsafeBytes { buffer in
            for run in 1...repeats {
                // (a) scan only
                var start = DispatchTime.now()
                leaves = 0
                for line in lines {
                    try scanner.scan(UnsafeRawBufferPointer(rebasing: buffer[line]))
                    leaves &+= scanner.count
                }
                let scanRate = Double(records) / seconds(since: start)
                scanBest = max(scanBest, scanRate)

                // (b) scan + profile update
                let window = WindowProfile()
                start = DispatchTime.now()
                var cpuStart = threadCPUSeconds()
                for line in lines {
                    window.add(UnsafeRawBufferPointer(rebasing: buffer[line]), scanner: scanner)
                }
                let profileRate = Double(records) / seconds(since: start)
                let profileCPU = (threadCPUSeconds() - cpuStart) / Double(records) * 1e6
                profileBest = max(profileBest, profileRate)
                finalProfile = window

                // (c) windowed as a detector lane does it: event time from `ts`, one profile per
                // partition and window, windows closed (and their partials encoded) as the
                // watermark passes them, every 20,000 records as the loop does after a batch.
                var windowing = SourceWindowing(
                    topic: "bench", eventTime: .field(path: "ts", unit: .milliseconds),
                    windows: TumblingWindows(size: Int64(windowSeconds) * 1000, allowedLateness: 1000))
                windowing.assign((0..<partitions).map(Int32.init), now: 0)
                var encodedBytes = 0, partials = 0, encodeCPU = 0.0
                start = DispatchTime.now()
                cpuStart = threadCPUSeconds()
                for (position, index) in delivery.enumerated() {
                    _ = windowing.ingest(UnsafeRawBufferPointer(rebasing: buffer[lines[index]]), partition: Int32(index % partitions),
                                         offset: Int64(index / partitions), kafkaTimestamp: nil, now: 0)
                    if position % 20_000 == 19_999 {
                        let encodeStart = threadCPUSeconds()
                        for closed in windowing.closeReady(now: 0) { for part in closed.partitions { encodedBytes += part.profile.encoded().count; partials += 1 } }
                        encodeCPU += threadCPUSeconds() - encodeStart
                    }
                }
                let windowedRate = Double(records) / seconds(since: start)
                let windowedCPU = (threadCPUSeconds() - cpuStart) / Double(records) * 1e6
                windowedBest = max(windowedBest, windowedRate)
                print(String(format: "  (c): %d partials, %.0f KB each, encoding %.2f ms each (%.2f µs a record)",
                             partials, Double(encodedBytes) / Double(max(partials, 1)) / 1000, encodeCPU / Double(max(partials, 1)) * 1000, encodeCPU / Double(records) * 1e6))

                // Baseline: Foundation parses the same records (no profiling at all).
                let sample = min(baselineRecords, records)
                start = DispatchTime.now()
                var objects = 0
                for line in lines.prefix(sample) {
                    let object = try JSONSerialization.jsonObject(with: Data(buffer[line]))
                    if object is [String: Any] { objects += 1 }
                }
                let baselineRate = Double(sample) / seconds(since: start)
                baselineBest = max(baselineBest, baselineRate)
                precondition(objects == sample)
                print(String(format: "run %d: scan %.0f rec/s, scan+profile %.0f rec/s (%.2f µs CPU a record), windowed %.0f rec/s (%.2f µs), JSONSerialization %.0f rec/s",
                             run, scanRate, profileRate, profileCPU, windowedRate, windowedCPU, baselineRate))
            }
        }
        let mb = Double(bytes) / Double(records) / 1e6
        print("best of \(repeats), single core:")
        print(String(format: "  (a) scan only          %10.0f records/s  %7.1f MB/s  (%d leaves a record)", scanBest, scanBest * mb, leaves / records))
        print(String(format: "  (b) scan + profile     %10.0f records/s  %7.1f MB/s", profileBest, profileBest * mb))
        print(String(format: "  (c) windowed lane      %10.0f records/s  %7.1f MB/s  (%d partitions, %d s windows, partials encoded)",
                     windowedBest, windowedBest * mb, partitions, windowSeconds))
        print(String(format: "  JSONSerialization      %10.0f records/s  %7.1f MB/s  (parse only)", baselineBest, baselineBest * mb))
        print(String(format: "ratio (a)/JSONSerialization: %.1f   (b)/JSONSerialization: %.1f", scanBest / baselineBest, profileBest / baselineBest))
        if let finalProfile {
            print("profile: \(finalProfile.fields.count) fields, \(finalProfile.allocatedBytes) bytes allocated, encoded \(finalProfile.encoded().count) bytes")
        }
    }

}
