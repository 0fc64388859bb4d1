import Config
import Core
import Foundation

/// What every workflow's stages share: the validated config, the process environment (where `*_env`
/// secrets live), and the logger whose redactor knows every secret read.
public struct WorkflowEnvironment: Sendable {
    public let config: ETLConfig
    public let environment: [String: String]
    public let logger: Logger

    public init(config: ETLConfig, environment: [String: String], logger: Logger) {
        self.config = config
        self.environment = environment
        self.logger = logger
    }

    /// Reads a secret and registers it with the logger's redactor before anyone can print it.
    public func secret(_ reference: SecretRef) throws -> String {
        let value = try reference.resolve(environment: environment)
        logger.addSecret(value)
        return value
    }

    /// Reads every secret the workflow will need, so a missing one stops the command before any stage
    /// runs (exit status 2) and every one is known to the redactor from the start.
    public func registerSecrets(of workflow: WorkflowConfig) throws {
        for reference in WorkflowSecrets.references(of: workflow) {
            _ = try secret(reference)
        }
    }

    /// The workflow's state folder: what survives runs (ledger, delivered snapshot, GnuPG home).
    public func statePath(of workflow: WorkflowConfig) -> String {
        config.stagingDir + "/" + workflow.name + "/state"
    }
}

/// The secrets each workflow type reads.
enum WorkflowSecrets {
    static func references(of workflow: WorkflowConfig) -> [SecretRef] {
        switch workflow.settings {
        case .importEvents(let settings):
            var references = [settings.sftp.privateKeyPassphrase, settings.sftp.pgpPassphrase].compactMap { $0 }
            if case .http(let sink) = settings.sink { references.append(sink.apiKey) }
            return references
        case .exportUsers(let settings):
            return [settings.interact.password]
        case .exportCampaign(let settings):
            return [settings.interact.password]
        }
    }
}
