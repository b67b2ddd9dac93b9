/// The injected fault rules and how far each has got.
struct FaultBook: Sendable {
    private struct Entry: Sendable {
        var rule: FaultRule
        var matched = 0
        var fired = 0
    }

    private var entries: [Entry] = []

    mutating func add(_ rule: FaultRule) { entries.append(Entry(rule: rule)) }

    mutating func clear() { entries.removeAll() }

    /// Counts the request against every rule whose path matches and returns the fault of the
    /// first rule that is due (every matching rule still counts the request).
    mutating func fault(forPath path: String) -> SandboxFault? {
        var chosen: SandboxFault?
        for i in entries.indices where path.contains(entries[i].rule.pathContains) || entries[i].rule.pathContains.isEmpty {
            let ordinal = entries[i].matched
            entries[i].matched += 1
            if chosen == nil, ordinal >= entries[i].rule.afterMatching, entries[i].fired < entries[i].rule.times {
                entries[i].fired += 1
                chosen = entries[i].rule.fault
            }
        }
        entries.removeAll { $0.fired >= $0.rule.times }
        return chosen
    }
}
