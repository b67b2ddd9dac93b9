/// A configuration document as a value tree with source marks: what a YAML reader produced,
/// with every scalar's type already resolved. It keeps the configuration kit (`ConfigNode`,
/// `ConfigObject`, `ConfigDecodable`) free of any YAML library, so components outside the
/// Config module (paginators, authenticators, casts) can decode their own keys; the Config
/// module builds the tree from Yams and keeps YAML reading and cross-file validation.
public enum ConfigTree: Sendable {
    case scalar(Scalar)
    case mapping(Mapping)
    case sequence(List)
    /// An alias left unresolved (only a tree built in code has one).
    case alias(Mark?)

    /// 1-based line and column where a node starts.
    public struct Mark: Sendable, Equatable {
        public var line: Int
        public var column: Int
        public init(line: Int, column: Int) {
            self.line = line
            self.column = column
        }
    }

    public struct Scalar: Sendable {
        public enum Style: Sendable { case plain, quoted }
        /// What a plain scalar means to YAML (quoted scalars are always text).
        public enum Resolved: Sendable, Equatable {
            case null
            case bool(Bool)
            case int(Int)
            case float(Double)
            case text
        }

        public var string: String
        public var style: Style
        public var resolved: Resolved
        public var mark: Mark?

        public init(_ string: String, style: Style = .plain, resolved: Resolved = .text, mark: Mark? = nil) {
            self.string = string
            self.style = style
            self.resolved = resolved
            self.mark = mark
        }
    }

    /// Key/value pairs in document order (repeated keys are kept; `ConfigObject` reports them).
    public struct Mapping: Sendable, Sequence {
        public var pairs: [(key: ConfigTree, value: ConfigTree)]
        public var mark: Mark?
        public init(_ pairs: [(key: ConfigTree, value: ConfigTree)], mark: Mark? = nil) {
            self.pairs = pairs
            self.mark = mark
        }
        public func makeIterator() -> IndexingIterator<[(key: ConfigTree, value: ConfigTree)]> { pairs.makeIterator() }
    }

    public struct List: Sendable, RandomAccessCollection {
        public var items: [ConfigTree]
        public var mark: Mark?
        public init(_ items: [ConfigTree], mark: Mark? = nil) {
            self.items = items
            self.mark = mark
        }
        public var startIndex: Int { items.startIndex }
        public var endIndex: Int { items.endIndex }
        public subscript(i: Int) -> ConfigTree { items[i] }
    }

    public var mark: Mark? {
        switch self {
        case .scalar(let s): return s.mark
        case .mapping(let m): return m.mark
        case .sequence(let l): return l.mark
        case .alias(let m): return m
        }
    }

    private var plain: Scalar.Resolved? {
        if case .scalar(let s) = self, s.style == .plain { return s.resolved }
        return nil
    }

    /// Non-nil for a plain `null`, `~` or empty scalar.
    public var null: Void? { plain == .null ? () : nil }
    public var bool: Bool? { if case .bool(let b)? = plain { return b } else { return nil } }
    public var int: Int? { if case .int(let i)? = plain { return i } else { return nil } }
    /// A plain number; an integer is a number too.
    public var float: Double? {
        switch plain {
        case .float(let d)?: return d
        case .int(let i)?: return Double(i)
        default: return nil
        }
    }
    /// A scalar's text, whatever its type.
    public var string: String? { if case .scalar(let s) = self { return s.string } else { return nil } }
}
