import Foundation
import Synchronization

/// A fitted BG/NBD model: maximum-likelihood parameters with their standard errors (from the
/// inverse Hessian of the negative log-likelihood at the optimum) and the log-likelihood.
public struct ChurnFit: Sendable {
    public var model: ChurnModel
    /// Standard errors of r, alpha, a, b (NaN where the Hessian is not positive definite).
    public var standardErrors: ChurnModel
    public var logLikelihood: Double
    public var customers: Int
    public var distinctSummaries: Int
    /// Likelihood evaluations the optimiser made, over every start.
    public var evaluations: Int
}

/// Why a fit was refused.
public enum ChurnFitError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooFewCustomers(Int, minimum: Int)
    case noRepeatPurchases(customers: Int)
    case noOptimum

    public var description: String {
        switch self {
        case .tooFewCustomers(let n, let minimum):
            return "too few customers to fit: \(n) with a purchase, at least \(minimum) needed"
        case .noRepeatPurchases(let n):
            return "no repeat purchases: none of the \(n) customers bought on a second day, so the model cannot be fitted"
        case .noOptimum:
            return "the likelihood has no finite maximum on this data"
        }
    }
}

/// Maximum likelihood for the BG/NBD model over customers' summaries (spec 3.9): Nelder-Mead in
/// log space (so every parameter stays positive) from several starting points, the best polished.
public enum BGNBDFit {
    public static let minimumCustomers = 10

    public static func fit(_ data: WeightedSummaries) throws(ChurnFitError) -> ChurnFit {
        guard data.customers >= minimumCustomers else {
            throw .tooFewCustomers(data.customers, minimum: minimumCustomers)
        }
        guard data.repeatCustomers > 0 else { throw .noRepeatPurchases(customers: data.customers) }
        let table = LikelihoodTable(data)
        let total = table.weights.reduce(0, +)
        // The mean negative log-likelihood per customer: tolerances that do not depend on N.
        // Outside e^-30...e^30 a parameter means the data has no interior optimum there.
        let objective: ([Double]) -> Double = { theta in
            guard theta.allSatisfy({ abs($0) <= 30 }) else { return .infinity }
            return -table.logLikelihood(theta) / total
        }
        // Starts: the Gamma's mean r / alpha at the observed repeat rate, shapes from sharp to flat.
        var repeats = 0.0, exposure = 0.0
        for i in table.weights.indices {
            repeats += table.weights[i] * table.xs[Int(table.rowX[i])]
            exposure += table.weights[i] * table.times[Int(table.rowT[i])]
        }
        let rate = max(repeats / max(exposure, 1e-9), 1e-6)
        var starts: [[Double]] = []
        for (r, a, b) in [(1.0, 1.0, 1.0), (0.25, 0.5, 2.0), (3.0, 2.0, 6.0), (0.5, 3.0, 1.0)] {
            starts.append([log(r), log(r / rate), log(a), log(b)])
        }
        var evaluations = 0
        var coarse = NelderMead()
        coarse.relativeTolerance = 1e-5
        coarse.sizeTolerance = 1e-2
        coarse.maxEvaluations = 1_000
        var best: NelderMead.Result?
        for start in starts {
            let run = coarse.minimize(objective, from: start)
            evaluations += run.evaluations
            if run.value.isFinite, best == nil || run.value < best!.value { best = run }
        }
        guard let found = best else { throw .noOptimum }
        var fine = NelderMead()
        fine.step = 0.02
        fine.sizeTolerance = 1e-7
        let polished = fine.minimize(objective, from: found.point)
        evaluations += polished.evaluations
        let theta = polished.point
        guard polished.value.isFinite, theta.allSatisfy({ abs($0) < 29.5 }) else { throw .noOptimum }
        let p = theta.map { exp($0) }
        let errors = standardErrors(theta: theta) { -table.logLikelihood($0) }
        return ChurnFit(
            model: ChurnModel(r: p[0], alpha: p[1], a: p[2], b: p[3]),
            standardErrors: ChurnModel(r: errors[0], alpha: errors[1], a: errors[2], b: errors[3]),
            logLikelihood: table.logLikelihood(theta), customers: data.customers,
            distinctSummaries: data.rows.count, evaluations: evaluations)
    }

    /// Standard errors of p = e^theta from the Hessian of the negative log-likelihood in theta
    /// (central differences): at the optimum the covariance of p is D H^-1 D, D = diag(p).
    static func standardErrors(theta: [Double], _ nll: ([Double]) -> Double) -> [Double] {
        let n = theta.count
        let h = 1e-3
        let f0 = nll(theta)
        func at(_ moves: [(Int, Double)]) -> Double {
            var t = theta
            for (i, d) in moves { t[i] += d }
            return nll(t)
        }
        var hessian = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n {
            hessian[i][i] = (at([(i, h)]) - 2 * f0 + at([(i, -h)])) / (h * h)
            for j in 0..<i {
                let v = (at([(i, h), (j, h)]) - at([(i, h), (j, -h)]) - at([(i, -h), (j, h)]) + at([(i, -h), (j, -h)])) / (4 * h * h)
                hessian[i][j] = v
                hessian[j][i] = v
            }
        }
        guard let inverse = invert(hessian) else { return [Double](repeating: .nan, count: n) }
        return (0..<n).map { i in
            let v = inverse[i][i]
            return v > 0 ? exp(theta[i]) * v.squareRoot() : .nan
        }
    }

    /// Gauss-Jordan with partial pivoting; nil for a singular matrix.
    static func invert(_ m: [[Double]]) -> [[Double]]? {
        let n = m.count
        var a = m
        var inv = (0..<n).map { i in (0..<n).map { $0 == i ? 1.0 : 0.0 } }
        for col in 0..<n {
            let pivot = (col..<n).max { abs(a[$0][col]) < abs(a[$1][col]) }!
            guard abs(a[pivot][col]) > 0, a[pivot][col].isFinite else { return nil }
            a.swapAt(col, pivot)
            inv.swapAt(col, pivot)
            let d = a[col][col]
            for k in 0..<n {
                a[col][k] /= d
                inv[col][k] /= d
            }
            for row in 0..<n where row != col {
                let f = a[row][col]
                guard f != 0 else { continue }
                for k in 0..<n {
                    a[row][k] -= f * a[col][k]
                    inv[row][k] -= f * inv[col][k]
                }
            }
        }
        return inv
    }
}

/// The log-likelihood of weighted summaries, laid out for repeated evaluation: the terms that
/// depend on x alone are computed once per distinct x and ln(alpha + t) once per distinct time,
/// so a row costs a few multiplications, one exp and one log.
struct LikelihoodTable: Sendable {
    var xs: [Double] = []
    var times: [Double] = []
    var rowX: [Int32] = []
    var rowT: [Int32] = []
    var rowTx: [Int32] = []
    var weights: [Double]

    /// Rows in (x, T, t_x) order: the sums, and so the fit to the last bit, depend on the
    /// summaries and not on the order in which the customers were seen.
    init(_ data: WeightedSummaries) {
        let order = data.rows.indices.sorted { i, j in
            let a = data.rows[i], b = data.rows[j]
            return (a.x, a.T, a.tx) < (b.x, b.T, b.tx)
        }
        weights = order.map { data.weights[$0] }
        var xIndex: [Int: Int32] = [:], timeIndex: [Double: Int32] = [:]
        func slot<K: Hashable>(_ key: K, _ index: inout [K: Int32], _ list: inout [Double], _ value: Double) -> Int32 {
            if let k = index[key] { return k }
            index[key] = Int32(list.count)
            list.append(value)
            return Int32(list.count - 1)
        }
        for s in order.map({ data.rows[$0] }) {
            rowX.append(slot(s.x, &xIndex, &xs, Double(s.x)))
            rowT.append(slot(s.T, &timeIndex, &times, s.T))
            rowTx.append(slot(s.tx, &timeIndex, &times, s.tx))
        }
    }

    /// The weighted sum of `ChurnModel.logLikelihood` at parameters e^theta.
    func logLikelihood(_ theta: [Double]) -> Double {
        let r = exp(theta[0]), alpha = exp(theta[1]), a = exp(theta[2]), b = exp(theta[3])
        let common: Double = r * log(alpha) - lgamma(r) + (lgamma(a + b) - lgamma(b))
        var base = [Double](repeating: 0, count: xs.count)
        var lnDeath = [Double](repeating: 0, count: xs.count)
        for (k, x) in xs.enumerated() {
            let gammas: Double = lgamma(r + x) + lgamma(b + x)
            base[k] = common + gammas - lgamma(a + b + x)
            lnDeath[k] = x > 0 ? log(a / (b + x - 1)) : 0
        }
        let lnTime = times.map { log(alpha + $0) }
        let n = weights.count
        guard n >= Self.parallelRows else { return sum(0..<n, r, base, lnDeath, lnTime) }
        // A fixed split, summed in order: the same bits on any number of cores.
        let parts = Self.parts
        let (xTerms, deathTerms) = (base, lnDeath)
        let sums = Mutex([Double](repeating: 0, count: parts))
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            let part = sum((n * p / parts)..<(n * (p + 1) / parts), r, xTerms, deathTerms, lnTime)
            sums.withLock { $0[p] = part }
        }
        return sums.withLock { $0.reduce(0, +) }
    }

    /// The weighted log-likelihood of rows `range`, given the terms of each x and each time.
    func sum(_ range: Range<Int>, _ r: Double, _ base: [Double], _ lnDeath: [Double], _ lnTime: [Double]) -> Double {
        var sum = 0.0
        for i in range {
            let xi = Int(rowX[i])
            let x = xs[xi]
            let k = r + x
            let lT = lnTime[Int(rowT[i])]
            var ll = base[xi] - k * lT
            if x > 0 { ll += ChurnModel.softplus(lnDeath[xi] - k * (lnTime[Int(rowTx[i])] - lT)) }
            sum += weights[i] * ll
        }
        return sum
    }

    /// From this many rows an evaluation is split into `parts` summed on every core.
    static let parallelRows = 20_000
    static let parts = 16
}
