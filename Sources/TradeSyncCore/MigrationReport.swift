// A value the store reads and writes, and the engine and commands show: it lives in Core so
// that neither needs the store module to name it.

/// What a migration changed in a store.
public struct MigrationReport: Sendable, Equatable {
    /// Versioned base migrations applied by this call.
    public var appliedVersions: [Int] = []
    public var createdTables: [String] = []
    /// `table.column` for each column added because the model gained a field.
    public var addedColumns: [String] = []
    public var isNoOp: Bool { appliedVersions.isEmpty && createdTables.isEmpty && addedColumns.isEmpty }
    public init() {}
}
