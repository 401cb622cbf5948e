import Foundation
import DriftlineTestSupport
import Testing

/// `driftline detect`'s front door: configuration errors name the key, and nothing starts.
@Suite struct DetectCommandTests {
    func write(_ text: String) throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("detect-\(UUID().uuidString).yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test func checkConfigAcceptsAValidFile() async throws {
        let file = try write("sources: [{topic: orders, eventTime: {field: ts}}]\nwindows: {size: 30s}\n")
        let result = try await runDriftline(["detect", "--config", file.path, "--check-config"])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains("configuration OK: 1 source(s), windows of 30000 ms"))
    }

    @Test(arguments: [
        ("sources: [{topic: orders, evenTime: kafka}]", "sources[0].evenTime", "unknown key"),
        ("sources: [{topic: orders}]\nwindows: {size: forever}", "windows.size", "not a duration"),
    ])
    func badConfigurationStopsWithTheKey(yaml: String, key: String, reason: String) async throws {
        let file = try write(yaml)
        let result = try await runDriftline(["detect", "--config", file.path])
        #expect(result.status != 0)
        #expect(result.err.contains("'\(key)'") && result.err.contains(reason), "\(result.err)")
    }

    @Test func missingFileIsReported() async throws {
        let result = try await runDriftline(["detect", "--config", "/nonexistent/driftline.yaml"])
        #expect(result.status != 0)
        #expect(result.err.contains("cannot read /nonexistent/driftline.yaml"), "\(result.err)")
    }

    @Test func unreachableBrokersFailWithAMessage() async throws {
        // Nothing listens on port 1: the detector must say so and exit, not hang.
        let file = try write("kafka: {brokers: [127.0.0.1:1], properties: {socket.connection.setup.timeout.ms: \"2000\"}}\nsources: [{topic: orders}]\nhttp: {listen: 127.0.0.1:0}\nmetadata: {store: \(FileManager.default.temporaryDirectory.appendingPathComponent("m-\(UUID().uuidString).sqlite").path)}\n")
        let result = try await runDriftline(["detect", "--config", file.path])
        #expect(result.status != 0)
        #expect(result.err.lowercased().contains("broker") || result.err.contains("timed out") || result.err.contains("Transport"), "\(result.err.suffix(800))")
    }
}
