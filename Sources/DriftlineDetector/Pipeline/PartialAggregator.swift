import DriftlineProfiling

/// The owner of a source's key in the profiles topic: merges partial window profiles from every
/// instance and releases a window once all input partitions reported, or after a timeout (then the
/// window states its coverage). Pure; the service feeds it decoded partials.
public struct PartialAggregator {
    public let partitionCount: Int
    public let timeout: Int64
    private var pending: [Int64: Pending] = [:]

    private struct Pending {
        var parts: [(partitions: Set<Int32>, profile: WindowProfile)]
        var partitions: Set<Int32>
        var firstSeen: Int64
    }

    public struct ReadyWindow {
        public var start: Int64
        public var profile: WindowProfile
        /// Input partitions that reported, out of `partitionCount`.
        public var coveredPartitions: Int
        public var complete: Bool
    }

    /// The start of the last window released (scored); partials for it or earlier are replays.
    public private(set) var releasedThrough: Int64

    /// `releasedThrough` resumes after a restart (stored with the outputs).
    public init(partitionCount: Int, timeout: Int64, releasedThrough: Int64 = .min) {
        self.partitionCount = partitionCount
        self.timeout = timeout
        self.releasedThrough = releasedThrough
    }

    public enum Added: Equatable {
        case merged
        /// The window was already scored: a replay after a restart, or a new consumer group
        /// re-reading windows the stored state has scored.
        case alreadyScored
        /// A partition already merged for this window: re-published after a crash or a rebalance.
        case duplicate
    }

    /// Adds a partial; `partitions` are the input partitions it covers (even those with no records).
    /// The aggregator keeps `partial` itself, not a copy (the caller hands over a freshly decoded
    /// one), and never changes it: `ready` merges the parts into a new profile.
    @discardableResult
    public mutating func add(windowStart: Int64, partial: WindowProfile, partitions: Set<Int32>, now: Int64) throws(ProfileConfigurationError) -> Added {
        // A window already scored is never scored again.
        guard windowStart > releasedThrough else {
            return .alreadyScored
        }
        var entry = pending[windowStart] ?? Pending(parts: [], partitions: [], firstSeen: now)
        guard entry.partitions.isDisjoint(with: partitions) else {
            return .duplicate
        }
        guard entry.parts.first.map({ $0.profile.configuration == partial.configuration }) ?? true else {
            throw ProfileConfigurationError.notMergeable("partials of one window were profiled with different settings")
        }
        entry.parts.append((partitions, partial))
        entry.partitions.formUnion(partitions)
        pending[windowStart] = entry
        return .merged
    }

    /// Windows waiting for partials.
    public var pendingWindows: [Int64] { pending.keys.sorted() }

    /// Windows complete (every partition reported) or timed out, oldest first. A window is released
    /// only after every older one, so scores are produced in window order.
    public mutating func ready(now: Int64) -> [ReadyWindow] {
        var result: [ReadyWindow] = []
        for start in pending.keys.sorted() {
            let entry = pending[start]!
            let complete = entry.partitions.count >= partitionCount
            guard complete || now - entry.firstSeen >= timeout else { break }
            pending.removeValue(forKey: start)
            releasedThrough = max(releasedThrough, start)
            // Merged in partition order, so the result does not depend on which instance sent what first.
            let parts = entry.parts.sorted { $0.partitions.min()! < $1.partitions.min()! }
            let merged: WindowProfile
            do { merged = try .merging(parts.map(\.profile), configuration: parts[0].profile.configuration) } catch {
                preconditionFailure("add() admits only parts with the window's configuration, so they merge: \(error)")
            }
            result.append(ReadyWindow(start: start, profile: merged, coveredPartitions: entry.partitions.count, complete: complete))
        }
        return result
    }
}
