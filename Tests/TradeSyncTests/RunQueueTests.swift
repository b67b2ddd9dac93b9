import Foundation
import Testing
import TradeSyncCore
@testable import TradeSyncStore

/// The queue in the store, on both backends: due runs are claimed once, requests are
/// de-duplicated, expired claims are taken over, and provider caps hold.
@Suite(.serialized) struct RunQueueTests {
    static let backends: [Backend] = postgresEnabled ? [.sqlite, .postgres] : [.sqlite]
    static let second: Int64 = 1_000_000

    @Test(arguments: backends)
    func dueRunsAreClaimedOnceAndRescheduled(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let a = try await makeConnection(store, key: "a")
            let b = try await makeConnection(store, key: "b")
            let now: Int64 = 1_000 * Self.second
            try await store.schedule([
                ScheduleEntry(integrationId: a.id, provider: "servicetitan", frequency: "hourly", nextDueAtMicros: now - Self.second),
                ScheduleEntry(integrationId: b.id, provider: "servicetitan", frequency: "hourly", nextDueAtMicros: now + 60 * Self.second),
            ])
            #expect(try await store.queueStats(now: now) == QueueStats(due: 1, running: 0, oldestDueAtMicros: now - Self.second))
            let claim = try #require(try await store.claimNextRun(worker: "w1", now: now, claimSeconds: 30, caps: [:]))
            #expect(claim.integrationId == a.id)
            #expect(!claim.requested)
            #expect(try await store.claimNextRun(worker: "w2", now: now, claimSeconds: 30, caps: [:]) == nil)
            #expect(try await store.renewClaim(integrationId: a.id, streams: "*", worker: "w1", now: now, claimSeconds: 30))
            #expect(!(try await store.renewClaim(integrationId: a.id, streams: "*", worker: "w2", now: now, claimSeconds: 30)))
            try await store.completeRun(integrationId: a.id, streams: "*", worker: "w1",
                                        completion: RunCompletion(nextDueAtMicros: now + 3600 * Self.second, attempts: 0, outcome: "success"),
                                        now: now)
            let entries = try await store.scheduleEntries()
            #expect(entries.first { $0.integrationId == a.id }?.nextDueAtMicros == now + 3600 * Self.second)
            #expect(entries.first { $0.integrationId == a.id }?.claimedBy == nil)
            // Scheduling again with the same frequency keeps the persisted due time.
            try await store.schedule([ScheduleEntry(integrationId: a.id, provider: "servicetitan", frequency: "hourly", nextDueAtMicros: now)])
            #expect(try await store.scheduleEntries().first { $0.integrationId == a.id }?.nextDueAtMicros == now + 3600 * Self.second)
        }
    }

    @Test(arguments: backends)
    func requestsAreDeduplicatedAndExpiredClaimsTakenOver(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let a = try await makeConnection(store, key: "a")
            let now: Int64 = 1_000 * Self.second
            #expect(try await store.requestRun(integrationId: a.id, provider: "servicetitan", frequency: "manual", now: now))
            #expect(!(try await store.requestRun(integrationId: a.id, provider: "servicetitan", frequency: "manual", now: now)))
            let claim = try #require(try await store.claimNextRun(worker: "dead", now: now, claimSeconds: 10, caps: [:]))
            #expect(claim.requested)
            // The worker died: its claim expires and another worker takes the run over.
            #expect(try await store.claimNextRun(worker: "w2", now: now + 5 * Self.second, claimSeconds: 10, caps: [:]) == nil)
            let taken = try #require(try await store.claimNextRun(worker: "w2", now: now + 11 * Self.second, claimSeconds: 10, caps: [:]))
            #expect(taken.takenOverFrom == "dead")
            // A request made while the run runs stays queued after it completes.
            #expect(try await store.requestRun(integrationId: a.id, provider: "servicetitan", frequency: "manual", now: now + 12 * Self.second) == false)
            try await store.completeRun(integrationId: a.id, streams: "*", worker: "w2",
                                        completion: RunCompletion(nextDueAtMicros: nil, attempts: 0, outcome: "success"),
                                        now: now + 13 * Self.second)
            #expect(try await store.queueStats(now: now + 13 * Self.second).due == 0)
            #expect(try await store.requestRun(integrationId: a.id, provider: "servicetitan", frequency: "manual", now: now + 14 * Self.second))
            try await store.releaseClaim(integrationId: a.id, streams: "*", worker: "nobody")
            #expect(try await store.queueStats(now: now + 14 * Self.second).due == 1)
        }
    }

    @Test(arguments: backends)
    func twoGroupsOfOneConnectionAreNeverClaimedAtOnce(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let a = try await makeConnection(store, key: "a")
            let now: Int64 = 1_000 * Self.second
            try await store.schedule([
                ScheduleEntry(integrationId: a.id, provider: "servicetitan", frequency: "hourly", nextDueAtMicros: now - Self.second),
                ScheduleEntry(integrationId: a.id, streams: "insights", provider: "servicetitan", frequency: "daily",
                              nextDueAtMicros: now),
            ])
            #expect(try await store.scheduleEntries().map(\.streams) == ["*", "insights"])
            let first = try #require(try await store.claimNextRun(worker: "w1", now: now, claimSeconds: 30, caps: [:]))
            #expect(first.streams == "*")
            // The other group is due but its connection is claimed: nobody takes it yet.
            #expect(try await store.claimNextRun(worker: "w2", now: now, claimSeconds: 30, caps: [:]) == nil)
            #expect(try await store.queueStats(now: now).due == 1)
            try await store.completeRun(integrationId: a.id, streams: "*", worker: "w1",
                                        completion: RunCompletion(nextDueAtMicros: now + 3600 * Self.second, attempts: 0,
                                                                  outcome: "success"), now: now)
            let second = try #require(try await store.claimNextRun(worker: "w2", now: now, claimSeconds: 30, caps: [:]))
            #expect(second.streams == "insights")
            #expect(second.frequency == "daily")
            // A request always lands on the main row, never on a group's.
            #expect(try await store.requestRun(integrationId: a.id, provider: "servicetitan", frequency: "hourly", now: now))
            #expect(try await store.scheduleEntries().first { $0.streams == "*" }?.requestedAtMicros == now)
            try await store.unschedule(integrationId: a.id, streams: "insights")
            #expect(try await store.scheduleEntries().map(\.streams) == ["*"])
        }
    }

    @Test(arguments: backends)
    func providerCapLimitsConcurrentClaims(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let now: Int64 = 1_000 * Self.second
            var entries: [ScheduleEntry] = []
            for i in 0..<4 {
                let c = try await makeConnection(store, key: "c\(i)")
                entries.append(ScheduleEntry(integrationId: c.id, provider: "servicetitan", frequency: "hourly", nextDueAtMicros: now))
            }
            try await store.schedule(entries)
            let caps = ["servicetitan": 2]
            #expect(try await store.claimNextRun(worker: "w1", now: now, claimSeconds: 30, caps: caps) != nil)
            #expect(try await store.claimNextRun(worker: "w2", now: now, claimSeconds: 30, caps: caps) != nil)
            #expect(try await store.claimNextRun(worker: "w3", now: now, claimSeconds: 30, caps: caps) == nil)
            #expect(try await store.claimNextRun(worker: "w3", now: now, claimSeconds: 30, caps: [:]) != nil)
            #expect(try await store.queueStats(now: now).running == 3)
        }
    }
}
