// A value the store reads and writes, and the engine and commands show: it lives in Core so
// that neither needs the store module to name it.

/// Where a connection stands: `pending` until its first sync (or authorisation).
public enum ConnectionStatus: String, Sendable, CaseIterable {
    case pending, connected, disconnected, error
    case needsReauth = "needs_reauth"
}
