import DriftlineMetadata
import Foundation

/// The aggregator's delivery protocol for one source, as a pure state machine: the lease, the
/// restore after a restart, and the fenced outbox. Values in, actions out, no I/O; the detector
/// loop performs each action and feeds its result back as the next event, and tests drive it
/// directly (crash after any action, restart, same outputs).
///
/// Delivery of a batch of scored windows: (1) store the state with its outbox (fenced by the
/// lease, compare-and-set on the version), (2) produce the outbox and flush, (3) store the state
/// with the outbox cleared. A restart that finds a non-empty outbox delivers only the messages the
/// output topics do not hold yet (read from the marks taken before producing), then clears it.
struct AggregatorDelivery {
    enum State: Equatable {
        /// No lease yet: the first partial for this source starts acquiring it.
        case unowned
        /// Waiting for the previous owner to release the lease, or for it to run out.
        case acquiring(since: ContinuousClock.Instant)
        /// Lease held; the stored state is being read.
        case restoring(Lease)
        /// A crash left an outbox: its missing messages are being delivered.
        case recovering(Lease, stored: AggregatorState, version: Int64)
        /// Lease held, nothing in flight.
        case idle(Lease, version: Int64?)
        /// Step (1): the state with its outbox is being stored.
        case storingOutbox(Lease, AggregatorState)
        /// Step (2): the outbox is being produced and flushed.
        case publishing(Lease, AggregatorState, version: Int64)
        /// Step (3), or the end of recovery: the state without outbox is being stored.
        case clearing(Lease)
        /// Another instance owns the source now; nothing more is written under this lease.
        case lost
    }

    enum Action: Equatable {
        case none
        case acquireLease
        /// The lease is held elsewhere: ask again after this long.
        case retryLease(after: Duration)
        /// Read the stored `AggregatorState` (and its version).
        case loadState
        /// Produce the outbox messages whose ids are not in the output topics after `marks`, flush.
        case deliverMissing([OutboxMessage], after: [String: [Int32: Int64]])
        /// Fenced compare-and-set write of the state.
        case store(AggregatorState, expectedVersion: Int64?, fence: FencingToken)
        /// Produce these messages and flush.
        case publish([OutboxMessage])
        /// Another instance took the source over: forget its in-memory state, publish nothing more.
        case drop(reason: String)
        case fail(DetectorServiceError)
    }

    let source: String
    let leaseWait: Duration
    let retryInterval: Duration
    private(set) var state: State = .unowned

    init(source: String, leaseWait: Duration, retryInterval: Duration = .milliseconds(500)) {
        self.source = source
        self.leaseWait = leaseWait
        self.retryInterval = retryInterval
    }

    /// The lease while this instance owns the source (also while writing).
    var lease: Lease? {
        switch state {
        case let .restoring(lease), let .recovering(lease, _, _), let .idle(lease, _), let .storingOutbox(lease, _),
             let .publishing(lease, _, _), let .clearing(lease):
            lease
        case .unowned, .acquiring, .lost:
            nil
        }
    }

    /// Ready to take scored windows.
    var isIdle: Bool { if case .idle = state { true } else { false } }

    mutating func partialArrived(now: ContinuousClock.Instant) -> Action {
        guard case .unowned = state else { return .none }
        state = .acquiring(since: now)
        return .acquireLease
    }

    mutating func leaseAnswered(_ lease: Lease?, now: ContinuousClock.Instant) -> Action {
        guard case let .acquiring(since) = state else { return .none }
        guard let lease else {
            // The previous owner releases on revocation; a crashed one's lease runs out.
            guard now - since < leaseWait else {
                state = .lost
                return .fail(.leaseHeld(source: source))
            }
            return .retryLease(after: retryInterval)
        }
        state = .restoring(lease)
        return .loadState
    }

    /// The stored state, nil when the source was never scored. The shell restores the scorer and
    /// the aggregator from it before feeding this event.
    mutating func stateLoaded(_ stored: AggregatorState?, version: Int64?) -> Action {
        guard case let .restoring(lease) = state else { return .none }
        guard let stored, let version, !stored.outbox.isEmpty else {
            state = .idle(lease, version: version)
            return .none
        }
        state = .recovering(lease, stored: stored, version: version)
        return .deliverMissing(stored.outbox, after: stored.outputMarks)
    }

    mutating func missingDelivered() -> Action {
        guard case let .recovering(lease, stored, version) = state else { return .none }
        state = .clearing(lease)
        return .store(stored.withoutOutbox, expectedVersion: version, fence: lease.fence)
    }

    /// Windows scored: their state and outbox go out in the three delivery steps.
    mutating func windowsScored(_ next: AggregatorState) -> Action {
        guard case let .idle(lease, version) = state else { return .none }
        state = .storingOutbox(lease, next)
        return .store(next, expectedVersion: version, fence: lease.fence)
    }

    mutating func stored(version: Int64) -> Action {
        switch state {
        case let .storingOutbox(lease, next):
            guard !next.outbox.isEmpty else {
                state = .idle(lease, version: version)
                return .none
            }
            state = .publishing(lease, next, version: version)
            return .publish(next.outbox)
        case let .clearing(lease):
            state = .idle(lease, version: version)
            return .none
        default:
            return .none
        }
    }

    mutating func published() -> Action {
        guard case let .publishing(lease, next, version) = state else { return .none }
        state = .clearing(lease)
        return .store(next.withoutOutbox, expectedVersion: version, fence: lease.fence)
    }

    /// A fenced write was refused (version conflict or stale fencing token): another instance's
    /// state wins and ours is dropped unpublished.
    mutating func storeRefused(_ reason: String) -> Action {
        guard lease != nil else { return .none }
        state = .lost
        return .drop(reason: reason)
    }

    /// The periodic renewal answered: a refused renewal means the lease was taken over. A renewal
    /// with a newer token for the same holder is our lease, run out during a step longer than its
    /// TTL and taken again: with nothing in flight it is adopted rather than the source dropped (a
    /// dropped source loses its planning until partials come again). Adopting is safe because the
    /// state store is versioned: had another instance written in between, the next store is refused.
    mutating func renewalAnswered(_ renewed: Lease?) -> Action {
        guard let renewed else { return storeRefused("the aggregator lease of '\(source)' was taken over") }
        func ours(_ lease: Lease) -> Bool { lease.holder == renewed.holder && renewed.token >= lease.token }
        switch state {
        case let .restoring(lease) where ours(lease): state = .restoring(renewed)
        case let .recovering(lease, stored, version) where ours(lease): state = .recovering(renewed, stored: stored, version: version)
        case let .idle(lease, version) where ours(lease): state = .idle(renewed, version: version)
        default: break
        }
        return .none
    }
}

extension AggregatorState {
    var withoutOutbox: AggregatorState {
        var cleared = self
        cleared.outbox = []
        cleared.outputMarks = [:]
        return cleared
    }
}
