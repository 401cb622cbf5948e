import Foundation
import DriftlineTestSupport
import Testing

/// Runs `driftline` to completion as `user` (through runuser; nil: as this process's user).
func runDriftline(_ arguments: [String], asUser user: String?) async throws -> Finished {
    guard let user else { return try await DriftlineTestSupport.runDriftline(arguments) }
    return try await run(URL(fileURLWithPath: "/usr/sbin/runuser"), ["-u", user, "--", try driftlineForOtherUsers().path] + arguments)
}

/// A copy of `driftline` that other users can run: the checkout may sit in a directory only its
/// owner can enter (a `mktemp -d` clone is mode 0700). The binary links only system and Swift libraries.
func driftlineForOtherUsers() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("driftline-cli-\(getpid())")
    let copy = directory.appendingPathComponent("driftline")
    if !FileManager.default.fileExists(atPath: copy.path) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try? FileManager.default.removeItem(at: copy)
        try FileManager.default.copyItem(at: driftline, to: copy)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: copy.path)
    }
    return copy
}

/// Runs the real `driftline` executable, as a user would.
@Suite(.timeLimit(.minutes(10)))
struct DevCommandTests {
    @Test func devServesDriftlineTopicsToKcatAndStopsOnInterrupt() async throws {
        let port = Int.random(in: 20_000...32_000)  // below the ephemeral range (32768-60999)
        let dev = try ChildProcess(driftline: ["dev", "--port", String(port), "--topic", "orders:4"])
        defer { if dev.process.isRunning { dev.process.terminate() } }

        // Wait for the line that says where to connect.
        // Only a hang is bounded: at the start of the suite, beside every other test on two cores, this took minutes in CI.
        #expect(await dev.waitFor("Ctrl-C to stop.", inOutput: true, seconds: 540), "\(dev.output) \(dev.errors)")
        #expect(dev.output.contains("bootstrap: 127.0.0.1:\(port)"))

        if let kcat = ["/usr/bin/kcat", "/usr/local/bin/kcat"].first(where: FileManager.default.isExecutableFile) {
            let listing = try await run(URL(fileURLWithPath: kcat), ["-b", "127.0.0.1:\(port)", "-L", "-m", "10"]).out
            for topic in ["driftline.profiles", "driftline.drift-events", "driftline.alerts",
                          "driftline.repartition-commands", "driftline.repartition-status", "driftline.dead-letter"] {
                #expect(listing.contains("topic \"\(topic)\" with 3 partitions"), "\(topic) missing from kcat -L")
            }
            #expect(listing.contains("topic \"orders\" with 4 partitions"))
        } else if ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("kcat is not installed (ops/install-deps.sh installs it)")
        }

        dev.interrupt()
        #expect(await dev.wait() == 0)
    }

    @Test func devRejectsABadTopicSpecWithAClearMessage() async throws {
        let result = try await runDriftline(["dev", "--topic", "orders:zero"])
        #expect(result.status != 0)
        #expect(result.err.contains("partitions must be a positive integer"))
    }

    /// Without a target, the demo detects: drift end to end on the embedded cluster, two detector
    /// instances in one group (the README's first command adds a PostgreSQL target: DemoLoopTests).
    @Test func demoDetectsTheDatasetsDriftAndPublishesAlerts() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("demo-\(UUID().uuidString)").path
        let result = try await runDriftline(["demo", "--records", "20000", "--window-seconds", "10", "--out", out])
        #expect(result.status == 0, "\(result.err.suffix(500))")
        #expect(result.out.contains("produced 20000 records to demo.orders (0 failed, 10 malformed on purpose)"))
        // 17 windows of 10 s (the stream doubles its rate at the drift): 5 build the reference, the
        // rest are scored but the last (still open); the drift starts in the 15th.
        let scores = try #require(result.out.firstMatch(of: /score by window: ([▁▄█]+)/).map { String($0.1) }, "\(result.out)")
        #expect(scores.hasPrefix("▁▁▁▁▁▁▁▁▁") && scores.hasSuffix("█"), "\(scores)")
        // Each malformed record is one dead letter by id; a record re-read after the two instances
        // rebalanced is sampled again under the same id (README, "Delivery").
        let distinct = result.out.firstMatch(of: /dead letters \((\d+) distinct;/).map { Int($0.1)! }
        #expect(distinct == 10, "\(result.out)")
        #expect(result.out.contains("alert [firing] Schema drift in demo.orders"))
        #expect(result.out.contains("alert [firing] Schema drift in field 'coupon'"), "the new field is an alert of its own")
        let published = result.out.firstMatch(of: /published: \d+ drift events, (\d+) alerts/).map { Int($0.1)! }
        let readBack = result.out.firstMatch(of: /read back (\d+) alerts/).map { Int($0.1)! }
        #expect(published != nil && published == readBack && (published ?? 0) > 0)
        #expect(FileManager.default.fileExists(atPath: out + "/drift-report.html"))
        #expect(result.out.contains("demo complete"))
        try? FileManager.default.removeItem(atPath: out)  // a temporary folder
    }
}

@Suite(.timeLimit(.minutes(10)))
struct ProfileCommandTests {
    @Test func profilesAFileAndReportsMalformedLinesWithoutStopping() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("profile-\(UUID().uuidString).jsonl")
        let lines = [
            #"{"id": 1, "kind": "a", "price": 9.5, "tags": ["x"]}"#,
            #"{"id": 2, "kind": "b", "price": null}"#,
            #"{"id": 3, "kind": "a"#,  // truncated
            "",
            #"{"id": 4, "kind": "a", "price": 12.25}"# + "\r",
        ]
        try Data(lines.joined(separator: "\n").utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }

        let result = try await runDriftline(["profile", "--input", file.path, "--format", "json"])
        #expect(result.status == 0)
        #expect(result.err.contains("line 3: truncated input at byte"))
        let summary = try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as! [String: Any]
        #expect(summary["records"] as? Int == 3)
        #expect(summary["malformed"] as? Int == 1)
        let fields = summary["fields"] as! [[String: Any]]
        #expect(fields.map { $0["path"] as! String } == ["id", "kind", "price", "tags", "tags[]"])
        let price = fields[2]
        #expect(price["present"] as? Int == 3 && price["nulls"] as? Int == 1 && price["absent"] as? Int == 0)
        let numeric = price["numeric"] as! [String: Any]
        #expect(numeric["min"] as? Double == 9.5 && numeric["max"] as? Double == 12.25)
        let kind = fields[1]
        let top = kind["topValues"] as! [[String: Any]]
        #expect(top.first?["value"] as? String == "a" && top.first?["count"] as? Int == 2)
        #expect(fields[3]["absent"] as? Int == 2)
    }

    @Test func readsStdinAndPrintsText() async throws {
        let result = try await runDriftline(["profile", "--input", "-"], stdin: "{\"a\": 1}\n{\"a\": \"x\"}\n")
        #expect(result.status == 0)
        #expect(result.out.contains("records: 2   malformed: 0"))
        #expect(result.out.contains("types: "))
        #expect(result.out.contains("integer 1") && result.out.contains("string 1"))
    }

    @Test func missingFileIsAClearError() async throws {
        let result = try await runDriftline(["profile", "--input", "/nonexistent/file.jsonl"])
        #expect(result.status != 0)
        #expect(result.err.contains("no such file: /nonexistent/file.jsonl"))
    }
}

@Suite struct DetectChangesCommandTests {
    @Test(arguments: ["pelt", "binseg", "bocpd", "pagehinkley", "cusum", "adwin"])
    func findsAShiftInACSVSeriesWithGaps(method: String) async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("series-\(UUID().uuidString).csv")
        var lines = ["t,value"]
        for index in 0..<400 {
            let level = index < 200 ? 0.0 : 8.0
            lines.append(index % 50 == 7 ? "\(index)," : "\(index),\(level + Double((index * 7919) % 13) / 13)")
        }
        try Data(lines.joined(separator: "\n").utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await runDriftline(["detect-changes", "--series", file.path, "--method", method])
        #expect(result.status == 0, "\(result.err)")
        let output = try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as! [String: Any]
        #expect(output["method"] as? String == method)
        #expect(output["n"] as? Int == 400)
        let points = output["change_points"] as! [Int]
        #expect(points.contains { (200...240).contains($0) }, "\(points)")
    }

    /// The text format and --explain say how many changes, the penalty and the noise scale used.
    @Test func explainsThePenaltyAndTheScale() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("explain-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        // A level shift of 5 in noise of σ ≈ 1 (a sum of 12 uniforms from a linear congruential generator).
        var state: UInt64 = 42
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        let values: [Double] = (0..<300).map { (index: Int) -> Double in
            let level: Double = index < 150 ? 0 : 5
            return level + (0..<12).reduce(-6.0) { sum, _ in sum + uniform() }
        }
        try JSONSerialization.data(withJSONObject: values).write(to: file)
        let text = try await runDriftline(["detect-changes", "--series", file.path, "--format", "text"])
        #expect(text.status == 0, "\(text.err)")
        #expect(text.out.contains("1 change point: 150"), "\(text.out)")
        #expect(text.out.contains(String(format: "penalty %.2f per change", 3 * log(300.0))), "MBIC 3 log n: \(text.out)")
        #expect(text.out.contains("long-run") && text.out.contains("model mean") && text.out.contains("at least 5 values"), "\(text.out)")
        let json = try await runDriftline(["detect-changes", "--series", file.path, "--explain", "--scale", "differences", "--penalty", "12", "--min-size", "2"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any], "\(json.out) \(json.err)")
        let explain = try #require(object["explain"] as? [String: Any])
        #expect(explain["penalty"] as? Double == 12 && explain["min_size"] as? Int == 2 && explain["scale"] as? String == "differences")
        #expect(object["change_points"] as? [Int] == [150])
        let bad = try await runDriftline(["detect-changes", "--series", file.path, "--min-size", "0"])
        #expect(bad.status != 0 && bad.err.contains("--min-size must be at least 1"))
    }

    @Test func badInputIsAClearErrorAndNonZeroExit() async throws {
        let result = try await runDriftline(["detect-changes", "--series", "/nonexistent/series.csv"])
        #expect(result.status != 0)
        #expect(result.err.contains("no such file: /nonexistent/series.csv"))
    }
}

@Suite(.timeLimit(.minutes(10)))
struct ReportCommandTests {
    @Test func writesJSONAndHTMLReportsFromTwoFiles() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let reference = (0..<400).map { #"{"kind": "\#(["a", "b"][$0 % 2])", "price": \#(10 + $0 % 7)}"# }
        let current = (0..<400).map { #"{"kind": "\#(["a", "c"][$0 % 2])", "price": \#(10 + $0 % 7)}"# } + ["{broken"]
        try Data(reference.joined(separator: "\n").utf8).write(to: directory.appendingPathComponent("ref.jsonl"))
        try Data(current.joined(separator: "\n").utf8).write(to: directory.appendingPathComponent("cur.jsonl"))
        for output in ["report.json", "report.html"] {
            let report = try await runDriftline(["report", "--reference", directory.appendingPathComponent("ref.jsonl").path,
                                                 "--current", directory.appendingPathComponent("cur.jsonl").path,
                                                 "--windows", "4", "--out", directory.appendingPathComponent(output).path])
            #expect(report.status == 0, "\(report.err)")
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("report.json"))) as! [String: Any]
        #expect(json["currentMalformed"] as? Int == 1)
        #expect((json["windows"] as? [Any])?.count == 4)
        let fields = json["fields"] as! [[String: Any]]
        #expect(fields.first?["path"] as? String == "kind", "the category swap is the top drift")
        let html = try String(contentsOf: directory.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("<svg"))
    }
}

@Suite(.timeLimit(.minutes(10)))
struct MetadataCommandTests {
    @Test func migrateThenStatusOnASQLiteFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("meta-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("store.sqlite").path
        let migrated = try await runDriftline(["metadata", "migrate", "--store", path])
        #expect(migrated.status == 0, "\(migrated.err)")
        #expect(migrated.out.contains("migrations applied: 1, 2 (new: 1, 2)"))
        let status = try await runDriftline(["metadata", "status", "--store", "sqlite:" + path])
        #expect(status.out.contains("migrations applied: 1, 2"))
    }

    /// A store file the process may not write is a clear error, not a crash. As root (CI), the
    /// check runs as `nobody`, since root ignores file permissions.
    @Test func readOnlyStoreIsAClearError() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("meta-ro-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
            try? FileManager.default.removeItem(at: directory)
        }
        let path = directory.appendingPathComponent("store.sqlite").path
        #expect(try await runDriftline(["metadata", "migrate", "--store", path]).status == 0)
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: directory.path)
        let user = getuid() == 0 ? "nobody" : nil
        // Migrating an up-to-date store writes nothing, so it may succeed; a write must not.
        let write = try await runDriftline(["bench", "metadata", "--store", path, "--operations", "1"], asUser: user)
        #expect(write.status != 0)
        #expect(write.err.contains("metadata store error: attempt to write a readonly database"), "\(write.err)")
        // A new store in a directory the process cannot write cannot be created.
        let create = try await runDriftline(["metadata", "migrate", "--store", directory.appendingPathComponent("new.sqlite").path], asUser: user)
        #expect(create.status != 0)
        #expect(create.err.contains("metadata store unavailable"), "\(create.err)")
    }

    @Test func unreachablePostgresIsAClearError() async throws {
        let result = try await runDriftline(["metadata", "status", "--store", "postgres://nobody@127.0.0.1:1/db"])
        #expect(result.status != 0)
        #expect(result.err.contains("metadata store unavailable: cannot use postgres://nobody@127.0.0.1:1/db"), "\(result.err)")
    }
}
