import RekindleCore
/// The shop's products, grouped in categories with their own price ranges, so that products
/// viewed and bought together cluster by category and an item-to-item recommender learns something.
struct ProductCatalog: Sendable {
    struct Category: Sendable {
        let name: String
        /// Price range in whole roubles.
        let minPrice: Int64
        let maxPrice: Int64
        /// A category often bought alongside (shoes with accessories, jeans with tops).
        let complement: Int
    }

    static let categories: [Category] = [
        Category(name: "shoes", minPrice: 1990, maxPrice: 14990, complement: 6),
        Category(name: "outerwear", minPrice: 3990, maxPrice: 29990, complement: 6),
        Category(name: "dresses", minPrice: 1490, maxPrice: 9990, complement: 5),
        Category(name: "jeans", minPrice: 1990, maxPrice: 7990, complement: 4),
        Category(name: "tops", minPrice: 590, maxPrice: 3490, complement: 3),
        Category(name: "bags", minPrice: 1490, maxPrice: 19990, complement: 2),
        Category(name: "accessories", minPrice: 290, maxPrice: 4990, complement: 0),
        Category(name: "sportswear", minPrice: 990, maxPrice: 8990, complement: 0),
        Category(name: "kids", minPrice: 390, maxPrice: 4990, complement: 9),
        Category(name: "home", minPrice: 290, maxPrice: 6990, complement: 10),
        Category(name: "beauty", minPrice: 190, maxPrice: 3990, complement: 6),
        Category(name: "electronics", minPrice: 990, maxPrice: 49990, complement: 6),
    ]

    /// Categories whose baskets are large, for high spenders.
    static let premiumCategories = [0, 1, 5, 11]

    /// Price of product number `i + 1`, in kopecks.
    let prices: [Int64]
    /// Category of product number `i + 1`.
    let categoryOfProduct: [Int]
    /// Product numbers (1-based) of each category, most popular first.
    let productsOfCategory: [[UInt32]]

    var categoryCount: Int { productsOfCategory.count }

    let popularity: ProductPopularity
    /// Zipf only: cumulative weights of each category's products, and of the whole catalogue.
    private var categoryZipf: [[Double]] = []
    private var catalogueZipf: [Double] = []

    init(products: Int, seed: UInt64, popularity: ProductPopularity = .category) {
        let count = max(1, products)
        let categoryCount = min(Self.categories.count, count)
        var rng = SplitMix64(seed: seed, stream: 0xCA7A_1065)
        var prices = [Int64]()
        var categoryOfProduct = [Int]()
        var productsOfCategory = [[UInt32]](repeating: [], count: categoryCount)
        prices.reserveCapacity(count)
        categoryOfProduct.reserveCapacity(count)
        for i in 0..<count {
            let c = i % categoryCount
            let category = Self.categories[c]
            // A skew toward the cheap end, as in a real assortment.
            let u = rng.unit()
            var roubles =
                category.minPrice + Int64(Double(category.maxPrice - category.minPrice) * u * u)
            roubles = max(100, roubles / 100 * 100 - 10)  // 2990, 1490, ...
            let kopecks: Int64
            switch rng.below(10) {
            case 0: kopecks = 99  // 2989.99
            case 1: kopecks = 50  // 2989.5
            default: kopecks = 0
            }
            prices.append(kopecks == 0 ? roubles * 100 : (roubles - 1) * 100 + kopecks)
            categoryOfProduct.append(c)
            productsOfCategory[c].append(UInt32(i + 1))
        }
        self.prices = prices
        self.categoryOfProduct = categoryOfProduct
        self.productsOfCategory = productsOfCategory
        self.popularity = popularity
        if case .zipf(let s) = popularity {
            categoryZipf = productsOfCategory.map { ProductPopularity.zipfCumulative($0.count, exponent: s) }
            catalogueZipf = ProductPopularity.zipfCumulative(count, exponent: s)
        }
    }

    func price(_ product: UInt32) -> Int64 { prices[Int(product) - 1] }

    func categoryName(_ product: UInt32) -> String {
        Self.categories[categoryOfProduct[Int(product) - 1]].name
    }

    func complement(of category: Int) -> Int {
        let c = Self.categories[category].complement
        return c < categoryCount ? c : category
    }

    /// A product of `category`, popular ones far more often (rank ~ u^2); by Zipf's law, and
    /// sometimes from the whole catalogue, with `.zipf` popularity.
    func pick(in category: Int, _ rng: inout SplitMix64) -> UInt32 {
        let products = productsOfCategory[category]
        if case .zipf = popularity {
            if rng.chance(ProductPopularity.bestsellerShare) {
                return UInt32(ProductPopularity.rank(catalogueZipf, rng.unit()) + 1)
            }
            return products[ProductPopularity.rank(categoryZipf[category], rng.unit())]
        }
        let u = rng.unit()
        return products[min(products.count - 1, Int(Double(products.count) * u * u))]
    }
}
