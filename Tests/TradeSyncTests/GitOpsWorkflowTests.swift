import ArgumentParser
import Foundation
import Testing
@testable import TradeSyncCLI
import TradeSyncConfig
import TradeSyncCore

/// examples/gitops/.github/workflows/tradesync.yml: it is YAML GitHub can read, and every
/// `tradesync` command line in its `run:` scripts parses with this build's command tree, so the
/// example cannot drift from the CLI.
@Suite struct GitOpsWorkflowTests {
    static let path = Repo.root + "/examples/gitops/.github/workflows/tradesync.yml"

    struct Invocation: CustomStringConvertible {
        var job: String
        var step: String
        var arguments: [String]
        var description: String { "\(job) / \(step): tradesync \(arguments.joined(separator: " "))" }
    }

    static func workflow() throws -> ConfigTree {
        let sink = DiagnosticSink()
        let root = parseYAMLFile(path: path, displayPath: "tradesync.yml", sink: sink)
        #expect(sink.diagnostics.isEmpty, "\(sink.diagnostics)")
        return try #require(root).node
    }

    static func value(_ tree: ConfigTree, _ key: String) -> ConfigTree? {
        guard case .mapping(let m) = tree else { return nil }
        return m.pairs.first { $0.key.string == key }?.value
    }

    static func pairs(_ tree: ConfigTree?) -> [(String, ConfigTree)] {
        guard case .mapping(let m)? = tree else { return [] }
        return m.pairs.map { ($0.key.string ?? "", $0.value) }
    }

    /// Every `tradesync …` command in the jobs' `run:` scripts, arguments as the shell passes them.
    static func invocations() throws -> [Invocation] {
        var out: [Invocation] = []
        for (job, body) in pairs(value(try workflow(), "jobs")) {
            guard case .sequence(let steps)? = value(body, "steps") else { continue }
            for step in steps {
                guard let script = value(step, "run")?.string else { continue }
                let name = value(step, "name")?.string ?? "?"
                for command in ShellWords.commands(script) where command.first == "tradesync" {
                    out.append(Invocation(job: job, step: name, arguments: Array(command.dropFirst())))
                }
            }
        }
        return out
    }

    @Test func theWorkflowRunsValidateTestPlanOnPullRequestsAndApplyOnMain() throws {
        let root = try Self.workflow()
        let on = try #require(Self.value(root, "on"))
        #expect(Self.value(on, "pull_request") != nil)
        guard case .sequence(let branches)? = Self.value(Self.value(on, "push") ?? .alias(nil), "branches") else {
            Issue.record("on.push.branches is missing")
            return
        }
        #expect(branches.map(\.string) == ["main"])
        let all = try Self.invocations()
        let plan = all.filter { $0.job == "plan" }.map { $0.arguments.first ?? "" }
        #expect(Array(plan.prefix(3)) == ["validate", "test", "plan"])
        let planCommand = try #require(all.first { $0.job == "plan" && $0.arguments.first == "plan" })
        for flag in ["-d", "--out", "--json"] { #expect(planCommand.arguments.contains(flag), "\(planCommand)") }
        let apply = try #require(all.first { $0.job == "apply" && $0.arguments.contains("--plan") })
        #expect(apply.arguments.first == "apply")
        #expect(apply.arguments.contains("--auto-approve"))
    }

    /// Credentials reach tradesync as environment variables filled from GitHub secrets: the
    /// workflow names them, and never holds a value.
    @Test func credentialsComeFromSecretsOnly() throws {
        let env = Self.pairs(Self.value(try Self.workflow(), "env"))
        let deployment = try String(contentsOfFile: Repo.root + "/examples/austin-hvac/tradesync.yaml", encoding: .utf8)
        let references = deployment.split(separator: "\n").compactMap { line -> String? in
            guard !line.trimmingCharacters(in: .whitespaces).hasPrefix("#"), let r = line.range(of: "env:") else { return nil }
            let name = String(line[r.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" })
            return name.isEmpty ? nil : name
        }
        #expect(references.count >= 10)
        for name in references {
            let value = env.first { $0.0 == name }?.1.string
            #expect(value == "${{ secrets.\(name) }}", "\(name) must come from the secret of the same name")
        }
        for (name, v) in env where name.contains("SECRET") || name.contains("KEY") || name.hasSuffix("_URL") && name.contains("STORE") {
            #expect(v.string?.hasPrefix("${{ secrets.") == true, "\(name) holds a value instead of a secret")
        }
    }

    @Test func everyTradesyncInvocationParses() throws {
        let all = try Self.invocations()
        #expect(all.count >= 6)
        for invocation in all {
            guard let sub = invocation.arguments.first else {
                Issue.record("\(invocation): no subcommand")
                continue
            }
            do {
                _ = try TradeSyncCommand.parseAsRoot(invocation.arguments)
            } catch {
                Issue.record("\(invocation) does not parse: \(TradeSyncCommand.message(for: error))")
            }
        }
    }

    /// The workflow's point: plan on a pull request, apply the saved plan on merge.
    @Test func theWorkflowPlansAndApplies() throws {
        let commands = Set(try Self.invocations().compactMap { $0.arguments.first })
        #expect(commands.isSuperset(of: ["validate", "test", "plan", "apply"]))
    }

    @Test func theShellSplitterReadsTheWorkflowsForms() {
        #expect(ShellWords.commands(#"tradesync plan -d "$D" --out plan.bin --json > plan.json"#)
            == [["tradesync", "plan", "-d", "$D", "--out", "plan.bin", "--json"]])
        #expect(ShellWords.commands("set +e\n  # tradesync no\n  tradesync validate . 'a b' \\\n   --format json || [ $? -eq 2 ]; echo x")
            == [["set", "+e"], ["tradesync", "validate", ".", "a b", "--format", "json"], ["[", "$?", "-eq", "2", "]"], ["echo", "x"]])
        #expect(ShellWords.commands("if [ \"$code\" -ne 0 ]; then exit \"$code\"; fi")
            == [["if", "[", "$code", "-ne", "0", "]"], ["exit", "$code"], ["fi"]])
    }
}

/// Just enough of the shell to find simple commands: quotes, line continuations, comments,
/// `;` `&&` `||` `|` separators and redirections (dropped with their target). `then`/`do`/`else`
/// start a new command.
enum ShellWords {
    static func commands(_ script: String) -> [[String]] {
        let text = script.replacingOccurrences(of: "\\\n", with: " ")
        var commands: [[String]] = []
        var current: [String] = []
        var word = ""
        var inWord = false
        var skipNext = false
        func endWord() {
            if inWord {
                if skipNext { skipNext = false } else if current.isEmpty && ["then", "do", "else"].contains(word) {} else { current.append(word) }
            }
            word = ""
            inWord = false
        }
        func endCommand() {
            endWord()
            if !current.isEmpty { commands.append(current) }
            current = []
        }
        var chars = Array(text)[...]
        while let c = chars.first {
            chars = chars.dropFirst()
            switch c {
            case "'":
                inWord = true
                while let d = chars.first, d != "'" { word.append(d); chars = chars.dropFirst() }
                chars = chars.dropFirst()
            case "\"":
                inWord = true
                while let d = chars.first, d != "\"" {
                    if d == "\\", chars.count > 1 { chars = chars.dropFirst() }
                    word.append(chars.first ?? d)
                    chars = chars.dropFirst()
                }
                chars = chars.dropFirst()
            case "#" where !inWord:
                while let d = chars.first, d != "\n" { chars = chars.dropFirst() }
            case "\n", ";":
                endCommand()
            case "&", "|":
                if chars.first == c { chars = chars.dropFirst() }
                endCommand()
            case ">", "<":
                // A redirection: `2>&1`, `> file`, `>> file`; the fd digit is part of the word before.
                if inWord, word.allSatisfy(\.isNumber) { word = ""; inWord = false } else { endWord() }
                if chars.first == ">" { chars = chars.dropFirst() }
                if chars.first == "&" {
                    chars = chars.dropFirst()
                    while let d = chars.first, d.isNumber { chars = chars.dropFirst() }
                } else {
                    skipNext = true
                }
            case " ", "\t":
                endWord()
            default:
                inWord = true
                word.append(c)
            }
        }
        endCommand()
        return commands
    }
}
