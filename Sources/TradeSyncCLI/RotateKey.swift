import ArgumentParser
import Foundation
import TradeSyncConfig
import TradeSyncEngine

struct RotateKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key",
        abstract: "Seal every stored token again under the deployment's current secrets_key.",
        discussion: """
            Rotation is configuration first, so that no moment exists in which a stored token cannot be read:
              1. make a new key:  head -c 32 /dev/urandom | base64
              2. in the deployment, point secrets_key at the new key and secrets_key_previous at the old one
                 (from then on new tokens are sealed with the new key, and both keys read);
              3. run `tradesync rotate-key -d DEPLOYMENT`: every token sealed under another key (or not
                 sealed at all, from before sealing) is sealed again under secrets_key;
              4. when it reports nothing left under the old key, remove secrets_key_previous.
            An interrupted rotation reads as it is and can simply be run again.
            Exit status: 0 on success, 1 on an error (no key, a key that cannot be read, a token that
            cannot be unsealed with the configured keys), 64 on a command-line usage error.
            """
    )

    @OptionGroup var options: DeploymentOptions

    func run() async throws {
        let (report, sealer, file) = try await options.withWorkspace(requiresKey: true) { workspace in
            (try await workspace.rotateKey(), try workspace.sealer(), workspace.deployment?.file ?? options.deployment)
        }
        print("current key id: \(sealer.current.id)\(sealer.previous.isEmpty ? "" : " (also reading \(sealer.previous.map(\.id).joined(separator: ", ")))")")
        print("connections re-sealed: \(report.resealed), already under the current key: \(report.current)")
        if !sealer.previous.isEmpty {
            print("nothing is left under the previous key: secrets_key_previous can be removed from \(file)")
        }
    }
}
