@testable import DriftlineProfiling
import DriftlineSampleData
import Testing

/// The quantile sketch's sort must order exactly like the standard library's, on every shape its
/// levels take: random values, few distinct values, sorted and reversed runs, all equal, tiny.
@Suite struct InPlaceSortTests {
    @Test(arguments: ["random", "fewDistinct", "sorted", "reversed", "allEqual", "sawtooth", "organPipe"])
    func ordersLikeTheStandardLibrary(shape: String) {
        var random = SeededRandom(seed: 42)
        for count in [0, 1, 2, 3, 15, 16, 17, 18, 33, 200, 201, 1_000, 4_097] {
            var values: [Double] = (0..<count).map { index in
                switch shape {
                case "random": Double(random.next() % 1_000_000) / 7
                case "fewDistinct": Double(random.next() % 10)
                case "sorted": Double(index)
                case "reversed": Double(count - index)
                case "allEqual": 3.5
                case "sawtooth": Double(index % 17)
                default: Double(min(index, count - index))
                }
            }
            let expected = values.sorted()
            values.withUnsafeMutableBufferPointer { buffer in
                if let base = buffer.baseAddress { sortInPlace(base, buffer.count) }
            }
            #expect(values == expected, "\(shape), \(count) items")
        }
    }
}
