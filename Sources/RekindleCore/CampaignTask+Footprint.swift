extension CampaignTask {
    /// Where the task's state is, in bytes (`rekindle bench state` prints it beside the resident
    /// growth it measures).
    public var footprint: [(part: String, bytes: Int)] {
        let s = core.customers.footprint
        return [
            ("customer records (arena capacity)", s.arena), ("  of which live records", s.live),
            ("  of which moved away", s.garbage), ("customer slots", s.slots), ("customer index", s.index),
            ("views family records (arena capacity)", families.views.states.footprint.capacity),
            ("  of which live records", families.views.states.footprint.live),
            ("views family slots", families.views.states.footprint.slots),
            ("churn family due days", families.churn.due.capacity * MemoryLayout<Int32>.stride),
            ("timers", timers.footprint),
        ]
    }
}
