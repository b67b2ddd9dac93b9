import Foundation
import TradeSyncConfig
import TradeSyncStore

/// Whether the process can do its work (`GET /ready`).
public struct Readiness: Sendable, Equatable {
    public var ready: Bool
    /// Why not, in words (never a secret: store errors name tables, not URLs with passwords).
    public var problems: [String]
}

extension Workspace {
    /// The store answers and has been migrated for this project: its catalog is readable and
    /// holds a template for every integration the project declares (what `migrate` writes).
    public func readiness() async -> Readiness {
        do {
            let templates = Set(try await store.templates().map(\.integrationType))
            let missing = project.integrations.map(\.config.provider).filter { !templates.contains($0) }.sorted()
            if missing.isEmpty { return Readiness(ready: true, problems: []) }
            return Readiness(ready: false, problems: ["not migrated: no template for \(missing.joined(separator: ", "))"])
        } catch {
            return Readiness(ready: false, problems: ["store unreachable or not migrated: \(String(describing: error).prefix(200))"])
        }
    }
}
