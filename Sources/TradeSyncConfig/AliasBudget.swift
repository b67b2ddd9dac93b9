import Yams

/// Walks a composed document the way every later walk will see it, with each alias expanded
/// into a copy of its anchor, and stops at the first limit it passes. Yams shares an anchored
/// node with its aliases instead of copying it, so composing a bomb is cheap, but decoding it
/// would not be; this walk visits at most `maxExpandedNodes` nodes, so it stays cheap too.
///
/// Yams keeps anchor names only weakly (they are gone once the parser is), so aliases are told
/// apart by position: a pre-order walk meets freshly written nodes at increasing marks, and a
/// node whose mark goes back is an alias of an earlier anchor. The k-th alias met outside any
/// expansion is the k-th `*name` written in the text, which is where problems are reported.
struct AliasBudget {
    struct Excess {
        var position: YAMLPrescan.Position
        var message: String
    }

    /// One walk in text order: the document itself, or the expansion of one alias.
    private struct Level {
        var furthest = YAMLPrescan.Position(line: 0, column: 0)
        /// The last node met ended after `furthest` (a scalar with text), so a node at that
        /// same mark can only be an alias of it.
        var consumedText = false
    }

    private let limits: YAMLLimits
    private let written: [YAMLPrescan.Alias]
    private var levels = [Level()]
    private var visited = 0
    private var aliasesMet = 0
    /// The written alias whose expansion is being walked.
    private var outermost: YAMLPrescan.Alias?
    private var excess: Excess?

    /// The first limit the document breaks, located at the alias that breaks it.
    static func check(_ root: Node, aliases: [YAMLPrescan.Alias], limits: YAMLLimits) -> Excess? {
        var budget = AliasBudget(limits: limits, written: aliases)
        budget.visit(root)
        return budget.excess
    }

    private init(limits: YAMLLimits, written: [YAMLPrescan.Alias]) {
        self.limits = limits
        self.written = written
    }

    private static func position(of node: Node) -> YAMLPrescan.Position {
        YAMLPrescan.Position(line: node.mark?.line ?? 0, column: node.mark?.column ?? 0)
    }

    private static func before(_ a: YAMLPrescan.Position, _ b: YAMLPrescan.Position) -> Bool {
        (a.line, a.column) < (b.line, b.column)
    }

    private mutating func visit(_ node: Node) {
        guard excess == nil else { return }
        let mark = AliasBudget.position(of: node)
        let level = levels[levels.count - 1]
        let isAlias = AliasBudget.before(mark, level.furthest) || (mark == level.furthest && level.consumedText)
        guard isAlias else { return expand(node, at: mark) }
        if levels.count == 1 {
            outermost = aliasesMet < written.count
                ? written[aliasesMet] : YAMLPrescan.Alias(name: "", position: mark)
            aliasesMet += 1
        }
        if levels.count > limits.maxAliasDepth {
            return fail("alias \(aliasName) nests aliases more than \(limits.maxAliasDepth) deep")
        }
        levels.append(Level())
        expand(node, at: mark)
        levels.removeLast()
        if levels.count == 1, excess == nil { outermost = nil }
    }

    private var aliasName: String { "*" + (outermost?.name ?? "") }

    private mutating func fail(_ message: String, at node: YAMLPrescan.Position? = nil) {
        excess = Excess(position: outermost?.position ?? node ?? YAMLPrescan.Position(line: 1, column: 1), message: message)
    }

    private mutating func expand(_ node: Node, at mark: YAMLPrescan.Position) {
        levels[levels.count - 1].furthest = mark
        if case .scalar(let s) = node {
            levels[levels.count - 1].consumedText = !s.string.isEmpty || s.style != .plain
        } else {
            levels[levels.count - 1].consumedText = false
        }
        visited += 1
        if visited > limits.maxExpandedNodes {
            if levels.count > 1 {
                return fail("alias \(aliasName) expands the document to more than \(limits.maxExpandedNodes) nodes")
            }
            return fail("the document has more than \(limits.maxExpandedNodes) nodes", at: mark)
        }
        switch node {
        case .scalar, .alias:
            break
        case .sequence(let seq):
            for item in seq { visit(item) }
        case .mapping(let mapping):
            for (k, v) in mapping {
                visit(k)
                visit(v)
            }
        }
    }
}
