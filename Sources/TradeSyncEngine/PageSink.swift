import TradeSyncCore
import TradeSyncStore

/// Where a stream's pages go, chosen once per run. A run applies each page's plan in one
/// transaction fenced by its lease; a dry run only computes the plan, through a store view whose
/// type cannot write. The page loop is the same for both.
protocol PageSink: Sendable {
    /// What the stream reads back: its cursor, its kept failures.
    var records: any RecordReader { get }
    /// Plans the page against the stored rows and, unless this is a dry run, applies it.
    func commit(_ page: PageWrite) async throws -> PageOutcome
    /// `commit` for a page whose external ids the previous page (still committing) does not
    /// touch: it commits only after `previous` returns (see `RecordWriter.applyPage(_:after:)`).
    func commit(_ page: PageWrite, after previous: @escaping @Sendable () async throws -> Void) async throws -> PageOutcome
    /// Whether `commit(_:after:)` overlaps two pages' writes.
    var overlapsCommits: Bool { get }
    /// Soft-deletes a stream's deletions, unless this is a dry run; returns how many rows that marks.
    func commitDeletions(_ write: DeletionWrite) async throws -> Int
}

/// A real run: every page is planned and applied in one transaction, fenced by the run lease.
struct AppliedPages: PageSink {
    let writer: any RecordWriter
    let fence: LeaseFence
    var records: any RecordReader { writer }

    func commit(_ page: PageWrite) async throws -> PageOutcome {
        var page = page
        page.fence = fence
        return try await writer.applyPage(page)
    }

    func commit(_ page: PageWrite, after previous: @escaping @Sendable () async throws -> Void) async throws -> PageOutcome {
        var page = page
        page.fence = fence
        return try await writer.applyPage(page, after: previous)
    }

    var overlapsCommits: Bool { writer.overlapsPageWrites }

    func commitDeletions(_ write: DeletionWrite) async throws -> Int {
        var write = write
        write.fence = fence
        return try await writer.applyDeletions(write)
    }
}

/// A dry run: the same plans, never applied.
struct PlannedPages: PageSink {
    let records: any RecordReader

    func commit(_ page: PageWrite) async throws -> PageOutcome {
        try await records.plan(page).outcome
    }

    func commit(_ page: PageWrite, after previous: @escaping @Sendable () async throws -> Void) async throws -> PageOutcome {
        try await previous()
        return try await commit(page)
    }

    var overlapsCommits: Bool { false }

    /// The engine passes only ids of live rows, so each would be marked.
    func commitDeletions(_ write: DeletionWrite) async throws -> Int { Set(write.externalIds).count }
}
