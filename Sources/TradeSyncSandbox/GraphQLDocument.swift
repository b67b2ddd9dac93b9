import Foundation
import TradeSyncCore

/// The part of GraphQL's executable-document grammar a read-only client sends: operations
/// (`query Name($v: Type = default) { … }` or an anonymous `{ … }`), fields with aliases and
/// arguments, fragments (`...Name`, `... on Type { … }`), all literal kinds and variables.
/// Written by hand rather than taken from GraphQLSwift because the emulator needs the
/// selection tree and argument values only (its own executor computes Jobber's query cost,
/// which no library does), and a new package would be a dependency of the whole project.
struct GraphQLDocument: Sendable {
    indirect enum Value: Sendable {
        case variable(String)
        case int(Int64)
        case float(String)
        case string(String)
        case bool(Bool)
        case null
        case enumValue(String)
        case list([Value])
        case object([(String, Value)])
    }

    struct Field: Sendable {
        var alias: String?
        var name: String
        var arguments: [(String, Value)]
        var selections: [Selection]
        var line: Int
        var column: Int

        var responseKey: String { alias ?? name }

        func argument(_ name: String) -> Value? { arguments.first { $0.0 == name }?.1 }
    }

    indirect enum Selection: Sendable {
        case field(Field)
        case spread(String, line: Int, column: Int)
        case inline(typeCondition: String?, [Selection])
    }

    struct VariableDefinition: Sendable {
        var name: String
        var type: String
        var defaultValue: Value?
    }

    struct Operation: Sendable {
        var kind: String  // query | mutation | subscription
        var name: String?
        var variables: [VariableDefinition]
        var selections: [Selection]
    }

    struct Fragment: Sendable {
        var typeCondition: String
        var selections: [Selection]
    }

    struct SyntaxError: Error, Sendable {
        var message: String
        var line: Int
        var column: Int
    }

    var operations: [Operation]
    var fragments: [String: Fragment]

    // MARK: lexer

    private enum Token: Equatable {
        case name(String)
        case variable(String)
        case int(String)
        case float(String)
        case string(String)
        case punct(String)
        case end
    }

    private struct Lexed {
        var token: Token
        var line: Int
        var column: Int
    }

    private static func lex(_ text: String) throws(SyntaxError) -> [Lexed] {
        var out: [Lexed] = []
        let chars = Array(text.unicodeScalars)
        var i = 0
        var line = 1
        var lineStart = 0
        func isNameStart(_ c: Unicode.Scalar) -> Bool { c == "_" || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") }
        func isNameChar(_ c: Unicode.Scalar) -> Bool { isNameStart(c) || (c >= "0" && c <= "9") }
        while i < chars.count {
            let c = chars[i]
            let column = i - lineStart + 1
            if c == "\n" { line += 1; i += 1; lineStart = i; continue }
            if c == " " || c == "\t" || c == "\r" || c == "," || c == "\u{FEFF}" { i += 1; continue }
            if c == "#" {
                while i < chars.count, chars[i] != "\n" { i += 1 }
                continue
            }
            if isNameStart(c) {
                var s = ""
                while i < chars.count, isNameChar(chars[i]) { s.unicodeScalars.append(chars[i]); i += 1 }
                out.append(Lexed(token: .name(s), line: line, column: column))
                continue
            }
            if c == "$" {
                i += 1
                var s = ""
                while i < chars.count, isNameChar(chars[i]) { s.unicodeScalars.append(chars[i]); i += 1 }
                guard !s.isEmpty else { throw SyntaxError(message: "Expected a variable name after $", line: line, column: column) }
                out.append(Lexed(token: .variable(s), line: line, column: column))
                continue
            }
            if c == "-" || (c >= "0" && c <= "9") {
                var s = String(c)
                i += 1
                var isFloat = false
                while i < chars.count {
                    let d = chars[i]
                    if d >= "0" && d <= "9" { s.unicodeScalars.append(d) } else if d == "." || d == "e" || d == "E" || ((d == "+" || d == "-") && (s.hasSuffix("e") || s.hasSuffix("E"))) {
                        isFloat = true
                        s.unicodeScalars.append(d)
                    } else { break }
                    i += 1
                }
                out.append(Lexed(token: isFloat ? .float(s) : .int(s), line: line, column: column))
                continue
            }
            if c == "\"" {
                if i + 2 < chars.count, chars[i + 1] == "\"", chars[i + 2] == "\"" {
                    // Block string: raw until the closing triple quote (indentation kept).
                    i += 3
                    var s = ""
                    while i + 2 < chars.count, !(chars[i] == "\"" && chars[i + 1] == "\"" && chars[i + 2] == "\"") {
                        if chars[i] == "\n" { line += 1; lineStart = i + 1 }
                        s.unicodeScalars.append(chars[i]); i += 1
                    }
                    guard i + 2 < chars.count else { throw SyntaxError(message: "Unterminated string", line: line, column: column) }
                    i += 3
                    out.append(Lexed(token: .string(s.trimmingCharacters(in: .whitespacesAndNewlines)), line: line, column: column))
                    continue
                }
                i += 1
                var s = ""
                var closed = false
                while i < chars.count {
                    let d = chars[i]
                    if d == "\"" { closed = true; i += 1; break }
                    if d == "\n" { break }
                    if d == "\\", i + 1 < chars.count {
                        let e = chars[i + 1]
                        i += 2
                        switch e {
                        case "n": s += "\n"
                        case "t": s += "\t"
                        case "r": s += "\r"
                        case "b": s += "\u{08}"
                        case "f": s += "\u{0C}"
                        case "u":
                            guard i + 4 <= chars.count, let v = UInt32(String(String.UnicodeScalarView(chars[i..<i + 4])), radix: 16),
                                let scalar = Unicode.Scalar(v)
                            else { throw SyntaxError(message: "Bad unicode escape", line: line, column: column) }
                            s.unicodeScalars.append(scalar)
                            i += 4
                        default: s.unicodeScalars.append(e)
                        }
                        continue
                    }
                    s.unicodeScalars.append(d)
                    i += 1
                }
                guard closed else { throw SyntaxError(message: "Unterminated string", line: line, column: column) }
                out.append(Lexed(token: .string(s), line: line, column: column))
                continue
            }
            if c == ".", i + 2 < chars.count, chars[i + 1] == ".", chars[i + 2] == "." {
                out.append(Lexed(token: .punct("..."), line: line, column: column))
                i += 3
                continue
            }
            if "{}()[]:=!@|&".unicodeScalars.contains(c) {
                out.append(Lexed(token: .punct(String(c)), line: line, column: column))
                i += 1
                continue
            }
            throw SyntaxError(message: "Parse error on \"\(c)\"", line: line, column: column)
        }
        out.append(Lexed(token: .end, line: line, column: chars.count - lineStart + 1))
        return out
    }

    // MARK: parser

    static func parse(_ text: String) throws(SyntaxError) -> GraphQLDocument {
        let tokens = try lex(text)
        var p = 0
        func fail(_ expected: String) -> SyntaxError {
            let t = tokens[p]
            let shown: String
            switch t.token {
            case .name(let s), .int(let s), .float(let s), .punct(let s): shown = s
            case .variable(let s): shown = "$" + s
            case .string(let s): shown = "\"\(s)\""
            case .end: shown = "end of file"
            }
            return SyntaxError(message: "Parse error on \"\(shown)\" (expected \(expected)) at [\(t.line), \(t.column)]", line: t.line, column: t.column)
        }
        func punct(_ s: String) -> Bool {
            if tokens[p].token == .punct(s) { p += 1; return true }
            return false
        }
        func expect(_ s: String) throws(SyntaxError) { guard punct(s) else { throw fail("\"\(s)\"") } }
        func name() throws(SyntaxError) -> String {
            if case .name(let s) = tokens[p].token { p += 1; return s }
            throw fail("a name")
        }
        func peekName() -> String? {
            if case .name(let s) = tokens[p].token { return s }
            return nil
        }
        func value(const: Bool) throws(SyntaxError) -> Value {
            let t = tokens[p]
            switch t.token {
            case .variable(let v):
                guard !const else { throw fail("a constant value") }
                p += 1
                return .variable(v)
            case .int(let s):
                p += 1
                guard let v = Int64(s) else { throw fail("an Int") }
                return .int(v)
            case .float(let s): p += 1; return .float(s)
            case .string(let s): p += 1; return .string(s)
            case .name(let s):
                p += 1
                switch s {
                case "true": return .bool(true)
                case "false": return .bool(false)
                case "null": return .null
                default: return .enumValue(s)
                }
            case .punct("["):
                p += 1
                var items: [Value] = []
                while !punct("]") {
                    if tokens[p].token == .end { throw fail("\"]\"") }
                    items.append(try value(const: const))
                }
                return .list(items)
            case .punct("{"):
                p += 1
                var fields: [(String, Value)] = []
                while !punct("}") {
                    let key = try name()
                    try expect(":")
                    fields.append((key, try value(const: const)))
                }
                return .object(fields)
            default:
                throw fail("a value")
            }
        }
        func skipDirectives() throws(SyntaxError) {
            while punct("@") {
                _ = try name()
                if punct("(") {
                    while !punct(")") {
                        _ = try name()
                        try expect(":")
                        _ = try value(const: false)
                    }
                }
            }
        }
        func typeReference() throws(SyntaxError) -> String {
            var s: String
            if punct("[") {
                s = "[" + (try typeReference()) + "]"
                try expect("]")
            } else {
                s = try name()
            }
            if punct("!") { s += "!" }
            return s
        }
        func selectionSet() throws(SyntaxError) -> [Selection] {
            try expect("{")
            var out: [Selection] = []
            while !punct("}") {
                let start = tokens[p]
                if punct("...") {
                    if peekName() == "on" {
                        p += 1
                        let type = try name()
                        try skipDirectives()
                        out.append(.inline(typeCondition: type, try selectionSet()))
                    } else if tokens[p].token == .punct("{") || tokens[p].token == .punct("@") {
                        try skipDirectives()
                        out.append(.inline(typeCondition: nil, try selectionSet()))
                    } else {
                        let fragment = try name()
                        try skipDirectives()
                        out.append(.spread(fragment, line: start.line, column: start.column))
                    }
                    continue
                }
                var fieldName = try name()
                var alias: String?
                if punct(":") {
                    alias = fieldName
                    fieldName = try name()
                }
                var arguments: [(String, Value)] = []
                if punct("(") {
                    while !punct(")") {
                        let key = try name()
                        try expect(":")
                        arguments.append((key, try value(const: false)))
                    }
                }
                try skipDirectives()
                let children = tokens[p].token == .punct("{") ? try selectionSet() : []
                out.append(.field(Field(alias: alias, name: fieldName, arguments: arguments, selections: children, line: start.line, column: start.column)))
            }
            return out
        }

        var operations: [Operation] = []
        var fragments: [String: Fragment] = [:]
        while tokens[p].token != .end {
            if tokens[p].token == .punct("{") {
                operations.append(Operation(kind: "query", name: nil, variables: [], selections: try selectionSet()))
                continue
            }
            let keyword = try name()
            switch keyword {
            case "query", "mutation", "subscription":
                var opName: String?
                if let n = peekName() { opName = n; p += 1 }
                var variables: [VariableDefinition] = []
                if punct("(") {
                    while !punct(")") {
                        guard case .variable(let v) = tokens[p].token else { throw fail("a variable") }
                        p += 1
                        try expect(":")
                        let type = try typeReference()
                        var defaultValue: Value?
                        if punct("=") { defaultValue = try value(const: true) }
                        try skipDirectives()
                        variables.append(VariableDefinition(name: v, type: type, defaultValue: defaultValue))
                    }
                }
                try skipDirectives()
                operations.append(Operation(kind: keyword, name: opName, variables: variables, selections: try selectionSet()))
            case "fragment":
                let fragmentName = try name()
                guard peekName() == "on" else { throw fail("\"on\"") }
                p += 1
                let type = try name()
                try skipDirectives()
                fragments[fragmentName] = Fragment(typeCondition: type, selections: try selectionSet())
            default:
                p -= 1
                throw fail("\"query\", \"mutation\", \"subscription\", \"fragment\" or \"{\"")
            }
        }
        guard !operations.isEmpty else {
            return try { () throws(SyntaxError) -> GraphQLDocument in throw SyntaxError(message: "Unexpected end of document", line: 1, column: 1) }()
        }
        return GraphQLDocument(operations: operations, fragments: fragments)
    }
}
