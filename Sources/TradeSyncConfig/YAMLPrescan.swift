/// A quick pass over YAML text before Yams builds anything. Yams resolves an alias while it
/// composes and hashes every mapping key in full (to find duplicates), so an alias used as a
/// key would expand a bomb inside the parser, and its recursive composer follows the nesting
/// of the text. This pass finds both without building a tree, and records where each alias
/// is written so that later problems are reported at the `*alias` itself.
///
/// It is a lexer, not a parser: it knows quotes, comments, block scalars, flow brackets and
/// block indentation, which is enough for these checks; the parser still has the last word
/// on whether the text is valid YAML.
struct YAMLPrescan {
    struct Position: Sendable, Hashable {
        var line: Int
        var column: Int
    }

    struct Alias: Sendable {
        var name: String
        var position: Position
    }

    /// Aliases in the order they are written.
    private(set) var aliases: [Alias] = []
    /// The first thing that stops the file from being parsed safely.
    private(set) var problem: (position: Position, message: String)?

    private let s: [Unicode.Scalar]
    private let maxNesting: Int
    private var i = 0
    private var line = 1
    private var column = 1
    /// Open flow collections and how many aliases had been seen when each opened.
    private var flow: [Int] = []
    /// Indentation of the enclosing block collections.
    private var indents: [Int] = []
    /// Inside a plain scalar, where `*`, `&`, `[` and friends are ordinary characters.
    private var inPlain = false
    /// Lines indented more than this belong to a block scalar (`|` or `>`).
    private var blockScalarParent: Int?
    /// Where the current line's content starts after its `- ` dashes, and the last dash's column.
    private var contentStart = 0
    private var lastDash: Int?

    static func scan(_ text: String, maxNesting: Int) -> YAMLPrescan {
        var scan = YAMLPrescan(text: text, maxNesting: maxNesting)
        scan.run()
        return scan
    }

    private init(text: String, maxNesting: Int) {
        s = Array(text.unicodeScalars)
        self.maxNesting = maxNesting
    }

    private var position: Position { Position(line: line, column: column) }

    private func at(_ k: Int) -> Unicode.Scalar? { k < s.count ? s[k] : nil }

    private static func isBreakOrEnd(_ c: Unicode.Scalar?) -> Bool { c == nil || c == "\n" || c == "\r" }
    private static func isBlank(_ c: Unicode.Scalar?) -> Bool { isBreakOrEnd(c) || c == " " || c == "\t" }
    private static func isAnchorCharacter(_ c: Unicode.Scalar) -> Bool {
        // libyaml's anchor alphabet.
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-"
    }

    private mutating func advance() {
        if s[i] == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        i += 1
    }

    private mutating func report(_ message: String, at p: Position? = nil) {
        if problem == nil { problem = (p ?? position, message) }
    }

    private mutating func checkDepth() {
        if indents.count + flow.count > maxNesting {
            report("collections nest more than \(maxNesting) levels deep")
        }
    }

    /// `:` that separates a key from its value (not the colon of `http://`).
    private func isValueIndicator(at k: Int) -> Bool {
        guard at(k) == ":" else { return false }
        let next = at(k + 1)
        return YAMLPrescan.isBlank(next) || (!flow.isEmpty && (next == "," || next == "]" || next == "}"))
    }

    /// True when, after spaces, a key/value colon follows: what precedes is a mapping key.
    private func followedByValueIndicator(from k: Int) -> Bool {
        var k = k
        while at(k) == " " || at(k) == "\t" { k += 1 }
        return isValueIndicator(at: k)
    }

    private mutating func run() {
        var atLineStart = true
        while i < s.count, problem == nil {
            if atLineStart {
                atLineStart = false
                startLine()
                continue
            }
            let c = s[i]
            let previous = i > 0 ? s[i - 1] : nil
            switch c {
            case "\n":
                advance()
                atLineStart = true
                if flow.isEmpty { inPlain = false }
            case "#" where previous == nil || previous == " " || previous == "\t":
                while i < s.count, s[i] != "\n" { advance() }
            case "'" where !inPlain, "\"" where !inPlain:
                skipQuoted(c)
            case "[" where !inPlain, "{" where !inPlain, "[" where !flow.isEmpty, "{" where !flow.isEmpty:
                flow.append(aliases.count)
                checkDepth()
                advance()
                inPlain = false
            case "]" where !flow.isEmpty, "}" where !flow.isEmpty:
                let firstAlias = flow.removeLast()
                advance()
                inPlain = false
                // A flow collection used as a key: Yams would hash its aliases in full.
                if firstAlias < aliases.count, followedByValueIndicator(from: i) {
                    report("an alias cannot be part of a mapping key", at: aliases[firstAlias].position)
                }
            case "," where !flow.isEmpty:
                advance()
                inPlain = false
            case ":" where isValueIndicator(at: i):
                advance()
                inPlain = false
            case "*" where !inPlain:
                let start = position
                advance()
                var name = ""
                while i < s.count, YAMLPrescan.isAnchorCharacter(s[i]) {
                    name.unicodeScalars.append(s[i])
                    advance()
                }
                aliases.append(Alias(name: name, position: start))
                if followedByValueIndicator(from: i) { report("an alias cannot be a mapping key", at: start) }
            case "&" where !inPlain:
                advance()
                while i < s.count, YAMLPrescan.isAnchorCharacter(s[i]) { advance() }
            case "?" where !inPlain && YAMLPrescan.isBlank(at(i + 1)):
                report("explicit mapping keys ('? ') are not supported; write key: value")
            case "|" where !inPlain && flow.isEmpty, ">" where !inPlain && flow.isEmpty:
                // `- |` belongs to its dash; `key: |` to its key.
                if i == contentStart, let dash = lastDash {
                    blockScalarParent = dash
                } else {
                    blockScalarParent = indents.last ?? 0
                }
                while i < s.count, s[i] != "\n" { advance() }
            case " ", "\t", "\r":
                advance()
            default:
                inPlain = true
                advance()
            }
        }
    }

    /// Skips indentation and block-sequence dashes, tracking the block nesting they open.
    private mutating func startLine() {
        var k = i
        var indent = 0
        while at(k) == " " {
            k += 1
            indent += 1
        }
        var end = k
        while let c = at(end), c == " " || c == "\t" || c == "\r" { end += 1 }
        let whitespaceOnly = YAMLPrescan.isBreakOrEnd(at(end))
        if let parent = blockScalarParent {
            if whitespaceOnly || indent > parent {
                while i < s.count, s[i] != "\n" { advance() }
                return
            }
            blockScalarParent = nil
        }
        while i < k { advance() }
        contentStart = i
        lastDash = nil
        guard flow.isEmpty, !whitespaceOnly, at(k) != "#" else { return }
        while let top = indents.last, top > indent { indents.removeLast() }
        if indents.last != indent { indents.append(indent) }
        // `- - - x` opens a sequence per dash on one line.
        var nested = indent
        while at(i) == "-", YAMLPrescan.isBlank(at(i + 1)), !YAMLPrescan.isBreakOrEnd(at(i + 1)) {
            lastDash = nested
            advance()
            nested += 1
            while at(i) == " " {
                advance()
                nested += 1
            }
            indents.append(nested)
        }
        contentStart = i
        checkDepth()
    }

    private mutating func skipQuoted(_ quote: Unicode.Scalar) {
        advance()
        while i < s.count {
            let c = s[i]
            if quote == "\"", c == "\\" {
                advance()
                if i < s.count { advance() }
                continue
            }
            if c == quote {
                advance()
                // '' inside a single-quoted scalar is an escaped quote.
                if quote == "'", at(i) == "'" {
                    advance()
                    continue
                }
                return
            }
            advance()
        }
    }
}
