import Foundation

/// The built `driftline` executable: test bundles are built next to the package's executables.
public let driftline: URL = {
    var directory = Bundle.main.bundleURL
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("driftline").path), directory.path != "/" {
        directory.deleteLastPathComponent()
    }
    return directory.appendingPathComponent("driftline")
}()

/// The package root (where `schemas/`, `ops/` and `examples/` are).
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A program a test runs, its output in temporary files (readable while it runs, and never a pipe
/// that fills up and stalls it). Waiting happens on a thread of its own: a blocking wait on Swift's
/// cooperative pool — two threads on a 2-core machine — would starve every other test in the
/// process, so their leases lapse and their timers stop (CI saw exactly that).
public final class ChildProcess: @unchecked Sendable {
    public let process = Process()
    private let outFile: URL, errFile: URL

    public init(_ executable: URL, _ arguments: [String], environment: [String: String] = [:], directory: URL? = nil, stdin: String? = nil) throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)")
        outFile = base.appendingPathExtension("out")
        errFile = base.appendingPathExtension("err")
        try Data().write(to: outFile)
        try Data().write(to: errFile)
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let directory { process.currentDirectoryURL = directory }
        process.standardOutput = try FileHandle(forWritingTo: outFile)
        process.standardError = try FileHandle(forWritingTo: errFile)
        let input = Pipe()
        if stdin != nil { process.standardInput = input } else { process.standardInput = FileHandle.nullDevice }
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        }
    }

    /// `driftline` itself.
    public convenience init(driftline arguments: [String], environment: [String: String] = [:], stdin: String? = nil) throws {
        try self.init(driftline, arguments, environment: environment, stdin: stdin)
    }

    public var output: String { (try? String(contentsOf: outFile, encoding: .utf8)) ?? "" }  // the file exists until deinit
    public var errors: String { (try? String(contentsOf: errFile, encoding: .utf8)) ?? "" }  // as above

    /// Its exit status, once it exited.
    public func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { [process] in
                process.waitUntilExit()
                continuation.resume(returning: process.terminationStatus)
            }
        }
    }

    /// Waits until its standard error (or `inOutput`: its standard output) contains `text`; false
    /// when it ended or `seconds` passed first.
    public func waitFor(_ text: String, inOutput: Bool = false, seconds: Double = 120) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (inOutput ? output : errors).contains(text) { return true }
            if !process.isRunning { return (inOutput ? output : errors).contains(text) }
            try? await Task.sleep(for: .milliseconds(20))  // a cancelled test stops at the deadline check
        }
        return false
    }

    public func interrupt() { process.interrupt() }

    /// SIGKILL, and waits until it is gone.
    public func kill() async {
        Foundation.kill(process.processIdentifier, SIGKILL)
        _ = await wait()
    }

    deinit {
        try? FileManager.default.removeItem(at: outFile)  // temporary files
        try? FileManager.default.removeItem(at: errFile)  // as above
    }
}

/// What a finished program printed.
public struct Finished: Sendable {
    public var status: Int32
    public var out: String
    public var err: String
    /// Standard output, then standard error.
    public var output: String { out + err }
}

/// Runs a program to completion.
public func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:], directory: URL? = nil, stdin: String? = nil) async throws -> Finished {
    let child = try ChildProcess(executable, arguments, environment: environment, directory: directory, stdin: stdin)
    let status = await child.wait()
    return Finished(status: status, out: child.output, err: child.errors)
}

/// Runs `driftline` to completion.
public func runDriftline(_ arguments: [String], environment: [String: String] = [:], stdin: String? = nil) async throws -> Finished {
    try await run(driftline, arguments, environment: environment, stdin: stdin)
}

/// Runs a program found on PATH, from the package root (for `schemas/validate.py`, `ops/…`).
public func runTool(_ arguments: [String]) async throws -> Finished {
    try await run(URL(fileURLWithPath: "/usr/bin/env"), arguments, directory: repositoryRoot)
}

/// Checks JSON documents (one per line) against `schemas/<schema>` with schemas/validate.py; nil
/// when python3's jsonschema is not installed (a test fails on that when CI=true).
public func validateAgainstSchema(_ schema: String, _ documents: [Data]) async throws -> Finished? {
    let probe = try await runTool(["python3", "-c", "import jsonschema, referencing"])
    guard probe.status == 0 else { return nil }
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("messages-\(UUID().uuidString).jsonl")
    try Data(documents.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "\n").utf8).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }  // a temporary file
    return try await runTool(["python3", "schemas/validate.py", "schemas/\(schema)", file.path])
}

/// Whether the tests run in CI, where a missing tool fails a test instead of skipping it.
public let runningInCI = ProcessInfo.processInfo.environment["CI"] == "true"
