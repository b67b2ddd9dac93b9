import ArgumentParser
import Foundation
import TradeSyncCore
import TradeSyncEngine

/// `tradesync token`: the bearer tokens of `tradesync serve`'s HTTP API.
struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and revoke the bearer tokens of the HTTP API (`tradesync serve`).",
        discussion: """
            A contractor token sees only that contractor's connections; an admin token sees all. Only a SHA-256
            of each token is stored: a token is shown once, when it is created, and cannot be shown again.
            """,
        subcommands: [TokenCreate.self, TokenList.self, TokenRevoke.self]
    )
}

struct TokenCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a token; prints it alone on the last line of standard output.",
        discussion: """
            --contractor names a contractor id of the deployment file; --admin makes a token that sees every
            contractor. Send it as `Authorization: Bearer <token>`.
            Exit status: 0 on success, 1 on an error (an unknown contractor), 64 on a command-line usage error.
            """
    )

    @OptionGroup var options: DeploymentOptions

    @Option(help: "Contractor id (the seed's demo id) from the deployment file.")
    var contractor: String?

    @Flag(help: "A token that sees every contractor.")
    var admin = false

    @Option(help: "A note to tell tokens apart in `token list`.")
    var label: String?

    func validate() throws {
        if admin == (contractor != nil) { throw ValidationError("give exactly one of --contractor ID and --admin") }
    }

    func run() async throws {
        let (record, token) = try await options.withWorkspace { workspace in
            _ = try await workspace.migrate()
            do {
                return try await workspace.createAPIToken(contractor: contractor, admin: admin, label: label)
            } catch let e as APITokenError {
                throw CommandError(e.description)
            }
        }
        print("token \(record.id) for \(record.contractorId.map { "contractor \($0)" } ?? "every contractor (admin)")"
            + (record.label.map { " (\($0))" } ?? "") + "; it is shown once, store it now:")
        print(token)
    }
}

struct TokenList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the tokens: id, contractor, label, created, last used, revoked (never the token).",
        discussion: "Exit status: 0 on success, 1 on an error, 64 on a command-line usage error."
    )

    @OptionGroup var options: DeploymentOptions

    func run() async throws {
        let tokens = try await options.withWorkspace { workspace in
            _ = try await workspace.migrate()
            return try await workspace.apiTokens()
        }
        var table = [["id", "contractor", "label", "created", "last used", "revoked"]]
        for t in tokens {
            table.append([t.id, t.admin ? "(admin)" : (t.contractorId ?? "-"), t.label ?? "", ConnectionRow.iso(t.createdAt),
                          t.lastUsedAt.map(ConnectionRow.iso) ?? "-", t.revokedAt.map(ConnectionRow.iso) ?? "-"])
        }
        print(RunTable.table(table))
    }
}

struct TokenRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a token by id: its next request answers 401.",
        discussion: "Exit status: 0 on success, 1 on an error (no such token), 64 on a command-line usage error."
    )

    @OptionGroup var options: DeploymentOptions

    @Argument(help: "The token's id (`token list`).")
    var id: String

    func run() async throws {
        let revoked = try await options.withWorkspace { workspace in
            _ = try await workspace.migrate()
            return try await workspace.revokeAPIToken(id: id)
        }
        guard revoked else { throw CommandError("no token '\(id)' in the store; `tradesync token list` shows them") }
        print("token \(id): revoked")
    }
}
