/// The registry of rule families: one stored property and one line in each of `compile`, `visit`
/// and `read` per family. Their order is the order of their fields in the trigger's `customer`
/// block and the customer view, and of their sections in a snapshot.
struct Families: Sendable {
    var rf: RFFamily
    var reanimation: ReanimationFamily
    var stage: StageFamily
    var engagement: EngagementFamily
    var vip: VIPFamily
    var views: ViewsFamily
    var frequency: FrequencyFamily
    var churn: ChurnFamily

    static let types: [any RuleFamily.Type] = [
        RFFamily.self, ReanimationFamily.self, StageFamily.self, EngagementFamily.self, VIPFamily.self,
        ViewsFamily.self, FrequencyFamily.self, ChurnFamily.self,
    ]

    init(compiling c: inout FamilyCompiler) throws(RuleError) {
        rf = try c.compile()
        reanimation = try c.compile()
        stage = try c.compile()
        engagement = try c.compile()
        vip = try c.compile()
        views = try c.compile()
        frequency = try c.compile()
        churn = try c.compile()
    }

    /// Calls `v.visit` on every family, in registry order.
    @inline(__always)
    mutating func visitAll<V: FamilyVisitor>(_ v: inout V, _ context: inout V.Context) {
        for i in Self.types.indices { visit(i, &v, &context) }
    }

    /// Calls `v.read` on every family, in registry order.
    @inline(__always)
    func readAll<V: FamilyReader>(_ v: inout V, _ context: V.Context) {
        for i in Self.types.indices { read(i, &v, context) }
    }

    /// Calls `v.visit` on family `i` (its place in `types`).
    @inline(__always)
    mutating func visit<V: FamilyVisitor>(_ i: Int, _ v: inout V, _ context: inout V.Context) {
        switch i {
        case 0: v.visit(&rf, &context)
        case 1: v.visit(&reanimation, &context)
        case 2: v.visit(&stage, &context)
        case 3: v.visit(&engagement, &context)
        case 4: v.visit(&vip, &context)
        case 5: v.visit(&views, &context)
        case 6: v.visit(&frequency, &context)
        default: v.visit(&churn, &context)
        }
    }

    /// Calls `v.read` on family `i`.
    @inline(__always)
    func read<V: FamilyReader>(_ i: Int, _ v: inout V, _ context: V.Context) {
        switch i {
        case 0: v.read(rf, context)
        case 1: v.read(reanimation, context)
        case 2: v.read(stage, context)
        case 3: v.read(engagement, context)
        case 4: v.read(vip, context)
        case 5: v.read(views, context)
        case 6: v.read(frequency, context)
        default: v.read(churn, context)
        }
    }
}

/// An operation on a family that may change it and its context (the task's core, mostly).
protocol FamilyVisitor {
    associatedtype Context
    mutating func visit<F: RuleFamily>(_ family: inout F, _ context: inout Context)
}

/// An operation that reads a family.
protocol FamilyReader {
    associatedtype Context
    mutating func read<F: RuleFamily>(_ family: F, _ context: Context)
}
