import DriftlineDetector
import DriftlineDrift
import DriftlineMessages
import DriftlineProfiling
import DriftlineSampleData
import Foundation
import DriftlineTestSupport
import Testing

/// What the code really emits, validated against schemas/ with a JSON Schema validator
/// (python3-jsonschema, draft 2020-12), plus a tampered message to prove the validator bites.
@Suite(.timeLimit(.minutes(10)))
struct MessageContractTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func window(_ records: [String]) -> WindowProfile {
        let profile = WindowProfile()
        let scanner = JSONScanner()
        for record in records {
            var bytes = Array(record.utf8)
            bytes.withUnsafeMutableBytes { _ = profile.add(UnsafeRawBufferPointer($0), scanner: scanner) }
        }
        return profile
    }

    /// A stream whose "amount" shifts and whose "coupon" appears from window 3, then everything recovers.
    static func emitted() -> (events: [DriftEventMessage], alerts: [AlertMessage]) {
        var random = SeededRandom(seed: 42)
        func records(drifted: Bool) -> [String] {
            (0..<800).map { _ in
                let amount = random.normal(mean: drifted ? 60 : 50, deviation: 5)
                return drifted ? #"{"amount": \#(amount), "coupon": "c\#(random.next() % 3)"}"# : #"{"amount": \#(amount)}"#
            }
        }
        let reference = window(records(drifted: false))
        var scorer = DriftScorer()
        var builder = OutputBuilder(source: "orders")
        var events: [DriftEventMessage] = []
        var alerts: [AlertMessage] = []
        for index in 0..<16 {
            let drifted = (3..<7).contains(index)
            let comparison = DriftComparison(reference: reference, current: window(records(drifted: drifted)))
            let score = scorer.score(comparison)
            let start = 1_764_000_000_000 + Int64(index) * 60_000
            let output = builder.messages(for: score, comparison: comparison,
                                          window: .init(start: start, end: start + 60_000, referenceStart: 1_763_999_940_000, referenceEnd: 1_764_000_000_000, schemaVersion: 1),
                                          now: start + 61_000)
            events += output.events
            alerts += output.alerts
        }
        return (events, alerts)
    }

    func validate(_ schema: String, _ lines: [Data]) async throws -> Finished {
        try #require(await DriftlineTestSupport.validateAgainstSchema(schema, lines), "python3 jsonschema is not installed (ops/install-deps.sh installs it)")
    }

    static let validatorInstalled: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import jsonschema, referencing"]
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }  // no python3 at all: not installed either
        process.waitUntilExit()  // once, while the suite's traits are evaluated, before any test runs
        return process.terminationStatus == 0
    }()

    static let inCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// Fails in CI when the validator is missing (ops/install-deps.sh installs it).
    func requireValidator() throws {
        try #require(Self.validatorInstalled, "python3 jsonschema is not installed (ops/install-deps.sh installs it)")
    }

    @Test(.enabled(if: validatorInstalled || inCI, "python3 jsonschema is not installed (ops/install-deps.sh installs it)"))
    func emittedAlertsAndEventsMatchTheirSchemas() async throws {
        try requireValidator()
        let (events, alerts) = Self.emitted()
        #expect(Set(events.map(\.kind)).isSuperset(of: [.distributionShift, .fieldAdded]), "\(Set(events.map(\.kind)))")
        #expect(alerts.contains { $0.state == "firing" && $0.field == nil } && alerts.contains { $0.state == "resolved" && $0.field == nil })
        #expect(alerts.filter { $0.field == nil && $0.state == "firing" }.count == 1, "one source alert for the drift episode")
        let alertCheck = try await validate("alert.v1.json", try alerts.map(WireJSON.encode))
        #expect(alertCheck.status == 0, "\(alertCheck.output)")
        let eventCheck = try await validate("drift-event.v1.json", try events.map(WireJSON.encode))
        #expect(eventCheck.status == 0, "\(eventCheck.output)")
        let deadLetter = DeadLetterMessage(topic: "orders", partition: 2, offset: 991, reason: "truncated input", byteOffset: 17,
                                           record: Array(String(repeating: "{\"x\": ", count: 400).utf8), emittedAt: 1_764_000_000_000)
        #expect(deadLetter.sampleTruncated)
        let letterCheck = try await validate("dead-letter.v1.json", [try WireJSON.encode(deadLetter)])
        #expect(letterCheck.status == 0, "\(letterCheck.output)")
    }

    @Test(.enabled(if: validatorInstalled || inCI, "python3 jsonschema is not installed (ops/install-deps.sh installs it)"))
    func theValidatorRejectsABrokenMessage() async throws {
        try requireValidator()
        let alert = Self.emitted().alerts[0]
        var object = try JSONSerialization.jsonObject(with: WireJSON.encode(alert)) as! [String: Any]
        object["severity"] = "apocalyptic"
        object.removeValue(forKey: "window")
        let check = try await validate("alert.v1.json", [try JSONSerialization.data(withJSONObject: object)])
        #expect(check.status != 0)
        #expect(check.output.contains("apocalyptic") && check.output.contains("window"), "\(check.output)")
    }

    @Test func idsAreDeterministic() {
        let first = Self.emitted(), second = Self.emitted()
        #expect(first.alerts.map(\.id) == second.alerts.map(\.id))
        #expect(first.events.map(\.id) == second.events.map(\.id))
        #expect(Set(first.events.map(\.id)).count == first.events.count, "distinct events have distinct ids")
        #expect(first.alerts.allSatisfy { $0.emittedAt.hasSuffix("Z") && $0.window.start.contains("T") })
    }
}
