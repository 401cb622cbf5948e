import ArgumentParser
import DriftlineProfiling
import Foundation

struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Profile a JSONL file (or stdin): per-field types, missing and null rates, numeric quantiles, distinct counts, top values.",
        discussion: """
            One JSON object per line; empty lines are skipped. Malformed lines are counted by reason \
            (the first few are reported on stderr with their line number) and never stop the run. \
            Memory is bounded by --max-fields, whatever the input size.
            """
    )

    @Option(help: "JSONL file to read; '-' for stdin.")
    var input: String

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    @Option(help: "Most fields to track; leaves of further fields are counted as overflow.")
    var maxFields: Int = 256

    @Option(help: "Frequent values shown per field.")
    var top: Int = 5

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

    func validate() throws {
        guard maxFields > 0 else { throw ValidationError("--max-fields must be positive") }
        guard top >= 0 else { throw ValidationError("--top must not be negative") }
    }

    func run() throws {
        var configuration = ProfileConfiguration()
        configuration.maxFields = maxFields
        try configuration.validate()
        let window = WindowProfile(configuration: configuration)
        let scanner = JSONScanner(options: configuration.scannerOptions)
        let reader = try LineReader(path: input)
        let progress = ProgressReporter(total: reader.totalBytes, label: "profiled bytes")
        var line = 0
        var reported = 0
        try reader.forEachLine { bytes in
            line += 1
            if let error = window.add(bytes, scanner: scanner), reported < 5 {
                reported += 1
                FileHandle.standardError.write(Data("line \(line): \(error)\n".utf8))
            }
            if line % 65_536 == 0 { progress.update(reader.bytesRead) }
        }
        progress.finish()
        let summary = ProfileSummary(window, topValues: top)
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            FileHandle.standardOutput.write(try encoder.encode(summary))
            print()
        case .text:
            print(Self.render(summary))
        }
    }

    static func render(_ summary: ProfileSummary) -> String {
        var out = "records: \(summary.records)   malformed: \(summary.malformed)"
        if !summary.malformedByReason.isEmpty {
            out += " (" + summary.malformedByReason.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + ")"
        }
        if summary.overflowLeaves > 0 {
            out += "\noverflow: \(summary.overflowLeaves) values of about \(Int(summary.overflowFieldsEstimate.rounded())) untracked fields (raise --max-fields)"
        }
        for field in summary.fields {
            let total = Double(max(summary.records, 1))
            out += "\n\n\(field.path)"
            out += String(format: "\n  present %.1f%%  null %lld  types: ", 100 * Double(field.present) / total, field.nulls)
            out += field.types.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            if let numeric = field.numeric {
                out += String(format: "\n  mean %.6g  sd %@  min %.6g  p50 %.6g  p99 %.6g  max %.6g",
                              numeric.mean, numeric.standardDeviation.map { String(format: "%.6g", $0) } ?? "-",
                              numeric.min, numeric.quantiles["p50"] ?? .nan, numeric.quantiles["p99"] ?? .nan, numeric.max)
            }
            if let distinct = field.distinctEstimate { out += String(format: "\n  distinct ≈ %.0f", distinct) }
            if let lengths = field.stringLength { out += String(format: "  string length mean %.1f (%.0f–%.0f)", lengths.mean, lengths.min, lengths.max) }
            if let lengths = field.arrayLength { out += String(format: "\n  array length mean %.1f (%.0f–%.0f)", lengths.mean, lengths.min, lengths.max) }
            if let values = field.topValues, !values.isEmpty {
                out += "\n  top: " + values.map { "\($0.value) (\($0.count)\($0.error > 0 ? " ±\($0.error)" : ""))" }.joined(separator: ", ")
            }
        }
        return out
    }
}

/// Reads newline-separated records in large chunks, handing out each line's bytes without copying
/// them (a line split across chunks is carried over). Trailing `\r` is dropped; empty lines skipped.
final class LineReader {
    private let handle: FileHandle
    let totalBytes: Int
    private(set) var bytesRead = 0

    init(path: String) throws {
        if path == "-" {
            handle = .standardInput
            totalBytes = 0
        } else {
            guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no such file: \(path)") }
            handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            totalBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        }
    }

    func forEachLine(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var carry: [UInt8] = []
        while true {
            let chunk = try handle.read(upToCount: 4 << 20) ?? Data()
            if chunk.isEmpty { break }
            bytesRead += chunk.count
            try chunk.withUnsafeBytes { buffer in
                var start = 0
                while let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    if carry.isEmpty {
                        try emit(UnsafeRawBufferPointer(rebasing: buffer[start..<newline]), body)
                    } else {
                        carry.append(contentsOf: buffer[start..<newline])
                        try carry.withUnsafeBytes { try emit($0, body) }
                        carry.removeAll(keepingCapacity: true)
                    }
                    start = newline + 1
                }
                carry.append(contentsOf: buffer[start...])
            }
        }
        if !carry.isEmpty { try carry.withUnsafeBytes { try emit($0, body) } }
    }

    private func emit(_ line: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var line = line
        if line.last == UInt8(ascii: "\r") { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
        if line.isEmpty { return }
        try body(line)
    }
}
