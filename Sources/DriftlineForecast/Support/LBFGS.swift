import Foundation

/// Limited-memory BFGS (Nocedal 1980; Nocedal & Wright 2006, algorithm 7.4) with a line search
/// satisfying the strong Wolfe conditions (their algorithms 3.5 and 3.6). It is the optimiser Stan
/// runs for Prophet's MAP fit; the convergence tests are Stan's defaults (objective change 1e-12
/// absolute or 1e4 ε relative, gradient norm 1e-8, step 1e-8).
enum LBFGS {
    struct Result {
        var x: [Double]
        var value: Double
        var iterations: Int
        var converged: Bool
    }

    typealias Objective = ([Double]) -> (value: Double, gradient: [Double])

    static func minimize(_ start: [Double], memory: Int = 5, maxIterations: Int = 10_000, _ f: Objective) -> Result {
        var x = start
        var (fx, g) = f(x)
        guard fx.isFinite else { return Result(x: x, value: fx, iterations: 0, converged: false) }
        var steps: [[Double]] = [], changes: [[Double]] = [], curvatures: [Double] = []
        for iteration in 1...max(1, maxIterations) {
            if norm(g) < 1e-8 { return Result(x: x, value: fx, iterations: iteration - 1, converged: true) }
            var direction = twoLoop(g, steps: steps, changes: changes, curvatures: curvatures)
            if dot(direction, g) >= 0 {
                // Not a descent direction (the curvature pairs went stale): start over from the gradient.
                steps.removeAll(); changes.removeAll(); curvatures.removeAll()
                direction = g.map { -$0 }
            }
            let initial = steps.isEmpty ? min(1, 1 / max(norm(g), 1e-300)) : 1
            guard let found = lineSearch(f, x: x, value: fx, gradient: g, direction: direction, initial: initial) else {
                if steps.isEmpty { return Result(x: x, value: fx, iterations: iteration, converged: false) }
                steps.removeAll(); changes.removeAll(); curvatures.removeAll()
                continue
            }
            let step = direction.map { $0 * found.alpha }
            let change = zip(found.gradient, g).map { $0 - $1 }
            let previous = fx
            x = zip(x, step).map { $0 + $1 }
            fx = found.value
            g = found.gradient
            let curvature = dot(step, change)
            if curvature > 1e-12 * norm(step) * norm(change) {
                steps.append(step); changes.append(change); curvatures.append(curvature)
                if steps.count > memory { steps.removeFirst(); changes.removeFirst(); curvatures.removeFirst() }
            }
            let decrease = abs(previous - fx)
            if decrease < 1e-12 || decrease / max(abs(previous), abs(fx), .ulpOfOne) < 1e4 * .ulpOfOne || norm(step) < 1e-8 {
                return Result(x: x, value: fx, iterations: iteration, converged: true)
            }
        }
        return Result(x: x, value: fx, iterations: maxIterations, converged: false)
    }

    /// Newton's method with a finite-difference Hessian (of the gradient), damped until it is
    /// positive definite, and step halving until the objective falls; stops when an iteration gains
    /// less than 1e-8, as Stan's `newton` optimiser (which Prophet uses for fewer than 100 values).
    static func newton(_ start: [Double], maxIterations: Int = 10_000, _ f: Objective) -> Result {
        var x = start
        var (value, gradient) = f(x)
        let n = x.count
        for iteration in 1...max(1, maxIterations) {
            var hessian = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
            for j in 0..<n {
                let h = 1e-5 * max(1, abs(x[j]))
                var probe = x
                probe[j] = x[j] + h
                let up = f(probe).gradient
                probe[j] = x[j] - h
                let down = f(probe).gradient
                for i in 0..<n { hessian[i][j] = (up[i] - down[i]) / (2 * h) }
            }
            for i in 0..<n { for j in 0..<i { let mean = (hessian[i][j] + hessian[j][i]) / 2; hessian[i][j] = mean; hessian[j][i] = mean } }
            var damping = 0.0
            var step: [Double]?
            while step == nil, damping < 1e12 {
                var damped = hessian
                for i in 0..<n { damped[i][i] += damping }
                step = choleskySolve(damped, gradient.map { -$0 })
                damping = damping == 0 ? 1e-8 : damping * 10
            }
            guard let direction = step else { return Result(x: x, value: value, iterations: iteration, converged: false) }
            var alpha = 1.0, improved = false
            for _ in 0..<50 {
                let candidate = zip(x, direction).map { $0 + alpha * $1 }
                let (v, g) = f(candidate)
                if v.isFinite, v < value {
                    let gain = value - v
                    x = candidate; value = v; gradient = g; improved = true
                    if gain < 1e-8 { return Result(x: x, value: value, iterations: iteration, converged: true) }
                    break
                }
                alpha /= 2
            }
            if !improved { return Result(x: x, value: value, iterations: iteration, converged: true) }
        }
        return Result(x: x, value: value, iterations: maxIterations, converged: false)
    }

    /// Solves A·x = b for a symmetric positive definite A, or nil when A is not.
    private static func choleskySolve(_ a: [[Double]], _ b: [Double]) -> [Double]? {
        let n = b.count
        var l = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n {
            for j in 0...i {
                var sum = a[i][j]
                for k in 0..<j { sum -= l[i][k] * l[j][k] }
                if i == j {
                    guard sum > 0 else { return nil }
                    l[i][i] = sum.squareRoot()
                } else {
                    l[i][j] = sum / l[j][j]
                }
            }
        }
        var y = b
        for i in 0..<n { for k in 0..<i { y[i] -= l[i][k] * y[k] }; y[i] /= l[i][i] }
        for i in stride(from: n - 1, through: 0, by: -1) { for k in (i + 1)..<n { y[i] -= l[k][i] * y[k] }; y[i] /= l[i][i] }
        return y
    }

    /// H·(−g) from the stored pairs, H₀ scaled by the latest sᵀy / yᵀy.
    private static func twoLoop(_ g: [Double], steps: [[Double]], changes: [[Double]], curvatures: [Double]) -> [Double] {
        var q = g
        var alphas = [Double](repeating: 0, count: steps.count)
        for index in steps.indices.reversed() {
            alphas[index] = dot(steps[index], q) / curvatures[index]
            for i in q.indices { q[i] -= alphas[index] * changes[index][i] }
        }
        if let last = steps.indices.last {
            let scale = curvatures[last] / dot(changes[last], changes[last])
            for i in q.indices { q[i] *= scale }
        }
        for index in steps.indices {
            let beta = dot(changes[index], q) / curvatures[index]
            for i in q.indices { q[i] += (alphas[index] - beta) * steps[index][i] }
        }
        return q.map { -$0 }
    }

    private struct Point { var alpha: Double; var value: Double; var gradient: [Double]; var slope: Double }

    /// A step length satisfying the strong Wolfe conditions (c₁ 1e-4, c₂ 0.9), or nil when none is
    /// found in 40 evaluations. A step where the objective is not finite counts as too long.
    private static func lineSearch(_ f: Objective, x: [Double], value: Double, gradient: [Double], direction: [Double], initial: Double)
        -> (alpha: Double, value: Double, gradient: [Double])? {
        let c1 = 1e-4, c2 = 0.9
        let slope0 = dot(gradient, direction)
        var evaluations = 0
        func evaluate(_ alpha: Double) -> Point {
            evaluations += 1
            let (v, g) = f(zip(x, direction).map { $0 + alpha * $1 })
            return Point(alpha: alpha, value: v.isFinite ? v : .infinity, gradient: g, slope: v.isFinite ? dot(g, direction) : .nan)
        }
        func zoom(_ low: Point, _ high: Point) -> Point? {
            var low = low, high = high
            while evaluations < 40 {
                let alpha = interpolate(low, high)
                let point = evaluate(alpha)
                if point.value > value + c1 * alpha * slope0 || point.value >= low.value {
                    high = point
                } else {
                    if abs(point.slope) <= -c2 * slope0 { return point }
                    if point.slope * (high.alpha - low.alpha) >= 0 { high = low }
                    low = point
                }
                if abs(high.alpha - low.alpha) < 1e-16 * max(1, abs(low.alpha)) { return low.alpha > 0 ? low : nil }
            }
            return low.alpha > 0 && low.value < value ? low : nil
        }
        var previous = Point(alpha: 0, value: value, gradient: gradient, slope: slope0)
        var alpha = initial
        var first = true
        while evaluations < 40 {
            let point = evaluate(alpha)
            if !point.value.isFinite {
                // Too long a step for the objective's domain: shorten it before bracketing.
                alpha = previous.alpha + (alpha - previous.alpha) / 10
                continue
            }
            if point.value > value + c1 * alpha * slope0 || (!first && point.value >= previous.value) {
                return zoom(previous, point).map { ($0.alpha, $0.value, $0.gradient) }
            }
            if abs(point.slope) <= -c2 * slope0 { return (point.alpha, point.value, point.gradient) }
            if point.slope >= 0 { return zoom(point, previous).map { ($0.alpha, $0.value, $0.gradient) } }
            previous = point
            alpha *= 2
            first = false
        }
        return nil
    }

    /// The minimiser of the cubic through both points' values and slopes, kept inside the middle of
    /// the bracket (bisection when the cubic is unusable).
    private static func interpolate(_ a: Point, _ b: Point) -> Double {
        let lo = min(a.alpha, b.alpha), hi = max(a.alpha, b.alpha)
        var candidate = (a.alpha + b.alpha) / 2
        if a.value.isFinite, b.value.isFinite, a.slope.isFinite, b.slope.isFinite, a.alpha != b.alpha {
            let d1 = a.slope + b.slope - 3 * (a.value - b.value) / (a.alpha - b.alpha)
            let radicand = d1 * d1 - a.slope * b.slope
            if radicand >= 0 {
                let d2 = (b.alpha > a.alpha ? 1.0 : -1.0) * radicand.squareRoot()
                let cubic = b.alpha - (b.alpha - a.alpha) * (b.slope + d2 - d1) / (b.slope - a.slope + 2 * d2)
                if cubic.isFinite { candidate = cubic }
            }
        }
        let margin = 0.1 * (hi - lo)
        return min(max(candidate, lo + margin), hi - margin)
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var sum = 0.0
        for i in a.indices { sum += a[i] * b[i] }
        return sum
    }

    static func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }
}
