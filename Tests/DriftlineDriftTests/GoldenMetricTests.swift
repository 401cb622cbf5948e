@testable import DriftlineDrift
import DriftlineProfiling
import Foundation
import Testing

/// Drift metrics against values computed once with numpy/scipy by scripts/golden/drift_metrics.py.
@Suite struct GoldenMetricTests {
    struct Golden: Decodable {
        struct Case: Decodable {
            var kind: String
            var name: String
            var reference: AnyInput
            var current: AnyInput
            var expected: [String: Double]
        }
        var cases: [Case]
    }

    enum AnyInput: Decodable {
        case numbers([Double]), counts([String: Int]), pair([Int])
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let counts = try? container.decode([String: Int].self) { self = .counts(counts) }
            else if let pair = try? container.decode([Int].self), pair.count == 2 { self = .pair(pair) }
            else { self = .numbers(try container.decode([Double].self)) }
        }
        var numbers: [Double] { if case let .numbers(v) = self { v } else if case let .pair(p) = self { p.map(Double.init) } else { [] } }
        var counts: [String: Int] { if case let .counts(c) = self { c } else { [:] } }
        var pair: [Int] { if case let .pair(p) = self { p } else { [] } }
    }

    static let golden: Golden = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/drift_metrics.json")
        return try! JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }()

    @Test func numericMetricsMatchScipy() {
        let cases = Self.golden.cases.filter { $0.kind == "numeric" }
        #expect(cases.count == 5)
        for golden in cases {
            let drift = NumericDrift(
                reference: window(numberRecords(golden.reference.numbers)).field("x")!,
                current: window(numberRecords(golden.current.numbers)).field("x")!
            )
            let e = golden.expected
            let what = golden.name
            #expect(close(drift.psi.value, e["psi"]!), "\(what) psi \(drift.psi)")
            #expect(close(drift.jensenShannon.value, e["jensenShannon"]!), "\(what) js \(drift.jensenShannon)")
            #expect(close(drift.kolmogorovSmirnov.value, e["ks"]!), "\(what) ks \(drift.kolmogorovSmirnov)")
            #expect(close(drift.kolmogorovSmirnov.pValue, e["ksPValue"]!, relative: 1e-7), "\(what) ks p \(drift.kolmogorovSmirnov)")
            #expect(close(drift.wasserstein.value, e["wasserstein"]!), "\(what) wasserstein \(drift.wasserstein)")
            #expect(close(drift.meanShift.value, e["meanShift"]!, relative: 1e-7), "\(what) mean \(drift.meanShift)")
            #expect(close(drift.meanShift.pValue, e["meanShiftPValue"]!, relative: 1e-6), "\(what) mean p")
            #expect(close(drift.varianceShift.value, e["varianceShift"]!, relative: 1e-7), "\(what) variance \(drift.varianceShift)")
            #expect(close(drift.varianceShift.pValue, e["varianceShiftPValue"]!, relative: 1e-6), "\(what) variance p")
        }
    }

    @Test func categoricalMetricsMatchScipy() {
        for golden in Self.golden.cases where golden.kind == "categorical" {
            func records(_ counts: [String: Int]) -> [String] {
                counts.sorted { $0.key < $1.key }.flatMap { Array(repeating: #"{"c": "\#($0.key)"}"#, count: $0.value) }
            }
            let drift = CategoricalDrift(
                reference: window(records(golden.reference.counts)).field("c")!,
                current: window(records(golden.current.counts)).field("c")!
            )
            let e = golden.expected
            #expect(close(drift.psi.value, e["psi"]!), "\(golden.name) psi \(drift.psi)")
            #expect(close(drift.jensenShannon.value, e["jensenShannon"]!), "\(golden.name) js")
            #expect(close(drift.chiSquare.value, e["chiSquare"]!), "\(golden.name) chi2 \(drift.chiSquare)")
            #expect(close(drift.chiSquare.pValue, e["chiSquarePValue"]!, relative: 1e-7, absolute: 1e-12), "\(golden.name) chi2 p \(drift.chiSquare)")
        }
    }

    @Test func proportionTestsMatchScipy() {
        for golden in Self.golden.cases where golden.kind == "proportion" {
            let (x1, n1) = (golden.reference.pair[0], golden.reference.pair[1])
            let (x2, n2) = (golden.current.pair[0], golden.current.pair[1])
            let result = SchemaDrift.twoProportion(Int64(x1), Int64(n1), Int64(x2), Int64(n2), what: "missing")
            #expect(close(result.value, golden.expected["z"]!), "\(golden.name) z \(result)")
            #expect(close(result.pValue, golden.expected["pValue"]!, relative: 1e-6, absolute: 1e-15), "\(golden.name) p \(result)")
        }
    }
}
