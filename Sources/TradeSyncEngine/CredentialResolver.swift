public import Foundation
import Logging
import TradeSyncConfig
public import TradeSyncCore
import TradeSyncMapping
import TradeSyncSources
import TradeSyncStore

/// Resolves `env:` and `file:` references. The values never appear in errors or logs.
public struct CredentialResolver: Sendable {
    public let environment: @Sendable (String) -> String?
    /// Folder that relative `file:` paths are read from.
    public let baseDirectory: String

    public init(environment: @escaping @Sendable (String) -> String? = { ProcessInfo.processInfo.environment[$0] },
                baseDirectory: String = FileManager.default.currentDirectoryPath) {
        self.environment = environment
        self.baseDirectory = baseDirectory
    }

    public func resolve(slot: String, _ reference: CredentialReference) throws -> String {
        switch reference {
        case .environment(let name):
            guard let v = environment(name), !v.isEmpty else {
                throw RunnerError.credential(slot: slot, reference: reference.description, reason: "environment variable is not set")
            }
            return v
        case .file(let path):
            let full = path.hasPrefix("/") ? path : baseDirectory + "/" + path
            guard let data = FileManager.default.contents(atPath: full) else {
                throw RunnerError.credential(slot: slot, reference: reference.description, reason: "file cannot be read")
            }
            var text = String(decoding: data, as: UTF8.self)
            while text.last == "\n" || text.last == "\r" { text.removeLast() }
            return text
        }
    }
}
