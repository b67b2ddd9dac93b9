import Foundation
import TradeSyncConfig
import TradeSyncCore

/// Streams of one connection that sync at one frequency: one row of the scheduler's queue.
struct ScheduleGroup: Sendable, Equatable {
    /// The row's `streams` key: `*` for the connection's own frequency (and "sync now"), else
    /// the group's stream names, sorted and joined with commas.
    var key: String
    /// The frequency as written.
    var frequency: String
    /// The streams a scheduled run of the group syncs; nil = every stream of the connection.
    var streams: [String]?

    static let main = "*"
}

/// How a stored connection is scheduled: its frequency as written (the deployment's, else the
/// integration's default), read back from the connection's settings.
enum ScheduledConnection {
    /// `every 15m`, a cron line…: the settings keep the full text; the `sync_frequency` column
    /// keeps only the seed's kind (`cron`), so it is the fallback for connections registered by hand.
    static func frequencyText(_ connection: ConnectionRecord) -> String {
        settings(connection)?.schedule ?? connection.syncFrequency
    }

    static func settings(_ connection: ConnectionRecord) -> ConnectionSettings? {
        try? JSONDecoder().decode(ConnectionSettings.self, from: Data(connection.configJSON.utf8))
    }

    /// The connection's schedule groups: the main one (`*`) first, then one per other frequency.
    /// Without per-stream frequencies that is the main group alone, syncing every stream. When
    /// every stream has its own frequency, the main group stays (for "sync now") as `manual`.
    static func groups(_ connection: ConnectionRecord, integration: IntegrationConfig?) -> [ScheduleGroup] {
        let settings = settings(connection)
        let main = settings?.schedule ?? connection.syncFrequency
        let own = (settings?.streamSchedules ?? [:]).filter { $0.value != main }
        guard !own.isEmpty else { return [ScheduleGroup(key: ScheduleGroup.main, frequency: main, streams: nil)] }
        let enabled = settings?.streams
            ?? integration?.streams.entries.filter { !$0.value.lookupOnly }.map(\.name) ?? []
        let rest = enabled.filter { own[$0] == nil }
        var out = [ScheduleGroup(key: ScheduleGroup.main, frequency: rest.isEmpty ? "manual" : main, streams: rest)]
        let byFrequency = Dictionary(grouping: own.filter { enabled.contains($0.key) }, by: \.value)
        for (frequency, members) in byFrequency {
            let names = members.map(\.key).sorted()
            out.append(ScheduleGroup(key: names.joined(separator: ","), frequency: frequency, streams: names))
        }
        return [out[0]] + out.dropFirst().sorted { $0.key < $1.key }
    }
}
