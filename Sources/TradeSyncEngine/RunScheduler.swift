public import Logging
import Metrics
public import ServiceLifecycle
import TradeSyncConfig
import TradeSyncCore
import TradeSyncStore

/// Puts connections in the store's queue and watches it: every few seconds it adds each
/// scheduled connection that is not queued yet (or whose frequency changed), then records the
/// queue's depth and the age of its oldest due run. The due times themselves live in the store,
/// so a restart (or another process) picks up where this one stopped.
public struct RunScheduler: Service {
    let workspace: Workspace
    let settings: SchedulerSettings
    let logger: Logger
    let depth = Gauge(label: "tradesync_queue_depth")
    let oldestAge = Gauge(label: "tradesync_oldest_due_age_seconds")

    public init(workspace: Workspace, settings: SchedulerSettings = SchedulerSettings(), logger: Logger? = nil) {
        self.workspace = workspace
        self.settings = settings
        self.logger = logger ?? workspace.inputs.logger
    }

    public func run() async throws {
        // Graceful shutdown cancels the loop; ending that way is a clean stop, not an error.
        do { try await loop() } catch is CancellationError {}
    }

    func loop() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    _ = try await tick()
                } catch is CancellationError {
                    return
                } catch {
                    // The store may be briefly unreachable: the next tick tries again.
                    logger.warning("scheduler tick failed", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: .milliseconds(settings.scheduleMilliseconds))
            }
        }
    }

    /// One pass: queue what is new, then the gauges. Returns the queue as it was seen.
    @discardableResult
    public func tick() async throws -> SchedulerTick {
        let now = settings.clock.now()
        let added = try await enqueueNew(now: now)
        let stats = try await workspace.store.queueStats(now: now)
        let age = stats.oldestDueAtMicros.map { max(0, Double(now - $0) / 1e6) } ?? 0
        depth.record(Double(stats.due))
        oldestAge.record(age)
        return SchedulerTick(added: added, due: stats.due, running: stats.running, oldestDueAgeSeconds: age)
    }

    /// Adds the scheduled connections the queue does not have, with their first due time.
    func enqueueNew(now: Int64) async throws -> Int {
        let policy = SchedulePolicy(project: workspace.project, settings: settings)
        let queued = Dictionary(try await workspace.store.scheduleEntries().map { ($0.integrationId, $0.frequency) },
                                uniquingKeysWith: { a, _ in a })
        var entries: [ScheduleEntry] = []
        for c in try await workspace.store.connections(demoId: nil) {
            guard c.autoSync, c.status != .disconnected, let integration = workspace.project.integration(c.integrationType),
                integration.status == .available
            else { continue }
            let text = ScheduledConnection.frequencyText(c)
            guard queued[c.id] != text else { continue }
            guard let frequency = try? SyncFrequency(parsing: text) else {
                logger.warning("connection has an unreadable frequency: not scheduled",
                               metadata: ["connection": "\(c.connectionKey)", "frequency": "\(text)"])
                continue
            }
            // A manual connection is queued only by requests: no row until one comes.
            guard frequency.nextRun(after: now / SchedulePolicy.micros) != nil || queued[c.id] != nil else { continue }
            entries.append(ScheduleEntry(integrationId: c.id, provider: c.integrationType, frequency: text,
                                         nextDueAtMicros: policy.firstDue(frequency, lastSyncedAt: c.lastSyncedAt, now: now)))
        }
        try await workspace.store.schedule(entries)
        if !entries.isEmpty { logger.info("scheduled connections", metadata: ["added": "\(entries.count)"]) }
        return entries.count
    }
}

/// What one scheduler pass saw.
public struct SchedulerTick: Sendable, Equatable {
    /// Connections added to the queue (or rescheduled for a new frequency).
    public var added: Int
    /// Runs due and not claimed.
    public var due: Int
    /// Runs claimed by a live worker.
    public var running: Int
    public var oldestDueAgeSeconds: Double
}
