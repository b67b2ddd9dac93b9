import TradeSyncCore

/// A schedule group's place in the scheduler's queue (`tradesync_schedule`).
public struct ScheduleEntry: Sendable, Equatable {
    public var integrationId: String
    /// The group: `*` (the connection's frequency; "sync now" runs here), or the sorted names
    /// of the streams that share another frequency, joined with commas.
    public var streams: String
    /// The integration type: per-provider concurrency caps count claims by it.
    public var provider: String
    /// The frequency the due time was computed from (`hourly`, `every 15m`, …).
    public var frequency: String
    /// When the next scheduled run is due; nil when only a request runs it (`manual`).
    public var nextDueAtMicros: Int64?
    /// A run asked for now ("sync now"); nil when none is queued.
    public var requestedAtMicros: Int64?
    /// Failed runs in a row (reset by a run that succeeds).
    public var attempts: Int
    public var lastOutcome: String?
    public var claimedBy: String?
    public var claimExpiresAtMicros: Int64?

    public init(integrationId: String, streams: String = "*", provider: String, frequency: String, nextDueAtMicros: Int64?,
                requestedAtMicros: Int64? = nil, attempts: Int = 0, lastOutcome: String? = nil, claimedBy: String? = nil,
                claimExpiresAtMicros: Int64? = nil) {
        self.integrationId = integrationId
        self.streams = streams
        self.provider = provider
        self.frequency = frequency
        self.nextDueAtMicros = nextDueAtMicros
        self.requestedAtMicros = requestedAtMicros
        self.attempts = attempts
        self.lastOutcome = lastOutcome
        self.claimedBy = claimedBy
        self.claimExpiresAtMicros = claimExpiresAtMicros
    }
}

/// A due run one worker took: nobody else claims the connection until the claim is completed,
/// released, or expires (its worker died without renewing it).
public struct RunClaim: Sendable, Equatable {
    public var integrationId: String
    /// The schedule group (`ScheduleEntry.streams`).
    public var streams: String
    public var provider: String
    public var frequency: String
    public var attempts: Int
    /// Asked for by "sync now" rather than due by the schedule (the run log's `sync_type`).
    public var requested: Bool
    public var claimedAtMicros: Int64
    /// The worker whose expired claim this one replaces, if any.
    public var takenOverFrom: String?
}

/// What a finished run leaves in the queue.
public struct RunCompletion: Sendable, Equatable {
    /// The next scheduled run; nil for none (a `manual` connection).
    public var nextDueAtMicros: Int64?
    /// Failed runs in a row after this one.
    public var attempts: Int
    /// `success`, `failed`, `deferred`, … (shown, not interpreted).
    public var outcome: String

    public init(nextDueAtMicros: Int64?, attempts: Int, outcome: String) {
        self.nextDueAtMicros = nextDueAtMicros
        self.attempts = attempts
        self.outcome = outcome
    }
}

/// The queue at one instant: runs due and unclaimed, and runs claimed.
public struct QueueStats: Sendable, Equatable {
    public var due: Int
    public var running: Int
    /// When the oldest due, unclaimed run became due.
    public var oldestDueAtMicros: Int64?
}

/// The scheduler's queue in the store (no Redis): due times, "sync now" requests and worker
/// claims. Every time is passed in by the caller (µs since the epoch), so a test can move the
/// clock. On PostgreSQL, workers in many processes claim with `FOR UPDATE SKIP LOCKED`.
public protocol RunQueue: Sendable {
    /// Adds each group that is not queued yet, and resets the due time of one whose
    /// frequency changed; leaves the others (and their due times) as they are.
    func schedule(_ entries: [ScheduleEntry]) async throws
    /// Takes a group out of the queue (its streams went back to the connection's frequency).
    func unschedule(integrationId: String, streams: String) async throws
    /// Every queued group.
    func scheduleEntries() async throws -> [ScheduleEntry]
    /// Queues a run of every stream now, on the connection's `*` group. False when one is
    /// already queued (the request is de-duplicated).
    func requestRun(integrationId: String, provider: String, frequency: String, now: Int64) async throws -> Bool
    /// Claims the most overdue run that is due at `now` and not claimed (or whose claim expired),
    /// skipping providers whose claims reach their cap in `caps` (provider → concurrent runs)
    /// and connections with another group claimed (their run lease is taken).
    func claimNextRun(worker: String, now: Int64, claimSeconds: Int, caps: [String: Int]) async throws -> RunClaim?
    /// Extends a claim; false when the worker no longer holds it.
    func renewClaim(integrationId: String, streams: String, worker: String, now: Int64, claimSeconds: Int) async throws -> Bool
    /// Ends a claim with the run's outcome and the next due time. A request made while the run
    /// was running stays queued.
    func completeRun(integrationId: String, streams: String, worker: String, completion: RunCompletion, now: Int64) async throws
    /// Gives a claim back unchanged (the worker is stopping): the run stays due.
    func releaseClaim(integrationId: String, streams: String, worker: String) async throws
    func queueStats(now: Int64) async throws -> QueueStats
}
