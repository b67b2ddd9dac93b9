/// Reviews edited while the sandbox runs (a reviewer changes text, the owner replies): the
/// generated review with a later `updateTime`. Google lists reviews `updateTime desc` by
/// default, so an edited review moves to the front of its location's listing, which is what
/// lets a client read newest-first and stop at the last review it already has.
struct GoogleReviewOverlay: Sendable {
    struct Edit: Sendable {
        var updated: Int64
        var revision: Int
    }

    /// location index → review index → its latest edit.
    private(set) var edits: [Int: [Int: Edit]] = [:]

    mutating func edit(location: Int, review: Int, at time: Int64) {
        let revision = (edits[location]?[review]?.revision ?? 0) + 1
        edits[location, default: [:]][review] = Edit(updated: time, revision: revision)
    }

    /// Review indices of a location in `updateTime desc` order: edited reviews (newest edit
    /// first; every edit is later than every generated review) then the rest in generated
    /// order, which is already newest first.
    func newestFirst(location: Int, count: Int) -> [Int]? {
        guard let mine = edits[location], !mine.isEmpty else { return nil }
        let edited = mine.filter { $0.key < count }.sorted { ($0.value.updated, $1.key) > ($1.value.updated, $0.key) }.map(\.key)
        let set = Set(edited)
        return edited + (0..<count).filter { !set.contains($0) }
    }
}
