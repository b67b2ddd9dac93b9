/// A store failure, with what kind it is so callers can tell "closed" from "constraint" without
/// reading the message. The message names the statement or location for people.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The store was closed before the call.
        case closed
        /// The database could not be reached or opened.
        case unavailable
        /// A store location (URL or path) that names no store.
        case invalidLocation
        /// A unique, foreign-key, not-null or check constraint refused the write.
        case constraint
        /// A row the call needs is not there.
        case notFound
        /// Any other error the database reported.
        case database
        /// A caller's own condition, outside the database (the engine's token rotation).
        case other
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public init(_ message: String) { self.init(.other, message) }

    static func closed(_ message: String) -> StoreError { StoreError(.closed, message) }

    public var description: String { message }
}
