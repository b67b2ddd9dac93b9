import Foundation
import Testing
import TradeSyncConfig
import TradeSyncCore

/// One deterministic change to a copy of the shipped project, and what validating it must
/// give: errors (`mustFail`: the change breaks the configuration) or none (`mustPass`: the
/// change is harmless, such as a byte-order mark or CRLF line endings).
struct ConfigMutation: Sendable, CustomTestStringConvertible {
    enum Expectation: Sendable { case mustFail, mustPass }

    var name: String
    var expectation: Expectation
    var apply: @Sendable (_ projectDirectory: String) throws -> Void

    var testDescription: String { "\(expectation == .mustFail ? "fail" : "pass"): \(name)" }
}

struct MutationDidNotApply: Error {
    var name: String
}

/// The corpus: every mutation is computed from the shipped files, so it is the same on every run.
enum MutationCorpus {
    static let deployment = "examples/austin-hvac/tradesync.yaml"
    /// Files most mutations are applied to: one of each kind, and the largest integrations.
    static let targets = [
        "integrations.d/servicetitan.yaml", "integrations.d/quickbooks.yaml", "integrations.d/google-business-profile.yaml",
        "mappings/model.yaml", "mappings/servicetitan/jobs.yaml", "mappings/quickbooks/invoices.yaml", deployment,
    ]

    static func shipped(_ relative: String) -> String {
        (try? String(contentsOfFile: Repo.root + "/" + relative, encoding: .utf8)) ?? ""
    }

    static func shippedFiles(_ folder: String) -> [String] {
        let items = FileManager.default.enumerator(atPath: Repo.root + "/" + folder)?.allObjects as? [String] ?? []
        // Mapping fixtures (*.test.yaml) are `tradesync test`'s input, not configuration the loader reads.
        return items.filter { $0.hasSuffix(".yaml") && !$0.hasSuffix(".test.yaml") }.map { folder + "/" + $0 }.sorted()
    }

    /// A copy of the shipped project (integrations, model, mappings, the example deployment).
    static func freshProject() throws -> String {
        let dir = try temporaryDirectory()
        for item in ["integrations.d", "mappings"] {
            try FileManager.default.copyItem(atPath: Repo.root + "/" + item, toPath: dir + "/" + item)
        }
        try FileManager.default.createDirectory(atPath: dir + "/examples/austin-hvac", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Repo.root + "/" + deployment, toPath: dir + "/" + deployment)
        return dir
    }

    // MARK: Building blocks

    static func bytes(_ file: String, _ name: String, _ e: ConfigMutation.Expectation,
                      _ change: @escaping @Sendable ([UInt8]) -> [UInt8]) -> ConfigMutation {
        ConfigMutation(name: "\(file): \(name)", expectation: e) { dir in
            let path = dir + "/" + file
            let before = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let after = change(before)
            // A mutation that no longer matches the shipped text would test nothing.
            guard after != before else { throw MutationDidNotApply(name: name) }
            try Data(after).write(to: URL(fileURLWithPath: path))
        }
    }

    static func text(_ file: String, _ name: String, _ e: ConfigMutation.Expectation,
                     _ change: @escaping @Sendable (String) -> String) -> ConfigMutation {
        bytes(file, name, e) { Array(change(String(decoding: $0, as: UTF8.self)).utf8) }
    }

    static func lines(_ text: String) -> [String] { text.components(separatedBy: "\n") }

    static func indentation(_ line: String) -> Int { line.prefix { $0 == " " }.count }

    /// `key: value` lines that are YAML mapping entries (not comments, list items or the
    /// insides of block scalars), with their line index.
    static func keyLines(_ text: String) -> [(index: Int, line: String)] {
        var out: [(Int, String)] = []
        var blockScalarIndent: Int?
        for (i, line) in lines(text).enumerated() {
            let trimmed = line.drop { $0 == " " }
            if let indent = blockScalarIndent {
                if trimmed.isEmpty || indentation(line) > indent { continue }
                blockScalarIndent = nil
            }
            guard let first = trimmed.first, first.isLetter || first == "_" else { continue }
            guard let colon = trimmed.firstIndex(of: ":") else { continue }
            let afterColon = trimmed[trimmed.index(after: colon)...]
            guard afterColon.isEmpty || afterColon.hasPrefix(" ") else { continue }
            let key = trimmed[..<colon]
            guard !key.contains(" ") || key.allSatisfy({ $0.isLetter || $0 == " " }) else { continue }
            let value = afterColon.split(separator: "#").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            if value.hasPrefix(">") || value.hasPrefix("|") { blockScalarIndent = indentation(line) }
            out.append((i, line))
        }
        return out
    }

    static func value(of line: String) -> String {
        guard let colon = line.firstIndex(of: ":") else { return "" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }

    /// Every `stride`-th element, so a corpus stays varied without growing with the files.
    static func sample<T>(_ items: [T], _ count: Int) -> [T] {
        guard items.count > count, count > 0 else { return items }
        return (0..<count).map { items[$0 * items.count / count] }
    }

    // MARK: The mutations

    static let all: [ConfigMutation] = aliases + encodings + truncations + deletions + duplications + indentationChanges
        + typeSwaps + unknownKeys + sizes + nesting + tabsAndControls + lineEndings + emptyFiles + symlinks

    static func billionLaughs(levels: Int, width: Int) -> String {
        let names = (0..<levels).map { "l\($0)" }
        var out = "x-laughs:\n  \(names[0]): &\(names[0]) [\(Array(repeating: "lol", count: width).joined(separator: ", "))]\n"
        for k in 1..<levels {
            out += "  \(names[k]): &\(names[k]) [\(Array(repeating: "*" + names[k - 1], count: width).joined(separator: ", "))]\n"
        }
        return out
    }

    static var aliases: [ConfigMutation] {
        var out: [ConfigMutation] = []
        let laughs = billionLaughs(levels: 9, width: 9)
        for file in targets {
            out.append(text(file, "billion laughs (9 levels of 9) before the first key", .mustFail) { laughs + $0 })
        }
        out.append(text(deployment, "billion laughs after the last key", .mustFail) { $0 + "\n" + laughs })
        out.append(text(deployment, "billion laughs, 30 levels of 2", .mustFail) { billionLaughs(levels: 30, width: 2) + $0 })
        out.append(text(deployment, "billion laughs, 4 levels of 1000", .mustFail) { billionLaughs(levels: 4, width: 1000) + $0 })
        let mappingBomb = "x-bomb:\n  a: &a {k0: v, k1: v, k2: v, k3: v, k4: v, k5: v, k6: v, k7: v}\n"
            + (1..<9).map { k in
                let previous = Character(UnicodeScalar(UInt8(96 + k)))
                let name = Character(UnicodeScalar(UInt8(97 + k)))
                return "  \(name): &\(name) {" + (0..<8).map { "k\($0): *\(previous)" }.joined(separator: ", ") + "}\n"
            }.joined()
        out.append(text("integrations.d/servicetitan.yaml", "mapping-shaped alias bomb", .mustFail) { mappingBomb + $0 })
        let wide = "x-wide: &w [" + Array(repeating: "x", count: 2000).joined(separator: ", ") + "]\n"
            + "x-uses: [" + Array(repeating: "*w", count: 100).joined(separator: ", ") + "]\n"
        out.append(text(deployment, "one wide anchor aliased 100 times (200,000 nodes)", .mustFail) { wide + $0 })
        out.append(text(deployment, "alias used as a mapping key", .mustFail) { "x-k: &k [a, b]\n*k : v\n" + $0 })
        out.append(text(deployment, "flow list of aliases used as a key", .mustFail) {
            billionLaughs(levels: 9, width: 9) + "[*l8, *l8]: boom\n" + $0
        })
        out.append(text(deployment, "chain of aliases seven deep", .mustFail) {
            "x-chain:\n  a: &a [x]\n" + zip("bcdefg", "abcdef").map { "  \($0): &\($0) [*\($1)]\n" }.joined() + $0
        })
        out.append(text(deployment, "undefined alias", .mustFail) { $0.replacingOccurrences(of: "name: Austin Comfort HVAC", with: "name: *nowhere") })
        out.append(text(deployment, "alias of a list where a string is expected", .mustFail) {
            "x-list: &list [a, b]\n" + $0.replacingOccurrences(of: "name: Austin Comfort HVAC", with: "name: *list")
        })
        // Legitimate uses of anchors and aliases stay valid.
        out.append(text("mappings/model.yaml", "anchor on a field type, alias on another", .mustPass) {
            $0.replacingOccurrences(of: "      job_name: string", with: "      job_name: &text string")
                .replacingOccurrences(of: "      job_number: string", with: "      job_number: *text")
        })
        out.append(text(deployment, "anchored fields mapping, never aliased", .mustPass) {
            $0.replacingOccurrences(of: "fields: { tenant_id: \"1234567\" }", with: "fields: &st { tenant_id: \"1234567\" }")
        })
        out.append(text(deployment, "anchored credential reference", .mustPass) {
            $0.replacingOccurrences(of: "client_id: env:SERVICETITAN_CLIENT_ID", with: "client_id: &stid env:SERVICETITAN_CLIENT_ID")
        })
        return out
    }

    static let invalidUTF8: [(String, [UInt8])] = [
        ("0xFF", [0xFF]), ("a lone continuation byte", [0x80]), ("a truncated two-byte sequence", [0xC3]),
        ("an overlong encoding", [0xC0, 0xAF]), ("an encoded surrogate", [0xED, 0xA0, 0x80]),
    ]

    static var encodings: [ConfigMutation] {
        var out: [ConfigMutation] = []
        for file in targets.prefix(3) + [deployment] {
            for (what, bad) in invalidUTF8 {
                out.append(bytes(file, "invalid UTF-8 (\(what)) at the start", .mustFail) { bad + $0 })
                out.append(bytes(file, "invalid UTF-8 (\(what)) in the first value", .mustFail) { b in
                    guard let colon = b.firstIndex(of: UInt8(ascii: ":")) else { return bad + b }
                    return Array(b[...colon]) + [UInt8(ascii: " ")] + bad + Array(b[(colon + 1)...])
                })
                out.append(bytes(file, "invalid UTF-8 (\(what)) at the end", .mustFail) { $0 + bad })
            }
            out.append(bytes(file, "invalid UTF-8 in a comment", .mustFail) { [UInt8]("# caf".utf8) + [0xE9] + [UInt8]("\n".utf8) + $0 })
        }
        for file in targets {
            out.append(bytes(file, "UTF-8 byte-order mark", .mustPass) { ConfigMutationTests.bom + $0 })
        }
        out.append(ConfigMutation(name: "a byte-order mark on every file", expectation: .mustPass) { dir in
            for file in shippedFiles("integrations.d") + shippedFiles("mappings") + [deployment] {
                let url = URL(fileURLWithPath: dir + "/" + file)
                try Data(ConfigMutationTests.bom + [UInt8](try Data(contentsOf: url))).write(to: url)
            }
        })
        out.append(text("integrations.d/servicetitan.yaml", "non-ASCII text in a description", .mustPass) {
            $0.replacingOccurrences(of: "display_name: ServiceTitan", with: "display_name: ServiceTitan — Fälle ✓")
        })
        return out
    }

    static var truncations: [ConfigMutation] {
        var out: [ConfigMutation] = []
        // In the middle of a top-level key: a key without its colon is never valid.
        for file in shippedFiles("integrations.d") + sample(shippedFiles("mappings"), 8) + [deployment] {
            let t = shipped(file)
            var offset = 0
            for line in lines(t) {
                defer { offset += line.utf8.count + 1 }
                guard let first = line.first, first.isLetter, line.contains(":") else { continue }
                let cut = offset + max(1, line.prefix { $0 != ":" }.utf8.count / 2)
                out.append(bytes(file, "truncated at byte \(cut), inside key '\(line.prefix { $0 != ":" })'", .mustFail) { Array($0.prefix(cut)) })
            }
        }
        // Right after an opening brace or quote: an unterminated flow mapping or string.
        for file in targets {
            let t = shipped(file)
            let b = Array(t.utf8)
            // Only indicators on mapping-entry lines count: not comments, not block scalar text.
            let entryLines = Set(keyLines(t).map(\.index))
            var opens: [Int] = []
            var lineIndex = 0
            var lineStart = 0
            for (i, c) in b.enumerated() {
                if c == UInt8(ascii: "\n") {
                    lineIndex += 1
                    lineStart = i + 1
                    continue
                }
                guard c == UInt8(ascii: "{") || c == UInt8(ascii: "\""), entryLines.contains(lineIndex) else { continue }
                let before = String(decoding: b[lineStart..<i], as: UTF8.self)
                if before.contains("#") || before.contains("\"") || !before.hasSuffix(": ") { continue }
                opens.append(i + 1)
            }
            for cut in sample(opens, 5) {
                out.append(bytes(file, "truncated at byte \(cut), after an opening \(Character(UnicodeScalar(b[cut - 1])))", .mustFail) { Array($0.prefix(cut)) })
            }
        }
        return out
    }

    static var deletions: [ConfigMutation] {
        var out: [ConfigMutation] = []
        func deleteLine(_ file: String, _ prefix: String) {
            out.append(text(file, "deleted required line '\(prefix.trimmingCharacters(in: .whitespaces))'", .mustFail) { t in
                var ls = lines(t)
                if let i = ls.firstIndex(where: { $0.hasPrefix(prefix) }) { ls.remove(at: i) }
                return ls.joined(separator: "\n")
            })
        }
        for file in shippedFiles("integrations.d") {
            deleteLine(file, "provider:")
            deleteLine(file, "display_name:")
        }
        for file in shippedFiles("mappings") where file != "mappings/model.yaml" {
            deleteLine(file, "target:")
        }
        deleteLine(deployment, "store:")
        deleteLine("integrations.d/servicetitan.yaml", "  kind: oauth2_client_credentials")
        deleteLine("integrations.d/servicetitan.yaml", "  token_url:")
        deleteLine("integrations.d/servicetitan.yaml", "    entity: jobs")
        for connection in ["servicetitan", "jobber", "quickbooks", "google-business-profile"] {
            deleteLine(deployment, "        integration: \(connection)")
        }
        return out
    }

    static var duplications: [ConfigMutation] {
        var out: [ConfigMutation] = []
        for file in targets {
            for (index, line) in sample(keyLines(shipped(file)), 5) {
                out.append(text(file, "duplicated line \(index + 1) '\(line.trimmingCharacters(in: .whitespaces))'", .mustFail) { t in
                    var ls = lines(t)
                    ls.insert(ls[index], at: index + 1)
                    return ls.joined(separator: "\n")
                })
            }
        }
        return out
    }

    static var indentationChanges: [ConfigMutation] {
        var out: [ConfigMutation] = []
        for file in targets {
            let all = keyLines(shipped(file))
            // A key under a sibling that has a scalar value: indented further it is inside that
            // scalar; indented less it matches no enclosing mapping.
            var candidates: [Int] = []
            for (a, b) in zip(all, all.dropFirst()) where b.index == a.index + 1 {
                let v = value(of: a.line)
                guard indentation(a.line) == indentation(b.line), indentation(b.line) >= 2, !v.isEmpty,
                      !v.hasPrefix(">"), !v.hasPrefix("|"), !v.hasPrefix("#") else { continue }
                candidates.append(b.index)
            }
            for index in sample(candidates, 3) {
                out.append(text(file, "line \(index + 1) indented two more", .mustFail) { t in
                    var ls = lines(t)
                    ls[index] = "  " + ls[index]
                    return ls.joined(separator: "\n")
                })
                out.append(text(file, "line \(index + 1) indented one less", .mustFail) { t in
                    var ls = lines(t)
                    ls[index] = String(ls[index].dropFirst())
                    return ls.joined(separator: "\n")
                })
            }
        }
        return out
    }

    static var typeSwaps: [ConfigMutation] {
        var out: [ConfigMutation] = []
        func swap(_ file: String, _ linePrefix: String, _ replacements: [String]) {
            for r in replacements {
                out.append(text(file, "'\(linePrefix.trimmingCharacters(in: .whitespaces))' becomes \(r)", .mustFail) { t in
                    var ls = lines(t)
                    guard let i = ls.firstIndex(where: { $0.hasPrefix(linePrefix) }) else { return t }
                    ls[i] = linePrefix + " " + r
                    return ls.joined(separator: "\n")
                })
            }
        }
        let notAString = ["123", "4.5", "true", "yes", "off", "~", "[a, b]", "{a: 1}"]
        swap("integrations.d/servicetitan.yaml", "display_name:", notAString)
        swap("integrations.d/quickbooks.yaml", "display_name:", ["-7", "false"])
        swap("integrations.d/servicetitan.yaml", "base_url:", ["8080", "true", "[https://a.test]"])
        swap("integrations.d/servicetitan.yaml", "status:", ["1", "[available]"])
        swap("integrations.d/servicetitan.yaml", "capabilities:", ["jobs", "42", "{jobs: true}"])
        swap("integrations.d/servicetitan.yaml", "  token_url:", ["443", "no"])
        swap("integrations.d/google-business-profile.yaml", "      page_size:", ["\"twenty\"", "true", "[20]", "{n: 20}", "2.5"])
        swap("integrations.d/google-business-profile.yaml", "    lookup_only:", ["\"true\"", "1", "[true]", "maybe"])
        swap("mappings/servicetitan/jobs.yaml", "target:", ["123", "true", "[jobs]", "{table: jobs}"])
        swap("mappings/servicetitan/jobs.yaml", "  job_name:", ["42", "true", "[summary]"])
        swap("mappings/model.yaml", "      job_name:", ["42", "[string]"])
        swap(deployment, "store:", ["42", "true", "[sqlite:x.sqlite]"])
        swap(deployment, "    name:", ["1999", "on"])
        swap(deployment, "  - id:", ["123"])
        swap(deployment, "        environment:", ["7", "true"])
        swap(deployment, "          client_id:", ["yes", "12345"])
        swap(deployment, "        fields:", ["{ tenant_id: 1234567 }", "{ tenant_id: [1] }"])
        return out
    }

    static var unknownKeys: [ConfigMutation] {
        var out: [ConfigMutation] = []
        for file in targets {
            out.append(text(file, "unknown top-level key", .mustFail) { $0 + "\nbogus_key: 1\n" })
        }
        func insertAfter(_ file: String, _ linePrefix: String) {
            out.append(text(file, "unknown key under '\(linePrefix.trimmingCharacters(in: .whitespaces))'", .mustFail) { t in
                var ls = lines(t)
                guard let i = ls.firstIndex(where: { $0.hasPrefix(linePrefix) }), i + 1 < ls.count else { return t }
                ls.insert(String(repeating: " ", count: indentation(ls[i + 1])) + "bogus_key: 1", at: i + 1)
                return ls.joined(separator: "\n")
            })
        }
        insertAfter("integrations.d/servicetitan.yaml", "auth:")
        insertAfter("integrations.d/quickbooks.yaml", "auth:")
        insertAfter("integrations.d/google-business-profile.yaml", "    paginate:")
        insertAfter("integrations.d/google-business-profile.yaml", "    request:")
        insertAfter("integrations.d/servicetitan.yaml", "  jobs:")
        insertAfter(deployment, "  - id:")
        insertAfter(deployment, "      - id: austin-servicetitan")
        insertAfter(deployment, "      - id: austin-jobber")
        insertAfter("mappings/servicetitan/jobs.yaml", "  job_type:")
        insertAfter("mappings/model.yaml", "  jobs:")
        return out
    }

    static var sizes: [ConfigMutation] {
        let huge = String(repeating: "x", count: 2 << 20)
        let large = String(repeating: "word ", count: 40_000)
        return [
            text("integrations.d/servicetitan.yaml", "a 2 MiB description", .mustFail) {
                $0.replacingOccurrences(of: "display_name: ServiceTitan", with: "display_name: ServiceTitan\nx-huge: \(huge)")
            },
            text(deployment, "a 2 MiB comment", .mustFail) { "# \(huge)\n" + $0 },
            text("mappings/model.yaml", "a 2 MiB key", .mustFail) { "\(huge): 1\n" + $0 },
            text("integrations.d/servicetitan.yaml", "a 200 KB display name", .mustPass) {
                $0.replacingOccurrences(of: "display_name: ServiceTitan", with: "display_name: \(large)x")
            },
            text(deployment, "a 200 KB comment", .mustPass) { "# \(large)\n" + $0 },
            text(deployment, "a flow list of 200,000 numbers", .mustFail) {
                $0 + "x-numbers: [" + Array(repeating: "1", count: 200_000).joined(separator: ",") + "]\n"
            },
            text(deployment, "duplicate keys in 60 mappings of a 560 KB file", .mustFail) { t in
                t + (0..<60).map { m in
                    "x-m\(m):\n  k: 1\n  k: 2\n" + (0..<200).map { "  f\($0): value number \($0) with some padding text\n" }.joined()
                }.joined()
            },
        ]
    }

    static var nesting: [ConfigMutation] {
        [
            text(deployment, "10,000 nested flow lists", .mustFail) {
                "x-deep: " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "\n" + $0
            },
            text(deployment, "10,000 unclosed flow lists", .mustFail) { "x-deep: " + String(repeating: "[", count: 10_000) + "\n" + $0 },
            text("mappings/model.yaml", "200 nested flow mappings", .mustFail) {
                "x-deep: " + String(repeating: "{a: ", count: 200) + "1" + String(repeating: "}", count: 200) + "\n" + $0
            },
            text("integrations.d/servicetitan.yaml", "500 nested block mappings", .mustFail) {
                "x-deep:\n" + (1...500).map { String(repeating: " ", count: $0) + "k:\n" }.joined() + $0
            },
            text(deployment, "2,000 nested block lists on one line", .mustFail) {
                "x-deep:\n" + String(repeating: "- ", count: 2_000) + "x\n" + $0
            },
            text("mappings/servicetitan/jobs.yaml", "a value nested 20 deep where a string is expected", .mustFail) {
                $0.replacingOccurrences(of: "  job_name: summary", with: "  job_name: " + String(repeating: "[", count: 20) + String(repeating: "]", count: 20))
            },
        ]
    }

    static var tabsAndControls: [ConfigMutation] {
        var out: [ConfigMutation] = []
        for file in targets {
            let indented = keyLines(shipped(file)).filter { indentation($0.line) >= 2 }
            for (index, _) in sample(indented, 2) {
                out.append(text(file, "tab indentation on line \(index + 1)", .mustFail) { t in
                    var ls = lines(t)
                    ls[index] = "\t" + ls[index].drop { $0 == " " }
                    return ls.joined(separator: "\n")
                })
            }
        }
        out.append(text("integrations.d/servicetitan.yaml", "a tab inside a value", .mustPass) {
            $0.replacingOccurrences(of: "display_name: ServiceTitan", with: "display_name: Service\tTitan")
        })
        for file in targets.prefix(3) + [deployment] {
            out.append(bytes(file, "NUL byte at the start", .mustFail) { [0] + $0 })
            out.append(bytes(file, "NUL byte in the middle", .mustFail) { b in
                let middle = b.count / 2
                return Array(b[..<middle]) + [0] + Array(b[middle...])
            })
            out.append(bytes(file, "NUL byte at the end", .mustFail) { $0 + [0] })
            out.append(bytes(file, "a form feed (control character) in the first value", .mustFail) { b in
                guard let colon = b.firstIndex(of: UInt8(ascii: ":")) else { return b }
                return Array(b[...colon]) + [UInt8(ascii: " "), 0x0C] + Array(b[(colon + 1)...])
            })
        }
        return out
    }

    static var lineEndings: [ConfigMutation] {
        var out: [ConfigMutation] = targets.map { file in
            text(file, "CRLF line endings", .mustPass) { $0.replacingOccurrences(of: "\n", with: "\r\n") }
        }
        out.append(ConfigMutation(name: "CRLF line endings and a byte-order mark on every file", expectation: .mustPass) { dir in
            for file in shippedFiles("integrations.d") + shippedFiles("mappings") + [deployment] {
                let url = URL(fileURLWithPath: dir + "/" + file)
                let crlf = String(decoding: try Data(contentsOf: url), as: UTF8.self).replacingOccurrences(of: "\n", with: "\r\n")
                try Data(ConfigMutationTests.bom + Array(crlf.utf8)).write(to: url)
            }
        })
        out.append(text(deployment, "no newline at the end", .mustPass) { t in
            var t = t
            while t.hasSuffix("\n") { t.removeLast() }
            return t
        })
        return out
    }

    static var emptyFiles: [ConfigMutation] {
        var out: [ConfigMutation] = []
        for file in targets {
            out.append(bytes(file, "empty file", .mustFail) { _ in [] })
        }
        out.append(text("integrations.d/jobber.yaml", "only comments", .mustFail) { _ in "# nothing here\n# at all\n" })
        out.append(text("mappings/jobber/jobs.yaml", "only blank lines", .mustFail) { _ in "\n\n   \n" })
        out.append(bytes(deployment, "only a byte-order mark", .mustFail) { _ in ConfigMutationTests.bom })
        out.append(text("mappings/model.yaml", "a bare document marker", .mustFail) { _ in "---\n" })
        out.append(text(deployment, "two documents", .mustFail) { $0 + "\n---\nstore: sqlite:other.sqlite\n" })
        return out
    }

    static var symlinks: [ConfigMutation] {
        let fm = FileManager.default
        return [
            ConfigMutation(name: "mappings/ is a symlink to a folder elsewhere", expectation: .mustPass) { dir in
                try fm.createDirectory(atPath: dir + "/vendor", withIntermediateDirectories: true)
                try fm.moveItem(atPath: dir + "/mappings", toPath: dir + "/vendor/mappings")
                try fm.createSymbolicLink(atPath: dir + "/mappings", withDestinationPath: "vendor/mappings")
            },
            ConfigMutation(name: "integrations.d/ is a symlink to a folder elsewhere", expectation: .mustPass) { dir in
                try fm.moveItem(atPath: dir + "/integrations.d", toPath: dir + "/shared-integrations")
                try fm.createSymbolicLink(atPath: dir + "/integrations.d", withDestinationPath: dir + "/shared-integrations")
            },
            ConfigMutation(name: "mappings/servicetitan is a symlinked folder", expectation: .mustPass) { dir in
                try fm.moveItem(atPath: dir + "/mappings/servicetitan", toPath: dir + "/st-mappings")
                try fm.createSymbolicLink(atPath: dir + "/mappings/servicetitan", withDestinationPath: "../st-mappings")
            },
            ConfigMutation(name: "integrations.d and mappings/servicetitan laid out like a Kubernetes ConfigMap mount", expectation: .mustPass) { dir in
                for folder in ["integrations.d", "mappings/servicetitan"] {
                    let base = dir + "/" + folder
                    let files = try fm.contentsOfDirectory(atPath: base)
                    let version = base + "/..2024_05_01_12_00_00.123456789"
                    try fm.createDirectory(atPath: version, withIntermediateDirectories: true)
                    for f in files {
                        try fm.moveItem(atPath: base + "/" + f, toPath: version + "/" + f)
                        try fm.createSymbolicLink(atPath: base + "/" + f, withDestinationPath: "..data/" + f)
                    }
                    try fm.createSymbolicLink(atPath: base + "/..data", withDestinationPath: "..2024_05_01_12_00_00.123456789")
                }
            },
            ConfigMutation(name: "a mapping file is a symlink", expectation: .mustPass) { dir in
                try fm.moveItem(atPath: dir + "/mappings/yelp/reviews.yaml", toPath: dir + "/yelp-reviews.yaml")
                try fm.createSymbolicLink(atPath: dir + "/mappings/yelp/reviews.yaml", withDestinationPath: "../../yelp-reviews.yaml")
            },
            ConfigMutation(name: "a symlink loop inside mappings/", expectation: .mustPass) { dir in
                try fm.createSymbolicLink(atPath: dir + "/mappings/loop", withDestinationPath: ".")
                try fm.createSymbolicLink(atPath: dir + "/mappings/servicetitan/up", withDestinationPath: "..")
            },
            ConfigMutation(name: "a symlink that points at itself, not a YAML name", expectation: .mustPass) { dir in
                try fm.createSymbolicLink(atPath: dir + "/mappings/self", withDestinationPath: "self")
            },
            ConfigMutation(name: "a YAML symlink that points at itself", expectation: .mustFail) { dir in
                try fm.createSymbolicLink(atPath: dir + "/mappings/servicetitan/self.yaml", withDestinationPath: "self.yaml")
            },
            ConfigMutation(name: "a dangling integration symlink", expectation: .mustFail) { dir in
                try fm.createSymbolicLink(atPath: dir + "/integrations.d/gone.yaml", withDestinationPath: "nowhere.yaml")
            },
            ConfigMutation(name: "a FIFO named like a mapping file", expectation: .mustFail) { dir in
                guard mkfifo(dir + "/mappings/jobber/pipe.yaml", 0o644) == 0 else { throw MutationDidNotApply(name: "mkfifo") }
            },
            ConfigMutation(name: "two symlinks pointing at each other", expectation: .mustFail) { dir in
                try fm.createSymbolicLink(atPath: dir + "/mappings/jobber/a.yaml", withDestinationPath: "b.yaml")
                try fm.createSymbolicLink(atPath: dir + "/mappings/jobber/b.yaml", withDestinationPath: "a.yaml")
            },
        ]
    }
}

@Suite struct ConfigMutationTests {
    static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
    static let cases = MutationCorpus.all

    @Test func theCorpusIsLargeAndMixed() {
        #expect(ConfigMutationTests.cases.count >= 200)
        #expect(ConfigMutationTests.cases.filter { $0.expectation == .mustPass }.count >= 20)
        #expect(Set(ConfigMutationTests.cases.map(\.name)).count == ConfigMutationTests.cases.count, "case names are unique")
    }

    @Test func theUnmutatedCopyIsClean() throws {
        let dir = try MutationCorpus.freshProject()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let project = ProjectLoader.load(root: dir, environment: { _ in "set" })
        #expect(project.diagnostics.map(\.description) == [])
    }

    /// Loading is synchronous and CPU-bound. Cases run one at a time on a thread of their own,
    /// not on Swift's cooperative pool (two threads on a two-core machine): hundreds of them
    /// there, or on every core, starve the latency-bound suites that run alongside (the
    /// sandbox's start/stop timing test).
    static let loaders: OperationQueue = {
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        return queue
    }()

    static func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            loaders.addOperation { continuation.resume(with: Result { try work() }) }
        }
    }

    /// No crash, under five seconds, and the verdict the mutation calls for.
    @Test(arguments: cases)
    func mutatedProject(_ mutation: ConfigMutation) async throws {
        let (elapsed, errors) = try await ConfigMutationTests.offThePool {
            let dir = try MutationCorpus.freshProject()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try mutation.apply(dir)
            var project: Project?
            let elapsed = ContinuousClock().measure {
                project = ProjectLoader.load(root: dir, environment: { _ in "set" })
            }
            return (elapsed, (project?.diagnostics ?? []).filter { $0.severity == .error }.map(\.description))
        }
        #expect(elapsed < .seconds(5), "\(mutation.name): took \(elapsed)")
        switch mutation.expectation {
        case .mustFail:
            #expect(!errors.isEmpty, "\(mutation.name): a broken configuration validated clean")
        case .mustPass:
            #expect(errors.isEmpty, "\(mutation.name): a harmless change was reported: \(errors.prefix(5))")
        }
    }
}
