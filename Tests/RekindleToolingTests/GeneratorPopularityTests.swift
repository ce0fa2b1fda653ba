import Foundation
import RekindleCore
import RekindleRuntime
@testable import RekindleTooling
import Testing

/// `rekindle generate --popularity zipf`: most views land on a few products; and
/// `--returning-browsers`: browsers come back to buy.
@Suite struct GeneratorPopularityTests {
    static func lines(_ popularity: ProductPopularity, seed: UInt64 = 1) -> [String] {
        var o = GeneratorOptions()
        o.customers = 400
        o.days = 60
        o.products = 1000
        o.seed = seed
        o.popularity = popularity
        var out: [String] = []
        SyntheticStream.generate(o) { out.append($0) }
        return out
    }

    /// Views per product, most viewed first.
    static func viewsPerProduct(_ lines: [String]) -> [Int] {
        var views: [String: Int] = [:]
        for line in lines {
            if case .success(let e) = EventDecoder.decode(line), case .productView(let v) = e.body { views[v.productId, default: 0] += 1 }
        }
        return views.values.sorted(by: >)
    }

    @Test func theSameSeedGivesTheSameZipfLinesAndTheDefaultIsTheCategorySkew() {
        let zipf = Self.lines(.zipf(exponent: 1.2))
        #expect(zipf == Self.lines(.zipf(exponent: 1.2)))
        #expect(zipf != Self.lines(.zipf(exponent: 1.2), seed: 2))
        #expect(zipf != Self.lines(.category))
        #expect(GeneratorOptions().popularity == .category)
    }

    @Test func underZipfTheMostViewedProductsTakeMoreThanTwiceTheirShare() {
        let zipf = Self.viewsPerProduct(Self.lines(.zipf(exponent: 1)))
        let category = Self.viewsPerProduct(Self.lines(.category))
        func topTenShare(_ views: [Int]) -> Double { Double(views.prefix(10).reduce(0, +)) / Double(views.reduce(0, +)) }
        // The top 1% of the catalogue: about a quarter of all views, against a tenth.
        #expect(topTenShare(zipf) > 0.2, "\(topTenShare(zipf))")
        #expect(topTenShare(zipf) > 2 * topTenShare(category), "\(topTenShare(zipf)) vs \(topTenShare(category))")
    }

    @Test func returningBrowsersBuyWithinTheWeekAfterBrowsing() {
        func completedOrders(_ share: Double) -> Int {
            var o = GeneratorOptions()
            o.customers = 400
            o.days = 60
            o.returningBrowserShare = share
            var n = 0
            SyntheticStream.generate(o) { line in
                if case .success(let e) = EventDecoder.decode(line), case .order(let order) = e.body, order.status == .completed { n += 1 }
            }
            return n
        }
        let without = completedOrders(0), with = completedOrders(0.5)
        // About 150 browsers, one or two sessions each: dozens more purchases.
        #expect(with > without + 30, "\(with) vs \(without)")
    }

    @Test func zipfRanksFollowTheLaw() {
        let cumulative = ProductPopularity.zipfCumulative(4, exponent: 1)
        // Weights 1, 1/2, 1/3, 1/4 of 25/12.
        #expect(cumulative.map { ($0 * 25).rounded() } == [12, 18, 22, 25])
        #expect(cumulative.last == 1)
        #expect(ProductPopularity.rank(cumulative, 0) == 0)
        #expect(ProductPopularity.rank(cumulative, 0.47) == 0)
        #expect(ProductPopularity.rank(cumulative, 0.49) == 1)
        #expect(ProductPopularity.rank(cumulative, 0.999_999) == 3)
    }
}
