/// A failure of a command that is not a misuse of the command line: a missing or invalid
/// file, a configuration problem, an unknown connection. ArgumentParser exits with 1 for it
/// (printing `Error: ` and the message); its own `ValidationError` would mean exit 64, which
/// is kept for usage errors it detects itself.
struct CommandError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}
