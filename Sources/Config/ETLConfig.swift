/// The validated configuration of responsys-etl.
///
/// Every local path in it is absolute: a relative path in the file is resolved against the folder of the
/// config file (not the working directory), so a scheduler can start the tool from anywhere; `~/…` is
/// resolved against the home folder.
public struct ETLConfig: Sendable, Equatable {
    /// The config file's absolute path.
    public var path: String
    /// The SHA-256 (lower-case hex) of the file's bytes, recorded in every run.
    public var digest: String
    /// `[staging] dir`, default `staging`.
    public var stagingDir: String
    /// `[auth.NAME]` tables by name.
    public var auths: [String: AuthConfig]
    /// `[workflows.NAME]` tables by name.
    public var workflows: [String: WorkflowConfig]

    public init(
        path: String, digest: String, stagingDir: String, auths: [String: AuthConfig],
        workflows: [String: WorkflowConfig]
    ) {
        self.path = path
        self.digest = digest
        self.stagingDir = stagingDir
        self.auths = auths
        self.workflows = workflows
    }

    /// The workflow called `name`.
    /// - Throws: `ConfigError` `.unknownWorkflow`, listing the workflows the file defines.
    public func workflow(named name: String) throws(ConfigError) -> WorkflowConfig {
        if let workflow = workflows[name] { return workflow }
        let known = workflows.keys.sorted()
        throw ConfigError(
            .unknownWorkflow, file: path, line: nil, key: "workflows.\(name)",
            message: "no workflow named '\(name)' in the config",
            remedy: known.isEmpty
                ? "add a [workflows.\(name)] table" : "known workflows: \(known.joined(separator: ", "))")
    }

    /// Every secret the config refers to, with the dotted key that names it, sorted by key. The CLI resolves
    /// them and registers the values with the logger's redactor.
    public var namedSecretRefs: [(key: String, secret: SecretRef)] {
        var found: [(key: String, secret: SecretRef)] = []
        for (name, auth) in auths {
            switch auth {
            case .interact(let interact):
                found.append(("auth.\(name).password", interact.password))
            case .sftp(let sftp):
                if let secret = sftp.privateKeyPassphrase {
                    found.append(("auth.\(name).private_key_passphrase", secret))
                }
                if let secret = sftp.pgpPassphrase { found.append(("auth.\(name).pgp_passphrase", secret)) }
            }
        }
        for (name, workflow) in workflows {
            if case .http(let sink) = workflow.importEvents?.sink {
                found.append(("workflows.\(name).sink.api_key", sink.apiKey))
            }
        }
        return found.sorted { $0.key < $1.key }
    }

    /// Resolves every secret of the config, reporting every one that is missing at once (each problem names
    /// the config file and the secret's key, never a value).
    /// - Returns: the values by dotted key, for the logger's redactor and for the modules that use them.
    public func resolveSecrets(environment: [String: String]) throws(ConfigError) -> [String: String] {
        var values: [String: String] = [:]
        var problems: [ConfigError.Problem] = []
        for (key, secret) in namedSecretRefs {
            do {
                values[key] = try secret.resolve(environment: environment)
            } catch {
                for var problem in error.problems {
                    problem.message = "\(problem.file): \(problem.message)"
                    problem.file = path
                    problem.key = key
                    problems.append(problem)
                }
            }
        }
        if !problems.isEmpty { throw ConfigError(problems: problems) }
        return values
    }

    /// Every secret the config refers to (see `namedSecretRefs`).
    public var secretRefs: [SecretRef] { namedSecretRefs.map(\.secret) }
}
