import Foundation
import Testing

/// Runs the real `driftline` executable, as a user would.
@Suite(.timeLimit(.minutes(2)))
struct DevCommandTests {
    private var driftline: URL {
        // Test bundles are built next to the package's executables.
        var directory = Bundle.main.bundleURL
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("driftline").path), directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("driftline")
    }

    @Test func devServesDriftlineTopicsToKcatAndStopsOnInterrupt() throws {
        let port = Int.random(in: 20_000...60_000)
        let process = Process()
        process.executableURL = driftline
        process.arguments = ["dev", "--port", String(port), "--topic", "orders:4"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        // Wait for the line that says where to connect.
        var printed = ""
        while !printed.contains("Ctrl-C to stop.") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            printed += String(decoding: chunk, as: UTF8.self)
        }
        #expect(printed.contains("bootstrap: 127.0.0.1:\(port)"))

        if let kcat = ["/usr/bin/kcat", "/usr/local/bin/kcat"].first(where: FileManager.default.isExecutableFile) {
            let listing = try run(kcat, ["-b", "127.0.0.1:\(port)", "-L", "-m", "10"])
            for topic in ["driftline.profiles", "driftline.drift-events", "driftline.alerts",
                          "driftline.repartition-commands", "driftline.repartition-status", "driftline.dead-letter"] {
                #expect(listing.contains("topic \"\(topic)\" with 3 partitions"), "\(topic) missing from kcat -L")
            }
            #expect(listing.contains("topic \"orders\" with 4 partitions"))
        } else if ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("kcat is not installed (ops/install-deps.sh installs it)")
        }

        process.interrupt()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test func devRejectsABadTopicSpecWithAClearMessage() throws {
        let (status, errorText) = try runDriftline(["dev", "--topic", "orders:zero"])
        #expect(status != 0)
        #expect(errorText.contains("partitions must be a positive integer"))
    }

    @Test func demoRunsEndToEnd() throws {
        let process = Process()
        process.executableURL = driftline
        process.arguments = ["demo", "--records", "3000"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text.contains("produced 3000 records (0 failed)"))
        #expect(text.contains("consumed 3000 records"))
    }

    private func runDriftline(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = driftline
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    private func run(_ path: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
