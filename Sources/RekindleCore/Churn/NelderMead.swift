/// The Nelder-Mead simplex minimiser (Nelder and Mead 1965, the standard coefficients), restarted
/// from its own best point until a restart gains nothing: a collapsed simplex is the method's
/// known way of stopping short of a minimum.
struct NelderMead {
    var relativeTolerance = 1e-12
    var sizeTolerance = 1e-9
    var maxEvaluations = 20_000
    /// The initial simplex's edge along each coordinate.
    var step = 0.5

    struct Result {
        var point: [Double]
        var value: Double
        var evaluations: Int
    }

    func minimize(_ f: ([Double]) -> Double, from start: [Double]) -> Result {
        var best = Result(point: start, value: f(start), evaluations: 1)
        var edge = step
        while best.evaluations < maxEvaluations {
            let run = once(f, from: best.point, value: best.value, edge: edge, budget: maxEvaluations - best.evaluations)
            let gained = best.value - run.value
            best = Result(point: run.point, value: run.value, evaluations: best.evaluations + run.evaluations)
            if !(gained > relativeTolerance * (abs(best.value) + 1e-300)) { break }
            edge = max(edge / 4, 1e-3)
        }
        return best
    }

    private func once(_ f: ([Double]) -> Double, from x0: [Double], value f0: Double, edge: Double, budget: Int) -> Result {
        let n = x0.count
        var points = [x0]
        var values = [f0]
        var evaluations = 0
        func eval(_ x: [Double]) -> Double {
            evaluations += 1
            let v = f(x)
            return v.isNaN ? .infinity : v
        }
        for i in 0..<n {
            var x = x0
            x[i] += edge
            points.append(x)
            values.append(eval(x))
        }
        while evaluations < budget {
            let order = values.indices.sorted { values[$0] < values[$1] }
            points = order.map { points[$0] }
            values = order.map { values[$0] }
            let spread = values[n] - values[0]
            var size = 0.0
            for p in points.dropFirst() {
                for i in 0..<n { size = max(size, abs(p[i] - points[0][i])) }
            }
            if spread <= relativeTolerance * (abs(values[0]) + 1e-300) && size <= sizeTolerance { break }
            if size <= 1e-14 { break }
            var centroid = [Double](repeating: 0, count: n)
            for p in points.dropLast() {
                for i in 0..<n { centroid[i] += p[i] / Double(n) }
            }
            func toward(_ t: Double) -> [Double] { (0..<n).map { centroid[$0] + t * (points[n][$0] - centroid[$0]) } }
            let reflected = toward(-1)
            let fr = eval(reflected)
            if fr < values[0] {
                let expanded = toward(-2)
                let fe = eval(expanded)
                if fe < fr {
                    points[n] = expanded
                    values[n] = fe
                } else {
                    points[n] = reflected
                    values[n] = fr
                }
            } else if fr < values[n - 1] {
                points[n] = reflected
                values[n] = fr
            } else {
                let outside = fr < values[n]
                let contracted = toward(outside ? -0.5 : 0.5)
                let fc = eval(contracted)
                if fc < (outside ? fr : values[n]) {
                    points[n] = contracted
                    values[n] = fc
                } else {
                    for k in 1...n {
                        points[k] = (0..<n).map { points[0][$0] + 0.5 * (points[k][$0] - points[0][$0]) }
                        values[k] = eval(points[k])
                    }
                }
            }
        }
        let k = values.indices.min { values[$0] < values[$1] }!
        return Result(point: points[k], value: values[k], evaluations: evaluations)
    }
}
