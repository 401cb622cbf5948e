#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// CPU seconds the calling thread has used: what a synchronous stage costs, whatever the other
/// threads do meanwhile. Meaningless across an `await` (the task may resume on another thread).
public func threadCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// User and system CPU seconds of this process so far, all threads (a database server's work is not in it).
public func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

/// This process's own peak RSS in MiB: `VmHWM` of /proc/self/status. Not `getrusage`'s
/// `ru_maxrss`: Linux carries the spawning process's peak across the exec into it, so a detector
/// started by `bench detect` (whose embedded cluster holds the whole topic) reported the bench's
/// RSS at 5M records, 400 MiB where the detector itself peaked at 338.
public func peakResidentMiB() -> Double {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),  // absent off Linux: fall back below
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
       let kilobytes = Double(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") {
        return kilobytes / 1024
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// CPU seconds per pipeline stage, each added on the thread that did the work. A value type: every
/// worker keeps its own and the owner adds them up, so nothing is shared while measuring.
public struct StageCPU: Sendable, Equatable {
    public private(set) var seconds: [String: Double] = [:]

    public init() {}

    public mutating func add(_ stage: String, _ value: Double) { seconds[stage, default: 0] += value }

    public mutating func add(_ other: StageCPU) {
        for (stage, value) in other.seconds { add(stage, value) }
    }

    /// Runs `body` and adds the calling thread's CPU time to `stage`.
    public mutating func measure<T>(_ stage: String, _ body: () throws -> T) rethrows -> T {
        let start = threadCPUSeconds()
        defer { add(stage, threadCPUSeconds() - start) }
        return try body()
    }

    /// Takes what was measured since the last call.
    public mutating func take() -> StageCPU {
        defer { seconds = [:] }
        return self
    }
}

/// CPU seconds of this process's threads whose name starts with `prefix`, from /proc/self/task
/// (librdkafka names its threads `rdk:…`); nil where /proc is not there.
public func threadsCPUSeconds(namePrefix prefix: String) -> Double? {
    let tasks = "/proc/self/task"
    guard let threads = try? FileManager.default.contentsOfDirectory(atPath: tasks) else { return nil }  // not Linux: no figure
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    var total = 0.0
    for thread in threads {
        // A thread may end between the listing and the read: it is skipped, its time is in "other".
        guard let name = try? String(contentsOfFile: "\(tasks)/\(thread)/comm", encoding: .utf8), name.hasPrefix(prefix),
              let stat = try? String(contentsOfFile: "\(tasks)/\(thread)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { continue }
        // Fields after the name: state is the 3rd field, utime and stime the 14th and 15th.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { continue }
        total += (user + system) / ticks
    }
    return total
}
