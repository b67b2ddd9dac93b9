import Foundation
import TradeSyncCore

/// How a stored connection is scheduled: its frequency as written (the deployment's, else the
/// integration's default), read back from the connection's settings.
enum ScheduledConnection {
    /// `every 15m`, a cron line…: the settings keep the full text; the `sync_frequency` column
    /// keeps only the seed's kind (`cron`), so it is the fallback for connections registered by hand.
    static func frequencyText(_ connection: ConnectionRecord) -> String {
        let settings = try? JSONDecoder().decode(ConnectionSettings.self, from: Data(connection.configJSON.utf8))
        return settings?.schedule ?? connection.syncFrequency
    }
}
