// A value the store reads and writes, and the engine and commands show: it lives in Core so
// that neither needs the store module to name it.

/// How a sync run ended (`running` while it runs, or when its process died).
public enum SyncRunStatus: String, Sendable, CaseIterable {
    case running, success, partial, failed, deferred
}
