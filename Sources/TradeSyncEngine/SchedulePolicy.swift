public import TradeSyncConfig
import TradeSyncCore
import TradeSyncStore

/// The clock the scheduler and workers read (µs since the epoch): the system's, or a test's.
public struct SchedulerClock: Sendable {
    public var now: @Sendable () -> Int64

    public init(now: @escaping @Sendable () -> Int64) { self.now = now }

    public static let system = SchedulerClock { currentMicros() }
}

/// The knobs of scheduling that are not configuration: how long claims live, how often the
/// loops look at the queue, how far due times are spread. Tests shorten them.
public struct SchedulerSettings: Sendable {
    /// A claim expires this long after its last heartbeat (a dead worker's run is taken over then).
    public var claimSeconds: Int
    /// How long an idle worker waits before it looks at the queue again.
    public var pollMilliseconds: Int
    /// How often the scheduler adds new connections to the queue and records the queue's gauges.
    public var scheduleMilliseconds: Int
    /// The first retry of a failed run waits this long; each further one twice as long.
    public var backoffBaseSeconds: Int
    public var backoffMaxSeconds: Int
    /// A run whose connection another process is running waits this long.
    public var busyRetrySeconds: Int
    /// Jitter, in seconds, for a frequency whose largest jitter is the argument.
    public var jitter: @Sendable (_ maxSeconds: Int) -> Int
    public var clock: SchedulerClock

    public init(claimSeconds: Int = 30, pollMilliseconds: Int = 1000, scheduleMilliseconds: Int = 5000,
                backoffBaseSeconds: Int = 60, backoffMaxSeconds: Int = 3600, busyRetrySeconds: Int = 30,
                jitter: @escaping @Sendable (Int) -> Int = { $0 > 0 ? Int.random(in: 0...$0) : 0 },
                clock: SchedulerClock = .system) {
        self.claimSeconds = max(1, claimSeconds)
        self.pollMilliseconds = max(1, pollMilliseconds)
        self.scheduleMilliseconds = max(1, scheduleMilliseconds)
        self.backoffBaseSeconds = backoffBaseSeconds
        self.backoffMaxSeconds = backoffMaxSeconds
        self.busyRetrySeconds = busyRetrySeconds
        self.jitter = jitter
        self.clock = clock
    }
}

/// When runs are due: from a connection's frequency, with jitter; after a failure, with
/// exponential backoff up to the integration's `max_attempts`. Pure: times in, times out.
struct SchedulePolicy: Sendable {
    let project: Project
    let settings: SchedulerSettings

    static let micros: Int64 = 1_000_000

    /// The first due time of a connection new to the queue: now when it never synced or its
    /// next run is already past (a missed run runs once, now), else its next run after the last.
    func firstDue(_ frequency: SyncFrequency, lastSyncedAt: Int64?, now: Int64) -> Int64? {
        guard let lastSyncedAt else { return frequency.nextRun(after: now / Self.micros) == nil ? nil : now }
        guard let next = nextDue(frequency, after: lastSyncedAt) else { return nil }
        return max(next, now)
    }

    /// The next run after `micros`, jittered. Computed from when the last run ended, never from
    /// the missed due times before it, so downtime costs one run, not one per missed slot.
    func nextDue(_ frequency: SyncFrequency, after micros: Int64) -> Int64? {
        guard let next = frequency.nextRun(after: micros / Self.micros) else { return nil }
        return (next + Int64(settings.jitter(frequency.maxJitterSeconds))) * Self.micros
    }

    /// The wait before retry `attempt` (1 = the first retry): base · 2^(attempt-1), capped.
    func backoffSeconds(attempt: Int) -> Int {
        let exponent = min(max(attempt - 1, 0), 20)
        return min(settings.backoffMaxSeconds, settings.backoffBaseSeconds << exponent)
    }

    func maxAttempts(_ provider: String) -> Int {
        project.integration(provider)?.maxAttempts ?? IntegrationConfig.defaultMaxAttempts
    }

    /// Provider → concurrent runs, for the providers that declare `max_concurrent_runs`.
    var caps: [String: Int] {
        var out: [String: Int] = [:]
        for file in project.integrations {
            if let cap = file.config.maxConcurrentRuns { out[file.config.provider] = cap }
        }
        return out
    }

    /// The queue after a run that returned: on schedule after a success, at the provider's reset
    /// time after a deferral, with backoff after a failure until `max_attempts` is spent, and then
    /// at the next scheduled time with the attempts reset.
    func completion(after result: RunResult, claim: RunClaim, frequency: SyncFrequency?, now: Int64) -> RunCompletion {
        let policy = self
        let scheduled = frequency.flatMap { policy.nextDue($0, after: now) }
        switch result.status {
        case .deferred:
            let wait = result.retryAfterSeconds ?? policy.backoffSeconds(attempt: 1)
            return RunCompletion(nextDueAtMicros: now + Int64(max(1, wait)) * SchedulePolicy.micros, attempts: claim.attempts,
                                 outcome: "deferred")
        case .failed:
            let attempts = claim.attempts + 1
            if attempts >= policy.maxAttempts(claim.provider) {
                return RunCompletion(nextDueAtMicros: scheduled, attempts: 0, outcome: "failed (gave up after \(attempts) attempts)")
            }
            let wait = policy.backoffSeconds(attempt: attempts)
            return RunCompletion(nextDueAtMicros: now + Int64(wait) * SchedulePolicy.micros, attempts: attempts,
                                 outcome: "failed (attempt \(attempts), retry in \(wait)s)")
        default:
            return RunCompletion(nextDueAtMicros: scheduled, attempts: 0, outcome: result.status.rawValue)
        }
    }

}
