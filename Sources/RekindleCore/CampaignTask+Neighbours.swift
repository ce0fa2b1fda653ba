extension CampaignTask {
    /// For each product seen, how many products it co-occurs with and how often it occurred: the
    /// work exact scoring does per seed, which `families.views.max_neighbours` bounds (spec 3.6).
    public var neighbourLists: [(neighbours: Int, occurrences: Int)] {
        zip(core.model.neighbors, core.model.counts).map { ($0.ids.count, Int($1)) }
    }

    /// How many times recommendations were scored, and the neighbours walked doing it.
    public var recommendationWork: (scorings: Int, neighbours: Int) { (core.model.scoring.calls, core.model.scoring.neighbours) }
}
