@testable import DriftlineDrift
import DriftlineSampleData
import Foundation
import Testing

/// Change points against River (Page-Hinkley, ADWIN) and ruptures (PELT, BinSeg) on the same input,
/// recorded by scripts/golden/change_points.py.
@Suite struct ChangePointGoldenTests {
    struct Golden: Decodable {
        struct Case: Decodable {
            var name: String
            var series: [Double]
            var pagehinkley: [Int]
            var adwin: [Int]
            var pelt: [Int]
            var binseg: [Int]
        }
        var cases: [Case]
    }

    static let golden: Golden = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/change_points.json")
        return try! JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }()

    @Test func pageHinkleyMatchesRiver() {
        for golden in Self.golden.cases {
            #expect(ChangePointMethod.pagehinkley.detect(golden.series) == golden.pagehinkley, "\(golden.name)")
        }
    }

    @Test func adwinMatchesRiver() {
        for golden in Self.golden.cases {
            #expect(ChangePointMethod.adwin.detect(golden.series) == golden.adwin, "\(golden.name)")
        }
    }

    /// ruptures' problem exactly: the first differences' scale, its penalty (2 log n, given), min_size 2.
    @Test func peltAndBinarySegmentationMatchRuptures() {
        for golden in Self.golden.cases {
            let settings = OfflineSettings(model: .mean, penalty: 2 * log(Double(golden.series.count)), scale: .differences, minimumSize: 2, replacesOutliers: false)
            #expect(ChangePointMethod.pelt.detect(golden.series, settings) == golden.pelt, "\(golden.name) pelt")
            #expect(ChangePointMethod.binseg.detect(golden.series, settings) == golden.binseg, "\(golden.name) binseg")
        }
    }
}

@Suite struct ChangePointBehaviourTests {
    func noisy(_ segments: [(mean: Double, deviation: Double, length: Int)], seed: UInt64 = 7) -> [Double] {
        var random = SeededRandom(seed: seed)
        return segments.flatMap { segment in (0..<segment.length).map { _ in random.normal(mean: segment.mean, deviation: segment.deviation) } }
    }

    @Test func cusumFindsAThreeSigmaShiftQuickly() {
        let series = noisy([(0, 1, 200), (3, 1, 200)])
        let found = ChangePointMethod.cusum.detect(series)
        #expect(found.first.map { (200...210).contains($0) } == true, "\(found)")
    }

    @Test func cusumIsQuietOnAShortStableStream() {
        #expect(ChangePointMethod.cusum.detect(noisy([(5, 2, 150)])).isEmpty)
    }

    @Test func bocpdFindsShiftsInMeanAndVariance() {
        let series = noisy([(0, 1, 150), (4, 1, 150), (4, 4, 150)])
        let found = ChangePointMethod.bocpd.detect(series)
        #expect(found.contains { (145...160).contains($0) }, "\(found)")
        #expect(found.contains { (295...320).contains($0) }, "\(found)")
        #expect(found.count <= 4, "few false positives: \(found)")
        #expect(ChangePointMethod.bocpd.detect(noisy([(0, 1, 400)], seed: 11)).count <= 1)
    }

    @Test func meanVarianceModelSeesAVarianceChange() {
        let series = noisy([(0, 1, 300), (0, 5, 300)])
        let found = OfflineChangePoints.pelt(series, OfflineSettings(model: .meanVariance))
        #expect(found.count == 1 && (290...310).contains(found[0]), "\(found)")
    }

    @Test(arguments: ChangePointMethod.allCases)
    func edgeCasesNeverCrash(method: ChangePointMethod) {
        #expect(method.detect([]) == [])
        #expect(method.detect([1]) == [])
        #expect(method.detect(Array(repeating: 3.0, count: 1000)) == [], "a constant series has no change")
        #expect(method.detect([nil, nil, 2, nil]) == [])
        // Missing values are skipped, and indices still point into the original series.
        let gappy: [Double?] = (0..<400).map { (index: Int) -> Double? in
            if index % 7 == 3 { return nil }
            let level: Double = index < 200 ? 0 : 10
            return level + Double(index % 3) * 0.1
        }
        let found = method.detect(gappy)
        #expect(found.allSatisfy { gappy[$0] != nil })
        #expect(found.contains { (200...240).contains($0) }, "\(method): \(found)")
    }

    @Test func longSeriesStayFast() {
        // 100k values: PELT prunes, BOCPD bounds its run lengths; this must finish, not measure.
        let series = noisy([(0, 1, 50_000), (1, 1, 50_000)])
        #expect(OfflineChangePoints.pelt(series).contains { (49_900...50_100).contains($0) })
    }
}
