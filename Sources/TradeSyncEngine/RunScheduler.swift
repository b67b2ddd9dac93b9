public import Logging
import Metrics
public import ServiceLifecycle
import TradeSyncConfig
import TradeSyncCore
import TradeSyncStore

/// Puts connections in the store's queue and watches it: every few seconds it adds each
/// schedule group (a connection's streams that share a frequency) that is not queued yet (or
/// whose frequency changed), then records the
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

    /// Adds the schedule groups the queue does not have (each connection's `*` group, and one
    /// per other frequency its streams declare), with their first due time, and drops the
    /// groups a connection no longer has.
    func enqueueNew(now: Int64) async throws -> Int {
        let policy = SchedulePolicy(project: workspace.project, settings: settings)
        var queued: [String: [String: String]] = [:]
        for e in try await workspace.store.scheduleEntries() { queued[e.integrationId, default: [:]][e.streams] = e.frequency }
        var entries: [ScheduleEntry] = []
        for c in try await workspace.store.connections(demoId: nil) {
            guard c.autoSync, c.status != .disconnected, let integration = workspace.project.integration(c.integrationType),
                integration.status == .available
            else { continue }
            let groups = ScheduledConnection.groups(c, integration: integration)
            for (key, _) in queued[c.id] ?? [:] where key != ScheduleGroup.main && !groups.contains(where: { $0.key == key }) {
                try await workspace.store.unschedule(integrationId: c.id, streams: key)
            }
            for group in groups {
                let text = group.frequency
                let current = queued[c.id]?[group.key]
                guard current != text else { continue }
                guard let frequency = try? SyncFrequency(parsing: text) else {
                    logger.warning("connection has an unreadable frequency: not scheduled",
                                   metadata: ["connection": "\(c.connectionKey)", "streams": "\(group.key)", "frequency": "\(text)"])
                    continue
                }
                // A manual group is queued only by requests: no row until one comes.
                guard frequency.nextRun(after: now / SchedulePolicy.micros) != nil || current != nil else { continue }
                // A group's streams last synced no earlier than the connection did; a missed or
                // first run of a new group runs now, like a new connection's.
                entries.append(ScheduleEntry(integrationId: c.id, streams: group.key, provider: c.integrationType, frequency: text,
                                             nextDueAtMicros: policy.firstDue(frequency, lastSyncedAt: c.lastSyncedAt, now: now)))
            }
        }
        try await workspace.store.schedule(entries)
        if !entries.isEmpty { logger.info("scheduled connections", metadata: ["added": "\(entries.count)"]) }
        return entries.count
    }
}

/// What one scheduler pass saw.
public struct SchedulerTick: Sendable, Equatable {
    /// Schedule groups added to the queue (or rescheduled for a new frequency).
    public var added: Int
    /// Runs due and not claimed.
    public var due: Int
    /// Runs claimed by a live worker.
    public var running: Int
    public var oldestDueAgeSeconds: Double
}
