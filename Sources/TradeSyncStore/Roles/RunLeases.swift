import TradeSyncCore

/// The leases that keep processes apart: one run per connection at a time (the run lease),
/// and one credential refresh per connection at a time (the credential lease). Expiry is in
/// µs of the callers' clock, so a dead holder's lease frees itself.
public protocol RunLeases: Sendable {
    /// Takes the connection's run lease if it is free, expired, already ours, or held by
    /// `takeOverFrom` (a holder known to be dead).
    func acquireLease(integrationId: String, holder: String, ttlSeconds: Int, takeOverFrom: String?) async throws -> Bool
    /// The current lease holder, if any.
    func leaseHolder(integrationId: String) async throws -> String?
    func releaseLease(integrationId: String, holder: String) async throws
    /// Marks runs still `running` as failed: called by the lease holder, so they are stale
    /// (their process died).
    func markInterruptedRuns(integrationId: String) async throws -> Int

    /// Takes the short lease that serialises credential refreshes of one connection across
    /// processes: free, expired or already ours.
    func acquireCredentialLease(integrationId: String, holder: String, ttlSeconds: Int) async throws -> Bool
    func releaseCredentialLease(integrationId: String, holder: String) async throws
}
