/// What a failure means for the run, carried by the error itself, so the engine decides a
/// run's status from data instead of catching other modules' concrete error types.
public enum ErrorDisposition: Sendable, Equatable {
    /// This stream fails; the run goes on with the others.
    case failStream
    /// Every stream would fail the same way (credentials refused, a token endpoint that
    /// cannot be reached): the run ends, failed.
    case failRun
    /// The provider asked to wait longer than a run may: keep what is committed and end the
    /// run as deferred.
    case deferRun(retryAfterSeconds: Int)
    /// The credentials are dead (`invalid_grant`): a person must authorise the connection
    /// again. The reason is the provider's, never a secret.
    case reauthorize(reason: String)
}

/// An error that states its disposition.
public protocol DispositionedError: Error, Sendable, CustomStringConvertible {
    var disposition: ErrorDisposition { get }
}
