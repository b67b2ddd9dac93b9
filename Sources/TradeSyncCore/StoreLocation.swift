/// Where the store lives, parsed once from `sqlite:PATH` or `postgres://…` (the deployment's
/// `store:` or a command's `--store`); the store factory takes this value, not the text.
public enum StoreLocation: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(url: String)

    public init?(parsing text: String, relativeTo directory: String) {
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst(7))
            guard !path.isEmpty else { return nil }
            if path.hasPrefix("/") || directory.isEmpty || path == ":memory:" {
                self = .sqlite(path: path)
            } else {
                self = .sqlite(path: directory + "/" + path)
            }
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(url: text)
        } else {
            return nil
        }
    }

    /// The text form, password included: what a connection needs.
    public var text: String {
        switch self {
        case .sqlite(let path): return "sqlite:" + path
        case .postgres(let url): return url
        }
    }

    /// `sqlite` or `postgres`.
    public var kind: String {
        switch self {
        case .sqlite: return "sqlite"
        case .postgres: return "postgres"
        }
    }

    /// Without the password, for messages.
    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .postgres(let url): return redactURLPassword(url)
        }
    }
}
