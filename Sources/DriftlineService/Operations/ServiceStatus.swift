import DriftlineServiceRuntime
import Foundation
import Synchronization

/// What the detector loop tells the HTTP endpoints and whoever stops it. Shared between the loop's
/// task and the server's, so every access goes through one lock.
public final class ServiceStatus: ServiceHealth {
    public struct Snapshot: Sendable, Equatable {
        /// The group assigned partitions and the metadata store is open.
        public var ready = false
        /// When the loop last completed a step (a stuck loop makes /healthz fail).
        public var lastStep: Date?
        public var recordsConsumed: Int64 = 0
        /// When the first and the latest source records arrived (throughput = records / span).
        public var firstRecordAt: Date?
        public var lastRecordAt: Date?
        public var windowsScored: Int64 = 0
        public var alertsPublished: Int64 = 0
        public var driftEventsPublished: Int64 = 0
        public var deadLettersPublished: Int64 = 0
        public var malformedRecords: Int64 = 0
        /// Records in partials of windows the stored state had already scored (not scored again).
        public var recordsSkippedAlreadyScored: Int64 = 0
        /// Schema predictions stored by the detector's refresh (periodic, and on a new schema version).
        public var predictionsStored: Int64 = 0
        /// CPU per pipeline stage since start.
        public var stages = DetectorStageReport()
        public var stopRequested = false
        /// The service's run returned (stopped, limit reached or failed).
        public var finished = false
        public var httpPort: Int?
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    public func update(_ body: (inout Snapshot) -> Void) { state.withLock { body(&$0) } }

    /// Asks the loop to finish its batch, commit and leave the group.
    public func requestStop() { state.withLock { $0.stopRequested = true } }

    /// Healthy while the loop keeps stepping (a step waits at most a poll timeout plus its work).
    public func isHealthy() -> Bool { isHealthy(now: Date()) }

    public func isHealthy(now: Date, stall: TimeInterval = 60) -> Bool {
        guard let last = snapshot.lastStep else { return true }
        return now.timeIntervalSince(last) < stall
    }

    public func notReadyReason() -> String? { snapshot.ready ? nil : "waiting for partitions" }

    public func httpListening(port: Int?) { update { $0.httpPort = port } }
}
