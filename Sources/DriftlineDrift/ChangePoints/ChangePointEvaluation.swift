/// The two scores of van den Burg & Williams (2020) for change points found against those marked,
/// with their conventions: the series start counts as a change point on both sides, and a found
/// point within `margin` of a marked one is a hit (each marked point hit at most once).
public enum ChangePointEvaluation {
    /// F1 of precision and recall.
    public static func f1(marked: [Int], found: [Int], margin: Int = 5) -> Double {
        let truth = Set([0] + marked).sorted()
        let predicted = Set([0] + found).sorted()
        var used = Set<Int>()
        var hits = 0
        for point in predicted {
            if let match = truth.first(where: { abs($0 - point) <= margin && !used.contains($0) }) {
                used.insert(match)
                hits += 1
            }
        }
        let precision = Double(hits) / Double(predicted.count)
        let recall = Double(hits) / Double(truth.count)
        return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
    }

    /// Covering: each marked segment's best Jaccard overlap with a found one, weighted by its length.
    public static func covering(marked: [Int], found: [Int], length n: Int) -> Double {
        func segments(_ points: [Int]) -> [Range<Int>] {
            let bounds = Set([0] + points.filter { $0 > 0 && $0 < n } + [n]).sorted()
            return zip(bounds, bounds.dropFirst()).map { $0..<$1 }
        }
        let truth = segments(marked), predicted = segments(found)
        var total = 0.0
        for segment in truth {
            let best = predicted.map { other -> Double in
                let overlap = max(0, min(segment.upperBound, other.upperBound) - max(segment.lowerBound, other.lowerBound))
                return Double(overlap) / Double(segment.count + other.count - overlap)
            }.max() ?? 0
            total += Double(segment.count) * best
        }
        return n > 0 ? total / Double(n) : 1
    }
}
