/// The snapshot sections of what happens to touches after they are decided (spec 7): the count of
/// withheld touches, the experiment ledger (each customer's first touch of each rule and its
/// outcome), the pressure ledger (each customer's recently sent touches, for the caps) and the
/// consent ledger. Each is
/// written only when there is something in it or the rules use it, so a task without experiments
/// or a policy writes the snapshot it always did.
extension CampaignTask {
    static let withheldSection = "withheld"
    static let outcomeSections = [withheldSection, ExperimentLedger.section, PressureLedger.section, ConsentLedger.section]

    func encodeOutcomeSections(_ sections: inout EncodeSections) {
        if stats.withheld > 0 || experiments != nil || pressure != nil {
            sections.add(Self.withheldSection, 1) { $0.int(stats.withheld) }
        }
        if let experiments, let name = rules.experiments?.name {
            sections.add(ExperimentLedger.section, ExperimentLedger.sectionVersion) { experiments.encode(&$0, experiment: name) }
        }
        if let pressure {
            sections.add(PressureLedger.section, PressureLedger.sectionVersion) { pressure.encode(&$0) }
        }
        if !consents.isEmpty {
            sections.add(ConsentLedger.section, ConsentLedger.sectionVersion) { consents.encode(&$0) }
        }
    }

    /// Reads the sections; returns notes for the runtime's log (a ledger the rules no longer use,
    /// or one they use that the snapshot lacks).
    mutating func restoreOutcomeSections(
        _ sections: [String: (version: UInt64, bytes: ArraySlice<UInt8>)], remap: RuleRemap
    ) throws(SnapshotError) -> [String] {
        var notes: [String] = []
        func reader(_ name: String, _ version: UInt64) throws(SnapshotError) -> ByteReader? {
            guard let s = sections[name] else { return nil }
            guard s.version <= version else {
                throw SnapshotError("section \(name) version \(s.version), this build reads 1 to \(version)")
            }
            return ByteReader(Array(s.bytes))
        }
        func finish(_ r: ByteReader, _ name: String) throws(SnapshotError) {
            guard r.atEnd else { throw SnapshotError("section \(name): \(r.bytes.count - r.i) unexpected bytes") }
        }
        if var r = try reader(Self.withheldSection, 1) {
            stats.withheld = Int(try r.int())
            try finish(r, Self.withheldSection)
        }

        let experimentName = ExperimentLedger.section
        if var r = try reader(experimentName, ExperimentLedger.sectionVersion) {
            if let experiment = rules.experiments {
                let ledger = try ExperimentLedger.decode(
                    &r, experiment: experiment.name, rules: rules.rules.count, customers: core.customers.count, remap: remap)
                try finish(r, experimentName)
                if let ledger { experiments = ledger } else { notes.append("section \(experimentName): another experiment's groups, lift is counted from now on") }
            } else {
                notes.append("section \(experimentName): the rules have no experiments now, dropped")
            }
        } else if rules.experiments != nil {
            notes.append("section \(experimentName): not in the snapshot, lift is counted from now on")
        }

        let policyName = PressureLedger.section
        if var r = try reader(policyName, PressureLedger.sectionVersion) {
            let ledger = try PressureLedger.decode(&r, customers: core.customers.count)
            try finish(r, policyName)
            if rules.policy != nil { pressure = ledger } else { notes.append("section \(policyName): the rules have no policy now, dropped") }
        } else if rules.policy != nil {
            notes.append("section \(policyName): not in the snapshot, caps count touches sent from now on")
        }
        if var r = try reader(ConsentLedger.section, ConsentLedger.sectionVersion) {
            consents = try ConsentLedger.decode(&r, customers: core.customers.count)
            try finish(r, ConsentLedger.section)
        }
        return notes
    }
}
