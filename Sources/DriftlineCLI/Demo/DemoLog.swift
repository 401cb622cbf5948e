import Logging
import Synchronization

/// The demo's services log here, not to the terminal (the live summary is the demo's output):
/// the last warnings and errors are kept, and shown when the demo ends without closing the loop.
final class RecentWarnings: Sendable {
    private let lines = Mutex<[String]>([])
    let capacity: Int

    init(capacity: Int = 12) { self.capacity = capacity }

    func record(_ line: String) {
        lines.withLock { kept in
            kept.append(line)
            if kept.count > capacity { kept.removeFirst(kept.count - capacity) }
        }
    }

    var recent: [String] { lines.withLock { $0 } }

    func handler(label: String) -> some LogHandler { Handler(label: label, sink: self) }

    struct Handler: LogHandler {
        let label: String
        let sink: RecentWarnings
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .warning

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            let all = metadata.merging(extra ?? [:]) { $1 }
            let details = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            sink.record("\(level) \(label): \(message)\(details)")
        }
    }
}
