extension CampaignTask {
    /// Where the task's state is, in bytes (`rekindle bench state` prints it beside the resident
    /// growth it measures). Parts indented are details of the part above them; an arena's capacity
    /// past its written bytes is reserved and not resident. Heap parts are estimated as glibc's
    /// malloc takes them (`heapBytes`).
    public var footprint: [(part: String, bytes: Int)] {
        let customers = core.customers.footprint
        let rises = families.frequency.lastRise
        func arena(_ name: String, _ f: ArenaFootprint) -> [(part: String, bytes: Int)] {
            [
                ("\(name) records (arena written)", f.written), ("  of which live records", f.live),
                ("  of which moved away", f.garbage), ("  reserved past them, not resident", f.reserved),
                ("\(name) slots", f.slots), ("\(name) decode cache", f.cache),
            ]
        }
        return arena("customer", customers.arena) + [("customer index", customers.index)]
            + arena("views family", families.views.states.footprint) + [
                ("frequency family last rises", rises.heapBytes + rises.reduce(0) { $0 + $1.heapBytes }),
                ("engagement and vip flags", families.engagement.cold.heapBytes + families.vip.entered.heapBytes),
                ("churn family due days", families.churn.due.heapBytes),
                ("timers", timers.footprint),
            ]
    }
}
