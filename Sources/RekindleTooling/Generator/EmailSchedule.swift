/// The shop's mailings over the window: every subscriber receives each send, and opens or
/// clicks some of them (the sends themselves are not events).
struct EmailSchedule: Sendable {
    struct Campaign: Sendable {
        let name: String
        /// First send after the start of the stream, and the period between sends.
        let firstAfter: Int64
        let period: Int64
    }

    struct Send: Sendable {
        let time: Int64
        let campaign: Int
    }

    private static let hour: Int64 = 3_600_000
    private static let day: Int64 = 86_400_000

    static let campaigns: [Campaign] = [
        // Sent at 10:00 and 18:00 Moscow time.
        Campaign(name: "weekly", firstAfter: 2 * day + 7 * hour, period: 7 * day),
        Campaign(name: "promo", firstAfter: 5 * day + 15 * hour, period: 14 * day),
        Campaign(name: "sale", firstAfter: 12 * day + 7 * hour, period: 30 * day),
    ]

    /// Every send in `[start, end)`, in time order.
    let sends: [Send]

    init(start: Int64, end: Int64) {
        var sends = [Send]()
        for (index, campaign) in Self.campaigns.enumerated() {
            var t = start + campaign.firstAfter
            while t < end {
                sends.append(Send(time: t, campaign: index))
                t += campaign.period
            }
        }
        sends.sort { $0.time != $1.time ? $0.time < $1.time : $0.campaign < $1.campaign }
        self.sends = sends
    }
}
