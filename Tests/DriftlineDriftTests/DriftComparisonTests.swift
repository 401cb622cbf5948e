@testable import DriftlineDrift
import DriftlineProfiling
import DriftlineSampleData
import Foundation
import Testing

@Suite struct UndefinedMetricTests {
    @Test func constantReferenceSaysSoInsteadOfNaN() {
        let drift = NumericDrift(
            reference: window(numberRecords(Array(repeating: 5, count: 50))).field("x")!,
            current: window(numberRecords((0..<50).map(Double.init))).field("x")!
        )
        // PSI and Jensen–Shannon over below / at / above the constant: 5 of 50 values below, 1 at, 44 above.
        #expect(close(drift.psi.value, BucketDistance.psi(reference: [0, 1, 0], current: [5.0 / 50, 1.0 / 50, 44.0 / 50])))
        #expect(close(drift.jensenShannon.value, BucketDistance.jensenShannon(reference: [0, 1, 0], current: [5.0 / 50, 1.0 / 50, 44.0 / 50])))
        #expect(close(drift.unseenValues.value, 49.0 / 50), "every value but the 5 is new")
        #expect((drift.unseenValues.pValue ?? 1) < 1e-9)
        #expect(drift.wasserstein.undefinedReason == "the reference is constant")
        #expect(drift.varianceShift.undefinedReason == "the reference is constant")
        #expect(drift.kolmogorovSmirnov.isDefined, "KS needs no spread")
        #expect(drift.meanShift.isDefined)
    }

    @Test func allNullAndEmptyWindowsAreUndefined() {
        let nulls = window(Array(repeating: #"{"x": null}"#, count: 20)).field("x")!
        let numbers = window(numberRecords([1, 2, 3])).field("x")!
        let drift = NumericDrift(reference: nulls, current: numbers)
        #expect(drift.psi.undefinedReason == "the reference window has no numeric values")
        let schema = SchemaDrift(reference: nulls, referenceRecords: 20, current: numbers, currentRecords: 3)
        #expect(schema.typeChange.undefinedReason == "no non-null values in the reference")
        #expect(schema.referenceNullRate == 1 && schema.currentNullRate == 0)
        #expect(schema.nullRateChange.isDefined)
        #expect(schema.missingRateChange.undefinedReason == "no missing values in either window")
        let empty = SchemaDrift(reference: nil, referenceRecords: 0, current: numbers, currentRecords: 3)
        #expect(empty.missingRateChange.undefinedReason == "an empty window")
        let single = CategoricalDrift(reference: window([#"{"c": "a"}"#]).field("c")!, current: window([#"{"c": "a"}"#]).field("c")!)
        #expect(single.chiSquare.undefinedReason == "a single category in both windows")
        #expect(single.psi.value == 0)
    }

    @Test func metricResultNeverHoldsNaN() {
        #expect(MetricResult.defined(.nan).undefinedReason != nil)
        #expect(MetricResult.defined(1, pValue: .infinity).value == nil)
    }
}

@Suite struct DriftComparisonTests {
    @Test func typeChangeMissingAndFieldsAddedOrRemoved() {
        let reference = window((0..<100).map { #"{"id": \#($0), "amount": \#($0 % 7), "legacy": "x"}"# })
        let current = window((0..<100).map { index in
            let amount = index % 50 == 0 ? #""\#(index)""# : "\(index % 7)"  // 2% arrive as strings
            let id = index % 20 == 0 ? "" : #""id": \#(index), "#            // 5% miss the id
            return #"{\#(id)"amount": \#(amount), "coupon": "c\#(index % 3)"}"#
        })
        let comparison = DriftComparison(reference: reference, current: current)
        #expect(comparison.addedFields == ["coupon"])
        #expect(comparison.removedFields == ["legacy"])
        let amount = comparison.field("amount")!
        #expect(amount.schema.currentTypeShares["string"] == 0.02)
        #expect(close(amount.schema.typeChange.value, 0.02))
        #expect(amount.numeric != nil && amount.categorical != nil, "mixed types get both views")
        let id = comparison.field("id")!
        #expect(id.schema.referenceMissingRate == 0 && id.schema.currentMissingRate == 0.05)
        #expect((id.schema.missingRateChange.value ?? 0) > 2, "a jump from 0% to 5% missing is significant")
        #expect(comparison.field("coupon")!.categorical!.psi.undefinedReason == "the reference window has no categorical values")
    }

    @Test func declaredSchemaViolationsAreCounted() throws {
        let schema = try DeclaredSchema(json: Data(#"""
        {"type": "object", "required": ["id", "status"],
         "properties": {
           "id": {"type": "integer"},
           "status": {"type": "string", "enum": ["new", "paid"]},
           "score": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
           "meta": {"type": "object", "properties": {"source": {"type": "string"}}},
           "tags": {"type": "array", "items": {"type": "string"}}
         }}
        """#.utf8))
        #expect(schema.fields.keys.sorted() == ["id", "meta", "meta.source", "score", "status", "tags", "tags[]"])
        let current = window((0..<10).map { index in
            let status = index < 8 ? (index % 2 == 0 ? "new" : "paid") : "refunded"
            let score = index == 9 ? "1.5" : index == 8 ? "null" : "0.\(index)"
            let id = index == 0 ? #""id": "zero", "# : index == 1 ? "" : #""id": \#(index), "#
            return #"{\#(id)"status": "\#(status)", "score": \#(score), "extra": true}"#
        })
        let comparison = DriftComparison(reference: current, current: current, schema: schema)
        #expect(comparison.undeclaredFields == ["extra"])
        let id = try #require(comparison.field("id")?.violations)
        #expect(id.type == 1 && id.required == 1)
        #expect(comparison.field("status")?.violations?.enumeration == 2)
        #expect(comparison.field("score")?.violations?.range == 1)
        #expect(comparison.field("score")?.violations?.type == 0, "null is declared")
        #expect(comparison.field("tags")?.violations?.total == 0, "optional and absent")
        #expect(comparison.field("tags")?.status == .absent, "declared but never seen")
    }

    @Test func badSchemasAreRejectedWithTheReason() {
        #expect(throws: DeclaredSchema.LoadError.self) { try DeclaredSchema(json: Data("[1]".utf8)) }
        let error = #expect(throws: DeclaredSchema.LoadError.self) {
            try DeclaredSchema(json: Data(#"{"properties": {"a": {"type": "decimal"}}}"#.utf8))
        }
        #expect(error?.description.contains("unknown type 'decimal' for 'a'") == true)
        #expect(throws: DeclaredSchema.LoadError.self) { try DeclaredSchema(contentsOf: URL(fileURLWithPath: "/nonexistent.json")) }
    }
}

@Suite struct HighCardinalityTests {
    @Test func aStableHighCardinalityFieldDoesNotLookLikeDrift() {
        var random = SeededRandom(seed: 5)
        func records() -> [String] { (0..<5_000).map { _ in #"{"user": "u\#(random.next() % 50_000)"}"# } }
        let comparison = DriftComparison(reference: window(records()), current: window(records()))
        let drift = comparison.field("user")!.categorical!
        #expect(drift.chiSquare.undefinedReason == "a single category in both windows", "only '(other)' is comparable")
        var scorer = DriftScorer()
        #expect(scorer.score(comparison).score < 0.5)
    }

    @Test func aHeavyHitterAppearingInAHighCardinalityFieldIsDrift() {
        var random = SeededRandom(seed: 6)
        let reference = window((0..<5_000).map { _ in #"{"user": "u\#(random.next() % 50_000)"}"# })
        let current = window((0..<5_000).map { index in index % 5 == 0 ? #"{"user": "bot"}"# : #"{"user": "u\#(random.next() % 50_000)"}"# })
        let comparison = DriftComparison(reference: reference, current: current)
        #expect(comparison.field("user")!.categorical!.newCategories == ["bot"])
        var scorer = DriftScorer()
        #expect(scorer.score(comparison).score >= 0.5)
    }
}
