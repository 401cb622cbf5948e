import Foundation

/// Derivative-free minimisation (Nelder & Mead 1965, standard coefficients), as the reference ETS
/// and ARIMA implementations use for their likelihoods.
enum NelderMead {
    static func minimize(_ start: [Double], step: [Double], maxEvaluations: Int? = nil, tolerance: Double = 1e-8,
                         _ f: ([Double]) -> Double) -> [Double] {
        let dimension = start.count
        let budget = maxEvaluations ?? 400 * dimension
        var simplex = [start]
        for index in 0..<dimension {
            var vertex = start
            vertex[index] += step[index]
            simplex.append(vertex)
        }
        var values = simplex.map(f)
        var evaluations = values.count
        while evaluations < budget {
            let order = values.indices.sorted { values[$0] < values[$1] }
            simplex = order.map { simplex[$0] }
            values = order.map { values[$0] }
            if abs(values[dimension] - values[0]) <= tolerance * (abs(values[0]) + tolerance) { break }
            var centroid = [Double](repeating: 0, count: dimension)
            for vertex in simplex.dropLast() { for i in 0..<dimension { centroid[i] += vertex[i] / Double(dimension) } }
            func along(_ coefficient: Double) -> [Double] {
                (0..<dimension).map { centroid[$0] + coefficient * (simplex[dimension][$0] - centroid[$0]) }
            }
            let reflected = along(-1)
            let reflectedValue = f(reflected)
            evaluations += 1
            if reflectedValue < values[0] {
                let expanded = along(-2)
                let expandedValue = f(expanded)
                evaluations += 1
                if expandedValue < reflectedValue {
                    simplex[dimension] = expanded
                    values[dimension] = expandedValue
                } else {
                    simplex[dimension] = reflected
                    values[dimension] = reflectedValue
                }
            } else if reflectedValue < values[dimension - 1] {
                simplex[dimension] = reflected
                values[dimension] = reflectedValue
            } else {
                let outside = reflectedValue < values[dimension]
                let contracted = along(outside ? -0.5 : 0.5)
                let contractedValue = f(contracted)
                evaluations += 1
                if contractedValue < min(reflectedValue, values[dimension]) {
                    simplex[dimension] = contracted
                    values[dimension] = contractedValue
                } else {
                    // Shrink toward the best vertex.
                    for index in 1...dimension {
                        simplex[index] = (0..<dimension).map { simplex[0][$0] + 0.5 * (simplex[index][$0] - simplex[0][$0]) }
                        values[index] = f(simplex[index])
                    }
                    evaluations += dimension
                }
            }
        }
        let best = values.indices.min { values[$0] < values[$1] }!
        return simplex[best]
    }
}
