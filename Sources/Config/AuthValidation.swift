import Foundation

/// Validation of the `[auth.NAME]` tables.
enum AuthValidation {
    static func read(_ auth: TableReader) -> AuthConfig? {
        guard let type = auth.value("type") else {
            auth.missing("type", "\"interact\" or \"sftp\"")
            auth.finishIgnoringUnknown()
            return nil
        }
        switch type.string {
        case "interact": return interact(auth).map(AuthConfig.interact)
        case "sftp": return sftp(auth).map(AuthConfig.sftp)
        case let other?:
            auth.problem(.invalidValue, "type", "'\(other)' is not one of 'interact', 'sftp'")
        case nil:
            auth.problem(.wrongType, "type", "expected a string, found \(type.typeDescription)")
        }
        auth.finishIgnoringUnknown()
        return nil
    }

    private static func interact(_ auth: TableReader) -> InteractAuthConfig? {
        let username = auth.requiredString("username", "the API user name")
        let password = auth.secret("password", required: true)
        let instance = auth.choice("instance", InteractAuthConfig.Instance.self)
        let baseURL = auth.string("base_url")
        if let baseURL, !isHTTPURL(baseURL) {
            auth.problem(.invalidValue, "base_url", "is not an http:// or https:// URL with a host")
        }
        if auth.has("instance") == auth.has("base_url") {
            auth.problem(
                .conflictingKeys, auth.has("instance") ? "base_url" : "instance",
                "give exactly one of instance (interact2, interact5, interact8, interact9) and base_url")
        }
        let connectTimeout =
            auth.has("connect_timeout_seconds") ? auth.integer("connect_timeout_seconds", in: 1...600) : 15
        let requestTimeout =
            auth.has("request_timeout_seconds") ? auth.integer("request_timeout_seconds", in: 1...3600) : 120
        auth.finish()
        guard let username, let password, let connectTimeout, let requestTimeout,
            instance != nil || baseURL.map(isHTTPURL) == true
        else { return nil }
        return InteractAuthConfig(
            username: username, password: password, instance: instance,
            baseURL: baseURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 },
            connectTimeoutSeconds: connectTimeout, requestTimeoutSeconds: requestTimeout)
    }

    private static func sftp(_ auth: TableReader) -> SFTPAuthConfig? {
        let host = auth.requiredString("host", "the SFTP server's host name")
        let port = auth.has("port") ? auth.integer("port", in: 1...65535) : 22
        let username = auth.requiredString("username", "the SFTP user name")
        let privateKeyFile = auth.requiredPath("private_key_file", "the OpenSSH private key")
        let privateKeyPassphrase = auth.secret("private_key_passphrase", required: false)
        let knownHostsFile = auth.path("known_hosts_file")
        let fingerprint = auth.string("host_key_sha256")
        if let fingerprint, !isSHA256Fingerprint(fingerprint) {
            auth.problem(
                .invalidValue, "host_key_sha256", "'\(fingerprint)' is not an OpenSSH SHA-256 fingerprint",
                remedy: "write it as printed by `ssh-keygen -lf KEY.pub`: SHA256: then 43 base64 characters")
        }
        if auth.has("known_hosts_file") == auth.has("host_key_sha256") {
            auth.problem(
                .conflictingKeys, auth.has("known_hosts_file") ? "host_key_sha256" : "known_hosts_file",
                "give exactly one of known_hosts_file and host_key_sha256, so the server's host key is verified")
        }
        let pgpKey = auth.path("pgp_private_key_file")
        let pgpPassphrase = auth.secret("pgp_passphrase", required: false)
        let allowNoMDC = auth.has("allow_no_mdc") ? auth.bool("allow_no_mdc") : false
        let timeout = auth.has("connect_timeout_seconds") ? auth.integer("connect_timeout_seconds", in: 1...600) : 30
        auth.finish()
        guard let host, let port, let username, let privateKeyFile, let allowNoMDC, let timeout,
            knownHostsFile != nil || fingerprint.map(isSHA256Fingerprint) == true
        else { return nil }
        return SFTPAuthConfig(
            host: host, port: port, username: username, privateKeyFile: privateKeyFile,
            privateKeyPassphrase: privateKeyPassphrase, knownHostsFile: knownHostsFile, hostKeySHA256: fingerprint,
            pgpPrivateKeyFile: pgpKey, pgpPassphrase: pgpPassphrase, allowNoMDC: allowNoMDC,
            connectTimeoutSeconds: timeout)
    }

    /// `SHA256:` followed by the unpadded base64 of 32 bytes (43 characters).
    static func isSHA256Fingerprint(_ text: String) -> Bool {
        guard text.hasPrefix("SHA256:") else { return false }
        let encoded = String(text.dropFirst("SHA256:".count))
        guard encoded.utf8.count == 43, let bytes = Data(base64Encoded: encoded + "=") else { return false }
        return bytes.count == 32
    }

    static func isHTTPURL(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https"
        else { return false }
        return !(url.host ?? "").isEmpty
    }
}
