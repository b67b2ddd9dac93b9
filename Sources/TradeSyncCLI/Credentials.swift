import Foundation
import TradeSyncConfig
import TradeSyncEngine

extension DeploymentOptions {
    /// The deployment's token sealer; nil when it has no `secrets_key`. A key that cannot be
    /// read or is not 32 bytes of base64 is an error here, before anything runs.
    func sealer(_ config: DeploymentConfig, environment: @escaping @Sendable (String) -> String? = {
        ProcessInfo.processInfo.environment[$0]
    }) throws -> SecretSealer? {
        do {
            return try SecretSealer.load(config, resolver: CredentialResolver(environment: environment, baseDirectory: config.directory))
        } catch let error as SealError {
            throw CommandError(error.description)
        }
    }

    /// For `sync`: a key that cannot be read fails only the connections that keep tokens, not
    /// every connection of the deployment.
    func sealerOrProblem(_ config: DeploymentConfig) -> (SecretSealer?, SealError?) {
        do {
            return (try SecretSealer.load(config, resolver: CredentialResolver(baseDirectory: config.directory)), nil)
        } catch let error as SealError {
            return (nil, error)
        } catch {
            return (nil, SealError.badKey(field: "\(config.file): secrets_key", reference: "?", reason: "\(error)"))
        }
    }

    /// For commands that store tokens: refuses without a key, saying how to make one.
    func requiredSealer(_ config: DeploymentConfig) throws -> SecretSealer {
        guard let sealer = try sealer(config) else { throw CommandError(SealError.noKey(deploymentFile: config.file).description) }
        return sealer
    }
}
