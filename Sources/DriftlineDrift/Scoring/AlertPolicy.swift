/// Severity of an alert, from its score.
public enum AlertSeverity: String, Sendable, Codable, Comparable, CaseIterable {
    case info, warning, critical

    public static func < (a: AlertSeverity, b: AlertSeverity) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// When scores become alerts: fire after `fireAfter` windows at or above `fireLevel`, resolve after
/// `resolveAfter` windows below `resolveLevel` (hysteresis), then stay quiet for `coolDown` windows.
public struct AlertPolicy: Sendable, Equatable, Codable {
    public var fireLevel = 0.5
    public var resolveLevel = 0.3
    public var fireAfter = 2
    public var resolveAfter = 3
    public var coolDown = 2
    /// Scores at or above these are warning and critical; below, info.
    public var warningLevel = 0.7
    public var criticalLevel = 0.9

    public init() {}

    public func validate() throws(AlertPolicyError) {
        guard (0...1).contains(fireLevel), (0...1).contains(resolveLevel), resolveLevel <= fireLevel else {
            throw .invalid("alert levels must satisfy 0 ≤ resolve level ≤ fire level ≤ 1")
        }
        guard fireAfter >= 1, resolveAfter >= 1, coolDown >= 0 else {
            throw .invalid("fire-after and resolve-after must be at least 1, cool-down at least 0")
        }
    }

    public func severity(_ score: Double) -> AlertSeverity {
        score >= criticalLevel ? .critical : score >= warningLevel ? .warning : .info
    }
}

public enum AlertPolicyError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self { case let .invalid(reason): "invalid alert policy: \(reason)" }
    }
}

/// The alert state of one key (a source, or a source's field), driven one window at a time.
/// A pure state machine: `event(score:)` returns what to publish, tests drive it without I/O.
public struct AlertState: Sendable, Equatable, Codable {
    public enum Phase: String, Sendable, Codable { case quiet, pending, firing, resolving, coolingDown }

    public enum Action: Equatable, Sendable {
        case none
        case fire(AlertSeverity)
        /// Still firing, but the severity rose.
        case escalate(AlertSeverity)
        case resolve
    }

    public private(set) var phase: Phase = .quiet
    public private(set) var severity: AlertSeverity?
    private var streak = 0

    public init() {}

    public mutating func event(score: Double, policy: AlertPolicy) -> Action {
        switch phase {
        case .quiet, .pending:
            guard score >= policy.fireLevel else {
                phase = .quiet
                streak = 0
                return .none
            }
            streak += 1
            guard streak >= policy.fireAfter else {
                phase = .pending
                return .none
            }
            phase = .firing
            streak = 0
            severity = policy.severity(score)
            return .fire(severity!)
        case .firing, .resolving:
            if score < policy.resolveLevel {
                streak = phase == .resolving ? streak + 1 : 1
                phase = .resolving
                guard streak >= policy.resolveAfter else { return .none }
                phase = policy.coolDown > 0 ? .coolingDown : .quiet
                streak = 0
                severity = nil
                return .resolve
            }
            phase = .firing
            streak = 0
            let now = policy.severity(score)
            if let current = severity, now > current {
                severity = now
                return .escalate(now)
            }
            return .none
        case .coolingDown:
            streak += 1
            if streak >= policy.coolDown {
                phase = .quiet
                streak = 0
            }
            return .none
        }
    }
}
