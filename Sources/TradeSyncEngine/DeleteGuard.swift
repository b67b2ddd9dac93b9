/// The guard in front of soft deletes: a provider glitch (an empty listing, a CDC answer that
/// reports most records deleted) must not wipe a contractor's data. A run whose deletions
/// exceed the stream's `max_delete_ratio` of its stored rows applies none of them — holding
/// back only some would leave an arbitrary half of a bad batch applied — and its deletions'
/// cursor stays put, so the next run sees the same deletions again.
struct DeleteGuard: Sendable, Equatable {
    /// External ids the run would soft-delete (already deleted rows are not counted again).
    var wouldDelete: Int
    /// The stream's stored rows, deleted ones excluded.
    var storedRows: Int
    var maxRatio: Double

    /// True when every deletion may be applied. With no stored rows there is nothing to
    /// protect and nothing to delete.
    var allows: Bool {
        guard wouldDelete > 0 else { return true }
        guard storedRows > 0 else { return true }
        return Double(wouldDelete) <= maxRatio * Double(storedRows)
    }

    /// The run's error when the deletions are held back: the counts and the limit, so an
    /// operator can tell a glitch from a real clean-up and raise the limit for the latter.
    var heldBackReason: String {
        "deletes held back: would delete \(wouldDelete) of \(storedRows) rows, "
            + "above max_delete_ratio \(Self.format(maxRatio)); nothing was deleted"
    }

    static func format(_ ratio: Double) -> String {
        var text = String(ratio)
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }
}
