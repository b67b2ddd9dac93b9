import Foundation
import Logging
import TradeSyncConfig
import TradeSyncCore
import TradeSyncMapping
import TradeSyncSources
import TradeSyncStore

public enum RunnerError: Error, Sendable, CustomStringConvertible {
    case unknownIntegration(String)
    case unknownStream(String, integration: String)
    case notSyncable(String)
    case credential(slot: String, reference: String, reason: String)
    case alreadyRunning(String)
    case configuration(String)
    /// A run failed; the text is already free of credential values.
    case runFailed(String)

    public var description: String {
        switch self {
        case .unknownIntegration(let i): return "integration '\(i)' is not declared in integrations.d/"
        case .unknownStream(let s, let i): return "integration '\(i)' has no stream '\(s)'"
        case .notSyncable(let why): return why
        case .credential(let slot, let reference, let reason): return "credential '\(slot)' (\(reference)): \(reason)"
        case .alreadyRunning(let c): return "a sync of connection \(c) is already running"
        case .configuration(let m): return m
        case .runFailed(let m): return m
        }
    }
}
