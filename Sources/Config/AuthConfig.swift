/// A named way to reach Responsys: `[auth.NAME]` with `type = "interact"` or `type = "sftp"`.
public enum AuthConfig: Sendable, Equatable {
    case interact(InteractAuthConfig)
    case sftp(SFTPAuthConfig)

    /// The `type` value of this auth in the config.
    public var typeName: String {
        switch self {
        case .interact: "interact"
        case .sftp: "sftp"
        }
    }
}

/// Responsys Interact (the REST API): `[auth.NAME] type = "interact"`.
///
/// Exactly one of `instance` and `base_url` is given.
public struct InteractAuthConfig: Sendable, Equatable {
    /// The Responsys pods whose login hosts the client knows.
    public enum Instance: String, Sendable, CaseIterable {
        case interact2, interact5, interact8, interact9
    }

    public var username: String
    /// From `password_env` or `password_file`.
    public var password: SecretRef
    /// The pod (`instance = "interact5"`); nil when `baseURL` is set.
    public var instance: Instance?
    /// A login URL of its own (`base_url = "http://127.0.0.1:8080"` for a test server); nil when
    /// `instance` is set. Validated to be http(s) with a host, without a trailing slash.
    public var baseURL: String?
    /// `connect_timeout_seconds`, default 15.
    public var connectTimeoutSeconds: Int
    /// `request_timeout_seconds`, default 120: the longest a whole request may take.
    public var requestTimeoutSeconds: Int

    public init(
        username: String, password: SecretRef, instance: Instance?, baseURL: String?, connectTimeoutSeconds: Int = 15,
        requestTimeoutSeconds: Int = 120
    ) {
        self.username = username
        self.password = password
        self.instance = instance
        self.baseURL = baseURL
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.requestTimeoutSeconds = requestTimeoutSeconds
    }
}

/// The Responsys SFTP server, and the PGP key its files are encrypted for: `[auth.NAME] type = "sftp"`.
///
/// Exactly one of `known_hosts_file` and `host_key_sha256` is given. Paths are absolute (relative ones in
/// the config are resolved against the config file's folder).
public struct SFTPAuthConfig: Sendable, Equatable {
    public var host: String
    /// `port`, default 22.
    public var port: Int
    public var username: String
    /// `private_key_file`: an OpenSSH or PEM private key.
    public var privateKeyFile: String
    /// `private_key_passphrase_env` / `private_key_passphrase_file`; nil for a key without passphrase.
    public var privateKeyPassphrase: SecretRef?
    /// `known_hosts_file`: an OpenSSH known_hosts file.
    public var knownHostsFile: String?
    /// `host_key_sha256`: a pinned fingerprint, exactly as OpenSSH prints it: `SHA256:` and 43 base64
    /// characters without padding.
    public var hostKeySHA256: String?
    /// `pgp_private_key_file`: the key the event files are encrypted for (armored or binary).
    public var pgpPrivateKeyFile: String?
    /// `pgp_passphrase_env` / `pgp_passphrase_file`.
    public var pgpPassphrase: SecretRef?
    /// `allow_no_mdc`, default false: accept PGP messages without integrity protection.
    public var allowNoMDC: Bool
    /// `connect_timeout_seconds`, default 30.
    public var connectTimeoutSeconds: Int

    public init(
        host: String, port: Int = 22, username: String, privateKeyFile: String, privateKeyPassphrase: SecretRef? = nil,
        knownHostsFile: String? = nil, hostKeySHA256: String? = nil, pgpPrivateKeyFile: String? = nil,
        pgpPassphrase: SecretRef? = nil, allowNoMDC: Bool = false, connectTimeoutSeconds: Int = 30
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.privateKeyFile = privateKeyFile
        self.privateKeyPassphrase = privateKeyPassphrase
        self.knownHostsFile = knownHostsFile
        self.hostKeySHA256 = hostKeySHA256
        self.pgpPrivateKeyFile = pgpPrivateKeyFile
        self.pgpPassphrase = pgpPassphrase
        self.allowNoMDC = allowNoMDC
        self.connectTimeoutSeconds = connectTimeoutSeconds
    }
}
