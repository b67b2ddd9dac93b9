// A value the store reads and writes, and the engine and commands show: it lives in Core so
// that neither needs the store module to name it.

/// A stored entity row: declared fields by name (as canonical text) plus bookkeeping.
public struct StoredRow: Sendable, Equatable {
    public var id: String
    public var sourceHash: String
    public var values: [String: String?]

    public init(id: String, sourceHash: String, values: [String: String?]) {
        self.id = id
        self.sourceHash = sourceHash
        self.values = values
    }
}
