import Foundation

/// Progress on stderr for long work, at most a few times a second.
final class ProgressReporter {
    private let total: Int
    private let label: String
    private var lastReport = Date.distantPast

    init(total: Int, label: String) {
        self.total = total
        self.label = label
    }

    func update(_ done: Int) {
        let now = Date()
        guard now.timeIntervalSince(lastReport) >= 0.5 else { return }
        lastReport = now
        FileHandle.standardError.write(Data("\r\(label) \(done)\(total > 0 ? "/\(total)" : "")".utf8))
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
