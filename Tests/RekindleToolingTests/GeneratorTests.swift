import Foundation
import RekindleCore
import RekindleRuntime
import RekindleTooling
import Testing

@Suite struct GeneratorTests {
    static func lines(customers: Int = 300, days: Int = 60, seed: UInt64 = 1, bad: Double = 0)
        -> [String]
    {
        var options = GeneratorOptions()
        options.customers = customers
        options.days = days
        options.seed = seed
        options.badFraction = bad
        var out = [String]()
        SyntheticStream.generate(options) { out.append($0) }
        return out
    }

    static let required: [String: [String]] = [
        "order": ["event_id", "customer_id", "order_id", "status", "occurred_at"],
        "product_view": ["event_id", "customer_id", "product_id", "occurred_at"],
        "email_open": ["event_id", "customer_id", "message_id", "occurred_at"],
        "email_click": ["event_id", "customer_id", "message_id", "occurred_at"],
    ]
    static let statuses: Set<String> = ["created", "paid", "completed", "cancelled", "returned"]

    /// The line as an event object if it is a good input by spec section 2, else nil.
    static func goodEvent(_ line: String) -> [String: Any]? {
        guard let data = line.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let type = object["type"] as? String, let fields = required[type]
        else { return nil }
        for field in fields where !(object[field] is String) { return nil }
        guard let at = object["occurred_at"] as? String, Timestamp.parse(at) != nil else {
            return nil
        }
        if type == "order" {
            guard let status = object["status"] as? String, statuses.contains(status),
                !(object["total"] is String), object["total"] as? Double != nil
            else { return nil }
        }
        return object
    }

    static func kopecks(_ value: Any?) -> Int? {
        guard let money = value as? Double else { return nil }
        let scaled = (money * 100).rounded()
        return abs(money * 100 - scaled) < 1e-6 ? Int(scaled) : nil
    }

    @Test func sameSeedGivesTheSameLines() {
        let first = Self.lines(bad: 0.02)
        #expect(first.count > 1000)
        #expect(first == Self.lines(bad: 0.02))
    }

    @Test func differentSeedsDiffer() {
        #expect(Self.lines(seed: 1) != Self.lines(seed: 2))
    }

    @Test func linesAreInOccurredAtOrderExceptRedeliveries() throws {
        var previous = Int64.min
        var seen: [String: String] = [:]
        var redelivered = 0
        for line in Self.lines(customers: 1000, days: 90) {
            let event = try #require(Self.goodEvent(line), "\(line)")
            let id = try #require(event["event_id"] as? String)
            if let original = seen[id] {
                // A re-delivery repeats an earlier line exactly, a little later in the stream.
                #expect(original == line)
                redelivered += 1
                continue
            }
            seen[id] = line
            let at = try #require(Timestamp.parse(event["occurred_at"] as! String))
            #expect(at >= previous, "\(line)")
            previous = at
        }
        #expect(redelivered > 0)
    }

    @Test func everyLineIsAGoodEventWithoutBadFraction() throws {
        let start = GeneratorOptions().start
        let end = start + 60 * millisPerDay
        for line in Self.lines() {
            #expect(!line.contains("\n"))
            let event = try #require(Self.goodEvent(line), "\(line)")
            let at = Timestamp.parse(event["occurred_at"] as! String)!
            #expect(at >= start && at < end)
            #expect(line.utf8.allSatisfy { $0 < 0x80 })
            if event["type"] as? String == "order" {
                let items = try #require(event["items"] as? [[String: Any]])
                var sum = 0
                for item in items {
                    let price = try #require(Self.kopecks(item["price"]), "\(line)")
                    let quantity = try #require(item["quantity"] as? Int)
                    #expect(item["product_id"] is String)
                    sum += price * quantity
                }
                #expect(Self.kopecks(event["total"]) == sum, "\(line)")
                #expect(event["currency"] as? String == "RUB")
            }
        }
    }

    @Test func theMixHasEveryKindStatusAndForm() {
        var types = Set<String>()
        var statuses = Set<String>()
        var vipCards = 0
        var clickURLs = 0
        var moscow = 0
        var wholeSeconds = 0
        for line in Self.lines() {
            guard let event = Self.goodEvent(line) else { continue }
            types.insert(event["type"] as! String)
            if let status = event["status"] as? String { statuses.insert(status) }
            if event["loyalty_tier"] as? String == "vip" { vipCards += 1 }
            if event["url"] is String { clickURLs += 1 }
            let at = event["occurred_at"] as! String
            if at.hasSuffix("+03:00") { moscow += 1 }
            if !at.contains(".") { wholeSeconds += 1 }
        }
        #expect(types == Set(Self.required.keys))
        #expect(statuses == Self.statuses)
        #expect(vipCards > 0)
        #expect(clickURLs > 0)
        #expect(moscow > 0)
        #expect(wholeSeconds > 0)
    }

    /// The default stream has customers for the rule families that need a history to fire.
    @Test func theDefaultMixExercisesTheRuleFamilies() throws {
        var orders: [String: [(at: Int64, order: String, status: String, total: Double)]] = [:]
        var signals: [String: [Int64]] = [:]
        var seen = Set<String>()
        for line in Self.lines(customers: 2000, days: 120) {
            let event = try #require(Self.goodEvent(line))
            guard seen.insert(event["event_id"] as! String).inserted else { continue }
            let customer = event["customer_id"] as! String
            let at = Timestamp.parse(event["occurred_at"] as! String)!
            signals[customer, default: []].append(at)
            if let status = event["status"] as? String {
                orders[customer, default: []].append(
                    (at, event["order_id"] as! String, status, event["total"] as! Double))
            }
        }
        var rise = 0
        var vip = 0
        var lapsed = 0
        for (_, events) in orders {
            var current: [String: String] = [:]
            var purchases: [(at: Int64, order: String, total: Double)] = []
            for e in events where current[e.order] != e.status {
                if current[e.order] == "completed" { purchases.removeAll { $0.order == e.order } }
                current[e.order] = e.status
                if e.status == "completed" { purchases.append((e.at, e.order, e.total)) }
            }
            let times = purchases.map(\.at).sorted()
            if times.contains(where: { t in
                times.filter { $0 > t - 30 * millisPerDay && $0 <= t }.count > 5
            }) {
                rise += 1
            }
            if times.count >= 5 && purchases.reduce(0, { $0 + $1.total }) >= 20_000 { vip += 1 }
            if times.count >= 3, let last = times.last,
                GeneratorOptions().start + 120 * millisPerDay - last > 90 * millisPerDay
            {
                lapsed += 1
            }
        }
        let rewarmed = signals.values.filter { s in
            zip(s, s.dropFirst()).contains { $1 - $0 > 30 * millisPerDay }
        }.count
        let prospects = signals.count - orders.count
        #expect(rise >= 5)  // frequency.rise
        #expect(vip >= 5)  // vip.entered
        #expect(lapsed >= 5)  // rf.at_risk/lost, frequency.fall, reanimation
        #expect(rewarmed >= 20)  // engagement.cooled, engagement.rewarmed
        #expect(prospects >= 100)  // stage.prospect, view.abandoned
    }

    @Test func badFractionIsTheShareOfBadLines() {
        let lines = Self.lines(customers: 1000, bad: 0.05)
        let bad = lines.filter { Self.goodEvent($0) == nil }.count
        let share = Double(bad) / Double(lines.count)
        #expect(share > 0.04 && share < 0.06, "share \(share)")
        #expect(lines.allSatisfy { !$0.isEmpty && !$0.contains("\n") })
    }
}
