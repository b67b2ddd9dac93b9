import Foundation
import TradeSyncCore

/// QuickBooks Online's query language, the subset the Accounting API accepts for reads:
/// `SELECT * | COUNT(*) | f1, f2 FROM <Entity> [WHERE c AND c …] [ORDERBY f [ASC|DESC], …]
/// [STARTPOSITION n] [MAXRESULTS m]`, where c is `f op literal`, `f IN (…)` or `f LIKE '…'`.
/// There is no OR (Intuit's grammar has none). Keywords and property names are
/// case-insensitive, as at Intuit (`Metadata.LastUpdatedTime` works).
struct QuickBooksQuery: Sendable {
    enum Selection: Sendable, Equatable {
        case all
        case count
        case fields([String])
    }

    enum Literal: Sendable, Equatable {
        case string(String)
        case number(String)
        case bool(Bool)
    }

    struct Condition: Sendable {
        var field: String  // lowercased
        var op: String  // = < > <= >= != IN LIKE
        var values: [Literal]
    }

    var selection: Selection
    var entity: String
    var conditions: [Condition]
    var order: [(field: String, descending: Bool)]
    var startPosition: Int?
    var maxResults: Int?

    /// A parse failure: QuickBooks' "QueryParserError" detail text.
    struct ParseError: Error {
        var detail: String
    }

    private enum Token: Equatable {
        case word(String)
        case string(String)
        case number(String)
        case symbol(String)
    }

    static func parse(_ text: String) throws(ParseError) -> QuickBooksQuery {
        var tokens: [(Token, Int)] = []
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c.isWhitespace { i += 1; continue }
            let column = i + 1
            if c == "'" {
                var value = ""
                i += 1
                var closed = false
                while i < chars.count {
                    if chars[i] == "\\", i + 1 < chars.count { value.append(chars[i + 1]); i += 2; continue }
                    if chars[i] == "'" { closed = true; i += 1; break }
                    value.append(chars[i]); i += 1
                }
                guard closed else { throw ParseError(detail: "QueryParserError: Lexical error at line 1, column \(column). Encountered: <EOF>") }
                tokens.append((.string(value), column))
            } else if c.isNumber || (c == "-" && i + 1 < chars.count && chars[i + 1].isNumber) {
                var value = String(c)
                i += 1
                while i < chars.count, chars[i].isNumber || chars[i] == "." { value.append(chars[i]); i += 1 }
                tokens.append((.number(value), column))
            } else if c.isLetter || c == "_" {
                var value = ""
                while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" || chars[i] == "." { value.append(chars[i]); i += 1 }
                tokens.append((.word(value), column))
            } else if "<>!".contains(c), i + 1 < chars.count, chars[i + 1] == "=" || (c == "<" && chars[i + 1] == ">") {
                tokens.append((.symbol(String([c, chars[i + 1]])), column)); i += 2
            } else if "*,()=<>".contains(c) {
                tokens.append((.symbol(String(c)), column)); i += 1
            } else {
                throw ParseError(detail: "QueryParserError: Lexical error at line 1, column \(column). Encountered: \"\(c)\"")
            }
        }
        var p = 0
        func fail(_ expecting: String) -> ParseError {
            if p < tokens.count {
                let (token, column) = tokens[p]
                let shown: String
                switch token {
                case .word(let w): shown = w
                case .string(let s): shown = "'\(s)'"
                case .number(let n): shown = n
                case .symbol(let s): shown = s
                }
                return ParseError(detail: "QueryParserError: Encountered \" \"\(shown)\" \" at line 1, column \(column).\nWas expecting:\n    \(expecting) ...")
            }
            return ParseError(detail: "QueryParserError: Encountered \"<EOF>\" at line 1, column \(chars.count + 1).\nWas expecting:\n    \(expecting) ...")
        }
        func keyword(_ k: String) -> Bool {
            if p < tokens.count, case .word(let w) = tokens[p].0, w.lowercased() == k { p += 1; return true }
            return false
        }
        func symbol(_ s: String) -> Bool {
            if p < tokens.count, case .symbol(let v) = tokens[p].0, v == s { p += 1; return true }
            return false
        }
        func word() -> String? {
            if p < tokens.count, case .word(let w) = tokens[p].0 { p += 1; return w }
            return nil
        }
        func integer() throws(ParseError) -> Int {
            if p < tokens.count, case .number(let n) = tokens[p].0, let v = Int(n) { p += 1; return v }
            throw fail("<INTEGER>")
        }
        func literal() throws(ParseError) -> Literal {
            guard p < tokens.count else { throw fail("<STRING>") }
            switch tokens[p].0 {
            case .string(let s): p += 1; return .string(s)
            case .number(let n): p += 1; return .number(n)
            case .word(let w) where w.lowercased() == "true" || w.lowercased() == "false": p += 1; return .bool(w.lowercased() == "true")
            default: throw fail("<STRING>")
            }
        }

        guard keyword("select") else { throw fail("\"select\"") }
        let selection: Selection
        if symbol("*") {
            selection = .all
        } else if keyword("count") {
            guard symbol("("), symbol("*"), symbol(")") else { throw fail("\"(*)\"") }
            selection = .count
        } else {
            var fields: [String] = []
            repeat {
                guard let f = word() else { throw fail("<IDENTIFIER>") }
                fields.append(f)
            } while symbol(",")
            selection = .fields(fields)
        }
        guard keyword("from") else { throw fail("\"from\"") }
        guard let entity = word() else { throw fail("<IDENTIFIER>") }
        var conditions: [Condition] = []
        if keyword("where") {
            repeat {
                guard let field = word() else { throw fail("<IDENTIFIER>") }
                if keyword("in") {
                    guard symbol("(") else { throw fail("\"(\"") }
                    var values: [Literal] = []
                    repeat { values.append(try literal()) } while symbol(",")
                    guard symbol(")") else { throw fail("\")\"") }
                    conditions.append(Condition(field: field.lowercased(), op: "IN", values: values))
                } else if keyword("like") {
                    conditions.append(Condition(field: field.lowercased(), op: "LIKE", values: [try literal()]))
                } else {
                    var op: String?
                    for s in ["<=", ">=", "!=", "<>", "=", "<", ">"] where symbol(s) {
                        op = s == "<>" ? "!=" : s
                        break
                    }
                    guard let op else { throw fail("\"=\"") }
                    conditions.append(Condition(field: field.lowercased(), op: op, values: [try literal()]))
                }
            } while keyword("and")
        }
        var order: [(String, Bool)] = []
        if keyword("orderby") {
            repeat {
                guard let f = word() else { throw fail("<IDENTIFIER>") }
                var descending = false
                if keyword("desc") { descending = true } else { _ = keyword("asc") }
                order.append((f.lowercased(), descending))
            } while symbol(",")
        }
        var start: Int?
        var max: Int?
        while p < tokens.count {
            if keyword("startposition") { start = try integer() } else if keyword("maxresults") { max = try integer() } else { throw fail("<EOF>") }
        }
        return QuickBooksQuery(selection: selection, entity: entity, conditions: conditions, order: order, startPosition: start, maxResults: max)
    }
}

/// A property value of a generated record, for WHERE and ORDERBY.
enum QBValue: Comparable, Sendable {
    case number(Double)
    case text(String)
    case bool(Bool)
    case time(Int64)

    static func < (a: QBValue, b: QBValue) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)): x < y
        case (.text(let x), .text(let y)): x.lowercased() < y.lowercased()
        case (.time(let x), .time(let y)): x < y
        case (.bool(let x), .bool(let y)): !x && y
        default: false
        }
    }

    /// The literal read as this value's type; nil when it cannot be.
    func coerce(_ literal: QuickBooksQuery.Literal) -> QBValue? {
        switch (self, literal) {
        case (.number, .number(let n)), (.number, .string(let n)): return Double(n).map { .number($0) }
        case (.text, .string(let s)), (.text, .number(let s)): return .text(s)
        case (.bool, .bool(let b)): return .bool(b)
        case (.bool, .string(let s)): return s.lowercased() == "true" ? .bool(true) : s.lowercased() == "false" ? .bool(false) : nil
        case (.time, .string(let s)):
            // A time without offset is the company's local time; a bare date is its midnight.
            return Timestamp.parse(s, defaultOffsetSeconds: QuickBooksData.offsetSeconds).map { .time($0 * 10) }
        default: return nil
        }
    }

    func matches(_ op: String, _ literals: [QuickBooksQuery.Literal]) -> Bool? {
        let values = literals.map { coerce($0) }
        guard !values.contains(where: { $0 == nil }) else { return nil }
        let v = values.compactMap { $0 }
        switch op {
        case "=": return v.first.map { self == $0 || (caseInsensitiveEqual($0)) }
        case "!=": return v.first.map { self != $0 }
        case "<": return v.first.map { self < $0 }
        case ">": return v.first.map { $0 < self }
        case "<=": return v.first.map { !($0 < self) }
        case ">=": return v.first.map { !(self < $0) }
        case "IN": return v.contains { self == $0 || caseInsensitiveEqual($0) }
        case "LIKE":
            guard case .text(let s) = self, case .text(let pattern)? = v.first else { return nil }
            return QBValue.like(s.lowercased(), pattern.lowercased())
        default: return nil
        }
    }

    private func caseInsensitiveEqual(_ other: QBValue) -> Bool {
        if case .text(let x) = self, case .text(let y) = other { return x.lowercased() == y.lowercased() }
        return false
    }

    /// `%` wildcards only, as QuickBooks supports.
    static func like(_ text: String, _ pattern: String) -> Bool {
        let parts = pattern.split(separator: "%", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1 else { return text == pattern }
        var rest = Substring(text)
        for (n, part) in parts.enumerated() where !part.isEmpty {
            if n == 0 {
                guard rest.hasPrefix(part) else { return false }
                rest = rest.dropFirst(part.count)
            } else if n == parts.count - 1 {
                return rest.hasSuffix(part)
            } else {
                guard let r = rest.range(of: part) else { return false }
                rest = rest[r.upperBound...]
            }
        }
        return true
    }
}
