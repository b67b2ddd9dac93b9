import ArgumentParser
import Foundation
import TradeSyncConfig
import TradeSyncCore
import TradeSyncEngine

struct Connect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Authorise an OAuth connection: print the provider's consent URL, wait for the redirect, store the tokens sealed.",
        discussion: """
            For oauth2_authorization_code integrations (Google Business Profile, Jobber, QuickBooks). Prints the
            authorization URL alone on one line of standard output, then listens on the redirect URI (loopback) for
            the provider's callback: the state is checked (random, single use, 10 minutes), the code is exchanged,
            and the tokens are sealed with the deployment's secrets_key. A connection in needs_reauth is connected
            again the same way. Register the redirect URI with the provider's OAuth client first.
            Exit status: 0 when connected, 1 on an error (denied, state mismatch, an expired or reused code,
            no secrets_key), 64 on a command-line usage error.
            """
    )

    @OptionGroup var options: DeploymentOptions

    @Argument(help: "Connection id from the deployment file.")
    var connection: String

    @Option(help: "Redirect URI registered with the provider (a loopback http URL this command listens on).")
    var redirectURI = OAuthConnector.defaultRedirectURI

    @Option(help: "Seconds to wait for the callback.")
    var timeout = 600

    func run() async throws {
        try await options.withWorkspace(requiresKey: true) { workspace in
            let connector = try workspace.oauth()
            let record = try pick(connection, from: try await workspace.migrate().connections)
            let request = try await connector.begin(record, redirectURI: redirectURI)
            let query = try await CallbackListener.receive(redirectURI: redirectURI, timeout: .seconds(max(1, timeout))) {
                // The URL alone on standard output, so a script can open it; everything else on standard error.
                // Written unbuffered: a pipe would otherwise hold it until the command ends.
                FileHandle.standardOutput.write(Data((request.url + "\n").utf8))
                printError("waiting for the provider's redirect to \(redirectURI) …")
            }
            let connected = try await connector.complete(request, callback: query)
            printError("\(connected.connectionKey): \(connected.status.rawValue) (tokens sealed under key \(try workspace.sealer().current.id))")
        }
    }
}

struct Disconnect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Revoke an OAuth connection at the provider, forget its tokens, mark it disconnected.",
        discussion: """
            Revokes the refresh token where the provider has a revoke endpoint (Google, Intuit), deletes the stored
            tokens and sets the connection's status to disconnected. Synced data stays. `connect` connects it again.
            Exit status: 0 on success (also when the provider could not be told: the reason is printed), 1 on an
            error, 64 on a command-line usage error.
            """
    )

    @OptionGroup var options: DeploymentOptions

    @Argument(help: "Connection id from the deployment file.")
    var connection: String

    func run() async throws {
        try await options.withWorkspace(requiresKey: true) { workspace in
            let record = try pick(connection, from: try await workspace.connections())
            let outcome = try await workspace.oauth().disconnect(record)
            print("\(record.connectionKey): disconnected; tokens deleted; "
                + (outcome.revoked ? "revoked at the provider" : "not revoked at the provider: \(outcome.note ?? "")"))
        }
    }
}

struct Refresh: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Refresh an OAuth connection's access token now (checks that its refresh token works).",
        discussion: """
            Asks the provider for a new access token with the stored refresh token, under the connection's
            credential lease; a rotated refresh token is sealed and stored before it is used. Several processes
            may do this at once without losing a rotating token.
            Exit status: 0 when every refresh succeeded, 1 when the provider refused (the connection needs
            `connect` again) or on an error, 64 on a command-line usage error.
            """
    )

    @OptionGroup var options: DeploymentOptions

    @Argument(help: "Connection id from the deployment file.")
    var connection: String

    @Option(help: "How many refreshes, one after another.")
    var times = 1

    func run() async throws {
        let outcome = try await options.withWorkspace(requiresKey: true) { workspace in
            let record = try pick(connection, from: try await workspace.migrate().connections)
            let (refreshed, refused) = try await workspace.oauth().refresh(record, times: times)
            return RefreshCount(refreshed: refreshed, refused: refused)
        }
        print("\(connection): \(outcome.refreshed) refreshed, \(outcome.refused) refused (invalid_grant)")
        if outcome.refused > 0 { throw ExitCode(1) }
    }
}

/// How many refreshes the provider granted and refused.
struct RefreshCount: Sendable {
    var refreshed: Int
    var refused: Int
}
