/// The change-point methods `driftline detect-changes` offers, run over a series with gaps.
public enum ChangePointMethod: String, CaseIterable, Sendable, Codable {
    case pelt, binseg, bocpd, pagehinkley, cusum, adwin

    public var isOnline: Bool { [.pagehinkley, .cusum, .adwin].contains(self) }

    /// Change points of `series` (nil = missing), as indices into `series` where a new segment
    /// starts. Missing values are skipped; an index always refers to a present value.
    ///
    /// Online detectors report the index at which they signal (detection is after the change, by
    /// the detector's delay); offline methods report where the new segment begins.
    public func detect(_ series: [Double?], _ settings: OfflineSettings = .init()) -> [Int] {
        let present = series.indices.filter { series[$0] != nil }
        let values = present.map { series[$0]! }
        let found: [Int]
        switch self {
        case .pelt: found = OfflineChangePoints.pelt(values, settings)
        case .binseg: found = OfflineChangePoints.binarySegmentation(values, settings)
        case .bocpd: found = BOCPD().detect(values)
        case .pagehinkley: found = Self.online(values, PageHinkley())
        case .cusum: found = Self.online(values, CUSUM())
        case .adwin: found = Self.online(values, ADWIN())
        }
        return found.map { present[$0] }
    }

    private static func online<Detector: OnlineChangeDetector>(_ values: [Double], _ detector: Detector) -> [Int] {
        var detector = detector
        return values.indices.filter { detector.update(values[$0]) }
    }
}
