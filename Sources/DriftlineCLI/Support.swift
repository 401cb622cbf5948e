import ArgumentParser
import Foundation

/// Progress on stderr for long work, at most a few times a second.
final class ProgressReporter {
    private let total: Int
    private let label: String
    private let start = Date()
    private var lastReport = Date.distantPast

    init(total: Int, label: String) {
        self.total = total
        self.label = label
    }

    /// `done` out of `total`, with the time left at the rate so far.
    func update(_ done: Int) {
        let now = Date()
        guard now.timeIntervalSince(lastReport) >= 0.5 else { return }
        lastReport = now
        var text = "\r\(label) \(done)\(total > 0 ? "/\(total)" : "")"
        let elapsed = now.timeIntervalSince(start)
        if total > 0, done > 0, elapsed >= 1 {
            text += String(format: ", about %.0f s left   ", elapsed / Double(done) * Double(max(0, total - done)))
        }
        FileHandle.standardError.write(Data(text.utf8))
    }

    func finish() {
        if lastReport != .distantPast { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// Seconds elapsed since `start`, for benchmarks.
func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

/// `name` looked up on PATH (or checked as given when it contains a slash).
func executablePath(named name: String) -> String? {
    if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// `runProcess` on a thread of its own, for a program that runs beside this process's async work
/// (waiting for it must not hold one of Swift's cooperative threads). The thread unblocks every
/// signal first: a child starts with its spawning thread's signal mask, the pool's threads block
/// SIGALRM, and pgbench's `-T` is an alarm (it ran on for ten minutes past `-T 2`).
func runProcessOffThePool(_ path: String, _ arguments: [String]) async throws -> (lines: Int, output: String) {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            var none = sigset_t()
            sigemptyset(&none)
            pthread_sigmask(SIG_SETMASK, &none, nil)
            continuation.resume(with: Result { try runProcess(path, arguments) })
        }
    }
}

/// Runs a program to completion; fails unless it exits 0. With `captureLines`, standard output is
/// only counted in lines as it streams (kcat printing millions of offsets); otherwise it is returned.
@discardableResult
func runProcess(_ path: String, _ arguments: [String], captureLines: Bool = false) throws -> (lines: Int, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    var lines = 0
    var output = Data()
    while true {
        let chunk = pipe.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        if captureLines { lines += chunk.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) } } else { output += chunk }
    }
    process.waitUntilExit()
    let text = String(decoding: output, as: UTF8.self)
    guard process.terminationStatus == 0 else {
        throw ValidationError("\(path) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)\(text.isEmpty ? "" : ":\n\(text)")")
    }
    return (lines, text)
}
