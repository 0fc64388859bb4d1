import CLibSSH2
import Core
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One SSH connection with its SFTP channel: the owner of the socket, the libssh2 session and the SFTP
/// handle, all freed in `deinit`. Remote file handles keep their session alive. Not thread-safe: one thread
/// uses a session at a time (libssh2 sessions are not shared).
///
/// The server's host key is verified in `init`, before any key is offered; `authenticate` then opens SFTP.
public final class SFTPSession {
    public let host: String
    public let port: Int
    public let username: String
    /// The key the server presented, whatever the policy; `check` prints it so a new user can pin it.
    public private(set) var presentedHostKey = HostKey(algorithm: "", fingerprint: "")
    public var presentedFingerprint: String { presentedHostKey.fingerprint }
    /// The server's identification string, e.g. `SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3`.
    public private(set) var serverBanner = ""

    let logger: Logger
    private let socket: Int32
    let session: OpaquePointer
    private(set) var sftpHandle: OpaquePointer? = nil
    private var hostKeyVerified = false

    /// "host:port", as messages name the server.
    var target: String { "\(host):\(port)" }

    /// Connects (TCP within `connectTimeout` seconds), performs the SSH handshake, verifies the host key by
    /// `hostKeyPolicy`, and enables keepalives. Every later blocking call gives up after `operationTimeout`.
    public init(
        host: String, port: Int = 22, username: String, connectTimeout: Double = 30,
        operationTimeout: Double = 120, hostKeyPolicy: HostKeyPolicy, logger: Logger
    ) throws {
        ensureLibSSH2Initialised()
        self.host = host
        self.port = port
        self.username = username
        self.logger = logger.with(["host": host, "port": port])

        // A pin is checked for form before the network is touched: a typo is a configuration error.
        var pin: String? = nil
        if case .pinned(let text) = hostKeyPolicy {
            guard let normalised = normalisedPin(text) else {
                throw SFTPError(
                    .invalidPinnedFingerprint, "`host_key_sha256` is not a SHA-256 key fingerprint",
                    remedy: "Write it as OpenSSH prints it, e.g. \"SHA256:\" followed by 43 base64 characters; "
                        + "`responsys-etl check WORKFLOW` prints the server's")
            }
            pin = normalised
        }

        let socket = try connectTCP(host: host, port: port, timeout: connectTimeout)
        guard let session = retl_ssh2_session_init() else {
            close(socket)
            fatalError("libssh2_session_init failed: out of memory")
        }
        self.socket = socket
        self.session = session
        // Every stored property is now set, so `deinit` frees the socket and session if anything below throws.
        libssh2_session_set_blocking(session, 1)
        libssh2_session_set_timeout(session, Int(operationTimeout * 1000))

        // Load known_hosts first, so the handshake can prefer the key types it lists for this host.
        var knownHosts: KnownHosts? = nil
        var knownHostsError: SFTPError? = nil
        if case .knownHosts(let path) = hostKeyPolicy {
            do {
                knownHosts = try KnownHosts(path: path, session: session)
            } catch let error as SFTPError {
                knownHostsError = error
            }
            if let knownHosts {
                if !knownHosts.skippedLines.isEmpty {
                    self.logger.warn(
                        "known_hosts lines not understood by libssh2 were skipped",
                        ["file": path, "lines": knownHosts.skippedLines.map(String.init).joined(separator: ",")])
                }
                let known = knownHosts.knownKinds(host: host, port: port).map(\.algorithm)
                if !known.isEmpty {
                    let others = HostKeyKind.all.map(\.algorithm).filter { !known.contains($0) }
                    _ = libssh2_session_method_pref(
                        session, LIBSSH2_METHOD_HOSTKEY, (known + others).joined(separator: ","))
                }
            }
        }

        if libssh2_session_handshake(session, libssh2_socket_t(socket)) != 0 {
            let (code, text) = lastSessionError(session)
            let temporary = [LIBSSH2_ERROR_TIMEOUT, LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_DISCONNECT]
            throw SFTPError(
                temporary.contains(code) ? .connectionLost : .handshakeFailed,
                "SSH handshake with \(host):\(port) failed", underlying: "\(text) (libssh2 \(code))",
                remedy: temporary.contains(code)
                    ? "The server closed the connection or stopped answering; try again later"
                    : "Check that \(host):\(port) is an SSH server; it may offer no algorithm libssh2 supports")
        }
        serverBanner = libssh2_session_banner_get(session).map { String(cString: $0) } ?? "unknown"

        // The presented key: its raw blob for known_hosts, its SHA-256 for fingerprints.
        var keyLength = 0
        var keyType: Int32 = 0
        guard let keyPointer = libssh2_session_hostkey(session, &keyLength, &keyType) else {
            let (_, text) = lastSessionError(session)
            throw SFTPError(.handshakeFailed, "\(host):\(port) presented no host key", underlying: text)
        }
        let keyBlob = Array(UnsafeRawBufferPointer(start: keyPointer, count: keyLength).bindMemory(to: UInt8.self))
        let kind = HostKeyKind.forType(keyType)
        presentedHostKey = HostKey(algorithm: kind?.algorithm ?? "unknown", fingerprint: openSSHFingerprint(keyBlob))

        switch hostKeyPolicy {
        case .reportOnly:
            self.logger.debug("host key not verified (report only)", ["fingerprint": presentedHostKey.fingerprint])
        case .pinned:
            guard let pin, pin == presentedHostKey.fingerprint else {
                throw Self.mismatch(
                    host: host, port: port, expected: [pin ?? ""], presented: presentedHostKey,
                    source: "host_key_sha256")
            }
            hostKeyVerified = true
        case .knownHosts(let path):
            if let knownHostsError { throw knownHostsError }
            guard let knownHosts, let kind else {
                throw SFTPError(.handshakeFailed, "\(host):\(port) presented a host key of unknown type \(keyType)")
            }
            if knownHosts.revokedKeys.contains(keyBlob) {
                throw SFTPError(
                    .hostKeyMismatch,
                    "\(host):\(port) presented \(presentedHostKey.algorithm) key \(presentedHostKey.fingerprint), "
                        + "which \(path) marks @revoked",
                    remedy: "Do not connect; ask the server's operator for its current key")
            }
            switch knownHosts.check(host: host, port: port, key: keyBlob, kind: kind) {
            case .match:
                hostKeyVerified = true
            case .mismatch(let expected):
                throw Self.mismatch(
                    host: host, port: port, expected: expected, presented: presentedHostKey, source: path)
            case .notFound:
                let name = port == 22 ? host : "[\(host)]:\(port)"
                throw SFTPError(
                    .hostKeyUnknown,
                    "\(name) is not in the known_hosts file \(path); the server presented "
                        + "\(presentedHostKey.algorithm) key \(presentedHostKey.fingerprint)",
                    remedy: "Confirm that fingerprint with the server's operator, then either set "
                        + "host_key_sha256 = \"\(presentedHostKey.fingerprint)\" or add the key: "
                        + "`ssh-keyscan -p \(port) -t \(presentedHostKey.algorithm) \(host) >> \(path)`")
            }
        }
        libssh2_keepalive_config(session, 1, 15)
        self.logger.debug(
            "connected",
            [
                "fingerprint": presentedHostKey.fingerprint, "algorithm": presentedHostKey.algorithm,
                "banner": serverBanner,
            ])
    }

    private static func mismatch(
        host: String, port: Int, expected: [String], presented: HostKey, source: String
    ) -> SFTPError {
        SFTPError(
            .hostKeyMismatch,
            "the host key of \(host):\(port) does not match: expected \(expected.joined(separator: " or ")) "
                + "(from \(source)), the server presented \(presented.algorithm) key \(presented.fingerprint)",
            remedy: "Do not continue until the server's operator confirms the new key (this is what a "
                + "man-in-the-middle looks like); then update \(source)")
    }

    deinit {
        if let sftpHandle { libssh2_sftp_shutdown(sftpHandle) }
        _ = retl_ssh2_session_disconnect(session, "responsys-etl done")
        libssh2_session_free(session)
        close(socket)
    }

    // MARK: - Authentication

    /// Authenticates with the private key at `privateKeyFile` (OpenSSH or PEM; RSA, ECDSA, ed25519) and opens
    /// the SFTP channel. The file is inspected first, so local problems get their own codes; then libssh2's
    /// answer separates a wrong passphrase (a local decryption failure) from the server's refusal.
    public func authenticate(privateKeyFile: String, passphrase: String?) throws {
        guard hostKeyVerified else {
            throw SFTPError(
                .hostKeyNotVerified, "refusing to authenticate to \(target): its host key was not verified",
                remedy: "Configure `known_hosts_file` or `host_key_sha256`")
        }
        let key = try PrivateKeyFile.inspect(privateKeyFile)
        if key.isEncrypted && (passphrase ?? "").isEmpty {
            throw SFTPError(
                .passphraseRequired, "the private key \(privateKeyFile) is encrypted and no passphrase was given",
                remedy: "Set `private_key_passphrase_env` to the name of an environment variable holding the "
                    + "passphrase, or remove it: `ssh-keygen -p -f \(privateKeyFile)`")
        }

        // Which methods does the server offer this user? (Also the point where `none` auth could succeed.)
        if let methods = retl_ssh2_userauth_list(session, username).map({ String(cString: $0) }) {
            if !methods.split(separator: ",").contains("publickey") {
                throw SFTPError(
                    .publicKeyAuthNotOffered,
                    "\(target) does not offer public-key authentication to \(username) (it offers: \(methods))",
                    remedy: "Check `username`; Responsys accounts authenticate with keys only")
            }
        } else if libssh2_userauth_authenticated(session) == 0 {
            throw sessionFailure(session, sftp: nil, what: "cannot start authentication with \(target)", host: target)
        }

        if libssh2_userauth_authenticated(session) == 0 {
            let result = retl_ssh2_userauth_publickey_fromfile(
                session, username, nil, privateKeyFile, key.isEncrypted ? passphrase : nil)
            if result != 0 { throw authenticationFailure(result, key: key) }
        }
        logger.debug("authenticated", ["user": username, "key_type": key.keyType.rawValue])

        guard let sftp = libssh2_sftp_init(session) else {
            throw sessionFailure(session, sftp: nil, what: "cannot start SFTP on \(target)", host: target)
        }
        sftpHandle = sftp
    }

    private func authenticationFailure(_ result: Int32, key: PrivateKeyFile) -> SFTPError {
        let (code, text) = lastSessionError(session)
        let path = key.path
        switch code {
        case LIBSSH2_ERROR_FILE where key.isEncrypted:
            return SFTPError(
                .wrongPassphrase, "cannot decrypt the private key \(path): wrong passphrase", underlying: text,
                remedy: "Check the passphrase in the environment variable named by `private_key_passphrase_env`")
        case LIBSSH2_ERROR_FILE, LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
            return SFTPError(
                .unsupportedKeyFormat, "libssh2 cannot load the private key \(path) (\(key.keyType.rawValue))",
                underlying: text,
                remedy: "Make an ed25519 key (`ssh-keygen -t ed25519 -f KEYFILE`) or convert this one to PEM "
                    + "(`ssh-keygen -p -m PEM -f \(path)`)")
        case LIBSSH2_ERROR_AUTHENTICATION_FAILED, LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
            if key.keyType == .rsa {
                return rsaRefusal(text: text, path: path)
            }
            return SFTPError(
                .keyRefused, "\(target) refused the \(key.keyType.rawValue) key \(path) for user \(username)",
                underlying: text,
                remedy: "Check `username`, and that the public key is installed for that user on the server "
                    + "(Responsys: Account > SSH2 Keys management, status Completed)")
        default:
            return sessionFailure(session, sftp: nil, what: "authentication with \(target) failed", host: target)
        }
    }

    /// libssh2 1.10 signs with RSA only as `ssh-rsa` (SHA-1), which OpenSSH refuses by default since 8.8.
    /// The protocol does not tell a refused algorithm from an uninstalled key, so the server's version decides
    /// which is the likely cause; both are named either way.
    private func rsaRefusal(text: String, path: String) -> SFTPError {
        if let version = openSSHVersion(serverBanner), version >= (8, 8) {
            return SFTPError(
                .rsaSHA1Refused,
                "\(target) refused the RSA key \(path) for user \(username). The server runs OpenSSH "
                    + "\(version.0).\(version.1), which refuses SHA-1 `ssh-rsa` signatures unless configured to "
                    + "accept them, and libssh2 1.10 can sign with RSA no other way",
                underlying: text,
                remedy: "Use an ed25519 or ECDSA key (`ssh-keygen -t ed25519 -f KEYFILE`) and install its .pub "
                    + "on the server, or have the server accept `ssh-rsa` (PubkeyAcceptedAlgorithms +ssh-rsa); "
                    + "also check that the key is installed for this user")
        }
        return SFTPError(
            .keyRefused, "\(target) refused the RSA key \(path) for user \(username)", underlying: text,
            remedy: "Check that the public key is installed for this user. If it is, the server probably refuses "
                + "SHA-1 `ssh-rsa` signatures, the only RSA signature libssh2 1.10 makes: use an ed25519 or ECDSA key")
    }

    /// "SSH-2.0-OpenSSH_9.2p1 Debian…" → (9, 2); nil for other servers.
    private func openSSHVersion(_ banner: String) -> (Int, Int)? {
        guard let range = banner.range(of: "OpenSSH_") else { return nil }
        let digits = banner[range.upperBound...].prefix { $0.isNumber || $0 == "." }
        let parts = digits.split(separator: ".").compactMap { Int($0) }
        guard parts.count >= 2 else { return nil }
        return (parts[0], parts[1])
    }

    // MARK: - Helpers for the SFTP operations

    /// The SFTP channel; using it before `authenticate` is a bug in the caller.
    var sftp: OpaquePointer {
        guard let sftpHandle else { preconditionFailure("SFTPSession used before authenticate()") }
        return sftpHandle
    }

    /// The error for the libssh2 call that just failed, naming `what` was attempted.
    func failure(_ what: String) -> SFTPError {
        sessionFailure(session, sftp: sftpHandle, what: what, host: target)
    }

    /// Sends a keepalive if one is due; long listings and downloads call this between requests.
    func keepAlive() {
        var next: Int32 = 0
        _ = libssh2_keepalive_send(session, &next)
    }
}
