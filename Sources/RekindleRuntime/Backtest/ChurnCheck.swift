import RekindleCore

/// The churn section of the back-test (spec 3.9, 7.4; issue 14): a BG/NBD model (the rule set's
/// own, or one fitted here at the calibration boundary when no rule set has one), the customers
/// in each risk band over time, and how well the model predicted: from the summaries at the
/// boundary, the expected repeat purchases (days) up to the end of the history, E[Y(h)] with h
/// the weeks from the boundary's day to the last day, beside the purchase days that came.
struct ChurnCheck: Sendable {
    enum Source: String, Sendable {
        /// The model in the current or the candidate rule set.
        case current, candidate
        /// Fitted by the back-test on the purchases up to the boundary (no rule set had one).
        case fitted
    }

    struct Bands: Sendable, Equatable {
        var at: Millis
        var low = 0
        var medium = 0
        var high = 0
    }

    struct Prediction: Sendable, Equatable {
        /// The cohort (month of first purchase); nil for the total.
        var cohort: CalendarMonth?
        var customers = 0
        var predicted = 0.0
        var actual = 0

        mutating func add(predicted: Double, actual: Int) {
            customers += 1
            self.predicted += predicted
            self.actual += actual
        }
    }

    var source: Source
    var model: ChurnModel
    var horizonDays: Double
    var fittedUntil: Millis?
    var logLikelihood: Double?
    /// Customers per band at each month's end (the last: the end of the history).
    var bands: [Bands] = []
    var boundary: Millis?
    /// Per cohort, then the total; empty without a boundary inside the history.
    var predictions: [Prediction] = []

    static let mediumFrom = 0.33
    static let highFrom = 0.66

    /// The model of a rule set's effective tree (`families.churn.model`), with its horizon and
    /// what the fit said of itself; nil when the rule set has none.
    static func model(of rules: RuleSet) -> (model: ChurnModel, horizonDays: Double, fittedUntil: Millis?, logLikelihood: Double?)? {
        guard let churn = rules.effective["families"]?["churn"], churn["enabled"] != .bool(false),
            let m = churn["model"], case .number(let r)? = m["r"], case .number(let alpha)? = m["alpha"],
            case .number(let a)? = m["a"], case .number(let b)? = m["b"]
        else { return nil }
        var horizon = 90.0
        if case .number(let h)? = churn["horizon_days"] { horizon = h }
        var until: Millis?
        if case .string(let s)? = m["fitted_until"] { until = Timestamp.parse(s) }
        var ll: Double?
        if case .number(let v)? = m["log_likelihood"] { ll = v }
        return (ChurnModel(r: r, alpha: alpha, a: a, b: b), horizon, until, ll)
    }

    /// Each customer's completions (with their removals), by customer.
    struct Buyers: Sendable {
        var purchases: [[PurchaseHistory.Purchase]] = []

        init(_ history: PurchaseHistory) {
            var index: [String: Int] = [:]
            for p in history.purchases {
                if let k = index[p.customerId] {
                    purchases[k].append(p)
                } else {
                    index[p.customerId] = purchases.count
                    purchases.append([p])
                }
            }
        }

        /// The instants of a customer's purchases that count at `t`.
        func instants(_ k: Int, at t: Millis) -> [Millis] {
            purchases[k].filter { $0.counts(at: t) }.map(\.at)
        }

        /// Every buyer's summary at `t` (spec 3.9), with the buyer's index.
        func summaries(at t: Millis) -> [(buyer: Int, summary: ChurnSummary)] {
            purchases.indices.compactMap { k in ChurnSummary(purchases: instants(k, at: t), at: t).map { (k, $0) } }
        }
    }

    /// Fits a model on the buyers' summaries at `boundary`; throws when the data cannot be fitted.
    static func fitted(_ buyers: Buyers, boundary: Millis) throws(ChurnFitError) -> ChurnCheck {
        let fit = try BGNBDFit.fit(WeightedSummaries(buyers.summaries(at: boundary).map(\.summary)))
        return ChurnCheck(source: .fitted, model: fit.model, horizonDays: 90, fittedUntil: boundary, logLikelihood: fit.logLikelihood)
    }

    /// Fills the bands at each month's end of `from...to`, and the predictions from `boundary`
    /// when it lies inside the period.
    mutating func measure(_ buyers: Buyers, from: Millis, to: Millis, boundary: Millis?) {
        let h = ChurnModel.horizonWeeks(days: horizonDays)
        bands = CalendarMonth.span(from: from, to: to).map { month in
            let t = min(month.next.start - 1, to)
            var b = Bands(at: t)
            for (_, s) in buyers.summaries(at: t) {
                let risk = model.churnRisk(s, horizonWeeks: h)
                if risk >= Self.highFrom { b.high += 1 } else if risk >= Self.mediumFrom { b.medium += 1 } else { b.low += 1 }
            }
            return b
        }
        guard let boundary, boundary >= from, boundary < to else { return }
        self.boundary = boundary
        let boundaryDay = ChurnSummary.day(boundary), lastDay = ChurnSummary.day(to)
        let weeks = Double(lastDay - boundaryDay) / 7
        var total = Prediction()
        var byCohort: [CalendarMonth: Prediction] = [:]
        for (k, s) in buyers.summaries(at: boundary) {
            let cohort = CalendarMonth(buyers.instants(k, at: boundary).min()!)
            let later = Set(buyers.instants(k, at: to).map(ChurnSummary.day).filter { $0 > boundaryDay && $0 <= lastDay })
            let predicted = model.expectedPurchases(s, horizonWeeks: weeks)
            byCohort[cohort, default: Prediction(cohort: cohort)].add(predicted: predicted, actual: later.count)
            total.add(predicted: predicted, actual: later.count)
        }
        predictions = byCohort.values.sorted { $0.cohort! < $1.cohort! } + [total]
    }
}
