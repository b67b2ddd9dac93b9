/// Bounds on what one configuration file may make the loader do. A few kilobytes of YAML
/// can describe billions of nodes through aliases, or nest deep enough to exhaust the stack
/// of any recursive walk; these limits keep loading fast and small whatever the input.
public struct YAMLLimits: Sendable {
    /// Bytes in one file, checked before anything is decoded.
    public var maxFileBytes: Int
    /// Collections inside collections, as written (block indentation and flow brackets).
    public var maxNesting: Int
    /// Nodes in a document once every alias is counted as a copy of its anchor.
    public var maxExpandedNodes: Int
    /// Aliases to anchors that themselves contain aliases, and so on.
    public var maxAliasDepth: Int

    public init(maxFileBytes: Int = 1 << 20, maxNesting: Int = 64, maxExpandedNodes: Int = 100_000,
                maxAliasDepth: Int = 5) {
        self.maxFileBytes = maxFileBytes
        self.maxNesting = maxNesting
        self.maxExpandedNodes = maxExpandedNodes
        self.maxAliasDepth = maxAliasDepth
    }

    public static let standard = YAMLLimits()
}
