import Foundation
import Testing
import TradeSyncConfig
import TradeSyncCore

/// Hostile or unusual input files: each problem is reported at its line and column, quickly.
@Suite struct ConfigInputHardeningTests {
    /// Parses bytes as one file and returns the diagnostics and the root (if any).
    func parse(_ bytes: [UInt8], limits: YAMLLimits = .standard) throws -> (diagnostics: [String], root: ConfigNode?) {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/f.yaml"))
        let sink = DiagnosticSink()
        let root = parseYAMLFile(path: dir + "/f.yaml", displayPath: "f.yaml", sink: sink, limits: limits)
        return (sink.diagnostics.map(\.description), root)
    }

    func parse(_ text: String, limits: YAMLLimits = .standard) throws -> (diagnostics: [String], root: ConfigNode?) {
        try parse(Array(text.utf8), limits: limits)
    }

    @Test func aBillionLaughsIsRejectedAtTheAliasInUnderASecond() throws {
        var yaml = "a: &a [x, x, x, x, x, x, x, x, x]\n"
        for (name, previous) in zip("bcdefghi", "abcdefgh") {
            yaml += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]\n"
        }
        var result: (diagnostics: [String], root: ConfigNode?)?
        let elapsed = try ContinuousClock().measure { result = try parse(yaml) }
        #expect(elapsed < .seconds(1))
        // a to e take 76,738 nodes (keys included); the first *e (line 6, column 8) adds 66,430.
        #expect(result?.diagnostics == ["f.yaml:6:8: error: alias *e expands the document to more than 100000 nodes"])
        #expect(result?.root == nil)
    }

    @Test func aliasesWithinTheBudgetAreResolved() throws {
        let (diagnostics, root) = try parse("base: &b {kind: bearer}\nauth: *b\nother: *b\n")
        #expect(diagnostics == [])
        let object = try #require(root?.object())
        #expect(object.child("other")?.object()?.optional("kind", as: String.self) == "bearer")
    }

    @Test func aliasesNestedTooDeepAreRejected() throws {
        let chain = "a: &a [x]\nb: &b [*a]\nc: &c [*b]\n"
        #expect(try parse(chain, limits: YAMLLimits(maxAliasDepth: 2)).diagnostics == [])
        let (diagnostics, _) = try parse(chain + "d: &d [*c]\n", limits: YAMLLimits(maxAliasDepth: 2))
        #expect(diagnostics == ["f.yaml:4:8: error: alias *c nests aliases more than 2 deep"])
    }

    @Test func anAliasAsAMappingKeyIsRejectedBeforeParsing() throws {
        let (diagnostics, _) = try parse("a: &a [x]\nb:\n  *a : y\n")
        #expect(diagnostics == ["f.yaml:3:3: error: an alias cannot be a mapping key"])
    }

    /// Asterisks, question marks and brackets in comments, quotes, plain text and block
    /// scalars are text, not aliases, explicit keys or nesting.
    @Test func textThatOnlyLooksLikeYAMLIndicatorsIsAccepted() throws {
        let yaml = """
            # *a : not an alias, ? not a key, [[[[ not nesting
            cron: "*/5 * * * *"
            glob: '*.yaml: [x'
            note: see *this, or that? [1 &x
            steps:
              - |
                *b : inside a literal block
                ? neither
              - key: >
                  *c : folded
            after: plain
            """
        let (diagnostics, root) = try parse(yaml + "\n")
        #expect(diagnostics == [])
        #expect(root?.object()?.optional("after", as: String.self) == "plain")
    }

    @Test func tooManyNodesWithoutAliasesAreRejected() throws {
        let (diagnostics, _) = try parse("a: [1, 2, 3, 4, 5]\n", limits: YAMLLimits(maxExpandedNodes: 5))
        #expect(diagnostics == ["f.yaml:1:11: error: the document has more than 5 nodes"])
    }

    @Test func tenThousandNestedListsAreReportedNotOverflowed() throws {
        let (diagnostics, root) = try parse("ok: 1\ndeep: " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "\n")
        #expect(diagnostics == ["f.yaml:2:70: error: collections nest more than 64 levels deep"])
        #expect(root == nil)
    }

    @Test func deepBlockNestingIsReported() throws {
        let yaml = "root:\n" + (1...100).map { String(repeating: " ", count: $0) + "k:\n" }.joined()
        let (diagnostics, _) = try parse(yaml)
        #expect(diagnostics == ["f.yaml:65:65: error: collections nest more than 64 levels deep"])
    }

    @Test func anOversizedFileIsRefusedBeforeItIsRead() throws {
        let (diagnostics, _) = try parse("a: 1\n# padding\n", limits: YAMLLimits(maxFileBytes: 8))
        #expect(diagnostics == ["f.yaml:1:1: error: file is 15 bytes; configuration files may be at most 8 bytes"])
    }

    @Test func invalidUTF8IsReportedAtTheFirstBadByte() throws {
        let (diagnostics, root) = try parse(Array("a: ok\nb: caf".utf8) + [0xE9] + Array("\n".utf8))
        #expect(diagnostics == ["f.yaml:2:7: error: invalid UTF-8 (byte 0xE9); configuration files must be UTF-8 text"])
        #expect(root == nil)
        let (afterMultibyte, _) = try parse(Array("é: ".utf8) + [0xFF])
        #expect(afterMultibyte == ["f.yaml:1:4: error: invalid UTF-8 (byte 0xFF); configuration files must be UTF-8 text"])
    }

    @Test func aByteOrderMarkIsSkippedAndPositionsStayRight() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let (clean, root) = try parse(bom + Array("name: x\n".utf8))
        #expect(clean == [])
        #expect(root?.object()?.optional("name", as: String.self) == "x")
        let broken = Array("a: 1\nb: {c: 2\n".utf8)
        let (withBOM, _) = try parse(bom + broken)
        let (without, _) = try parse(broken)
        #expect(withBOM == without)
        #expect(!withBOM.isEmpty)
        let (bomAndBadByte, _) = try parse(bom + Array("ab".utf8) + [0xFF])
        #expect(bomAndBadByte == ["f.yaml:1:3: error: invalid UTF-8 (byte 0xFF); configuration files must be UTF-8 text"])
    }

    @Test(arguments: [
        ("display_name: 123", "an integer", "123"), ("base_url: true", "a boolean", "true"),
        ("client_id: yes", "a boolean", "yes"), ("version: 1.5", "a number", "1.5"),
    ])
    func aScalarOfAnotherTypeIsNotAString(line: String, kind: String, spelled: String) throws {
        let (_, root) = try parse(line + "\n")
        let object = try #require(root?.object())
        let key = String(line.prefix { $0 != ":" })
        #expect(object.optional(key, as: String.self) == nil)
        #expect(object.node.sink.diagnostics.map(\.description) == [
            "f.yaml:1:\(key.count + 3): error: \(key): expected a string, found \(kind); quote it: \"\(spelled)\""
        ])
    }

    @Test func quotedScalarsAreStrings() throws {
        let (_, root) = try parse("a: \"123\"\nb: 'true'\nc: plain text\n")
        let object = try #require(root?.object())
        #expect(object.optional("a", as: String.self) == "123")
        #expect(object.optional("b", as: String.self) == "true")
        #expect(object.optional("c", as: String.self) == "plain text")
        #expect(object.node.sink.diagnostics.isEmpty)
    }
}
