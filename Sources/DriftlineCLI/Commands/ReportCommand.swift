import ArgumentParser
import DriftlineDrift
import DriftlineProfiling
import Foundation

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Compare a current JSONL file with a reference one and write a drift report (HTML, JSON or text).",
        discussion: """
            The current file is also cut into --windows consecutive windows, each scored against the \
            reference, for the score-over-time chart, change points and the event log. The output format \
            follows the --out extension: .html (self-contained: inline SVG, no scripts or fetches), .json, \
            or .txt; '-' prints text to stdout.
            """
    )

    @Option(help: "Reference JSONL file.")
    var reference: String

    @Option(help: "Current JSONL file.")
    var current: String

    @Option(help: "Declared JSON Schema of the records (optional).")
    var schema: String?

    @Option(help: "Output file: .html, .json or .txt; '-' for text on stdout.")
    var out: String = "-"

    @Option(help: "Windows the current file is cut into for the over-time view.")
    var windows: Int = 10

    @Option(help: "Report title.")
    var title: String = "Drift report"

    func validate() throws {
        guard windows >= 1 else { throw ValidationError("--windows must be at least 1") }
        guard out == "-" || [".html", ".json", ".txt"].contains(where: out.hasSuffix) else {
            throw ValidationError("--out must end in .html, .json or .txt (or be '-')")
        }
    }

    func run() throws {
        let declared = try schema.map { path throws -> DeclaredSchema in try DeclaredSchema(contentsOf: URL(fileURLWithPath: path)) }
        let referenceProfile = try Self.profile(reference)
        // Count the current records first, then profile them whole and window by window in one pass.
        var currentLines = 0
        try LineReader(path: current).forEachLine { _ in currentLines += 1 }
        let perWindow = max(1, (currentLines + windows - 1) / windows)
        let whole = WindowProfile()
        var windowProfiles: [WindowProfile] = []
        let scanner = JSONScanner()
        var line = 0
        try LineReader(path: current).forEachLine { bytes in
            if line % perWindow == 0 { windowProfiles.append(WindowProfile()) }
            line += 1
            if whole.add(bytes, scanner: scanner) == nil {
                windowProfiles[windowProfiles.count - 1].addScanned(scanner)
            } else {
                _ = windowProfiles[windowProfiles.count - 1].add(bytes, scanner: scanner)
            }
        }
        let report = DriftReport(title: title, reference: referenceProfile, current: whole, windows: windowProfiles, schema: declared)
        if out == "-" {
            print(report.renderText())
        } else if out.hasSuffix(".html") {
            try Data(report.renderHTML().utf8).write(to: URL(fileURLWithPath: out))
        } else if out.hasSuffix(".json") {
            try report.renderJSON().write(to: URL(fileURLWithPath: out))
        } else {
            try Data(report.renderText().utf8).write(to: URL(fileURLWithPath: out))
        }
        if out != "-" { FileHandle.standardError.write(Data("wrote \(out): score \(String(format: "%.2f", report.score)), \(report.fields.count) fields, \(report.events.count) events\n".utf8)) }
    }

    static func profile(_ path: String) throws -> WindowProfile {
        let window = WindowProfile()
        let scanner = JSONScanner()
        try LineReader(path: path).forEachLine { window.add($0, scanner: scanner) }
        return window
    }
}
