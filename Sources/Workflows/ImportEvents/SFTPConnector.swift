import Config
import Core
import SFTP

/// Opens an authenticated SFTP session from a workflow's `sftp` auth.
struct SFTPConnector: Sendable {
    let settings: SFTPAuthConfig
    let passphrase: String?
    let logger: Logger

    func connect() throws -> SFTPSession {
        let policy: HostKeyPolicy
        if let pin = settings.hostKeySHA256 {
            policy = .pinned(pin)
        } else if let knownHosts = settings.knownHostsFile {
            policy = .knownHosts(knownHosts)
        } else {
            preconditionFailure("config validation guarantees known_hosts_file or host_key_sha256")
        }
        let session = try SFTPSession(
            host: settings.host, port: settings.port, username: settings.username,
            connectTimeout: Double(settings.connectTimeoutSeconds), hostKeyPolicy: policy, logger: logger)
        try session.authenticate(privateKeyFile: settings.privateKeyFile, passphrase: passphrase)
        return session
    }
}
