import Core

/// A failure to decrypt a file or to prepare the private key, with what to do about it.
///
/// Callers and tests match `code`; the description names the file and key (fingerprints, never the
/// passphrase) and carries gpgme's own text when gpgme reported the failure.
public struct PGPError: DiagnosedError, Equatable {
    public enum Code: String, Sendable {
        /// The passphrase given for the private key is not its passphrase.
        case wrongPassphrase
        /// The private key is protected and no passphrase was configured.
        case missingPassphrase
        /// The message is encrypted for keys other than the configured one.
        case wrongKey
        /// The configured key (or every encryption subkey of it) has expired.
        case expiredKey
        /// The message is truncated, damaged or failed its integrity check.
        case corrupt
        /// The file is not an OpenPGP message at all.
        case notPGP
        /// The message has no integrity protection (no MDC) and `allow_no_mdc` is off.
        case noIntegrityProtection
        /// The key file cannot be read, or holds no private key.
        case keyFile
        /// An encrypted file arrived but no private key is configured.
        case notConfigured
        /// gpgme or the gpg engine itself failed (missing gpg, home folder problems…).
        case engine
    }

    public var code: Code
    public var message: String
    public var underlying: String?
    public var remedy: String?

    public init(_ code: Code, _ message: String, underlying: String? = nil, remedy: String? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.remedy = remedy
    }

    public var exitStatus: ExitStatus {
        switch code {
        case .wrongPassphrase, .missingPassphrase, .keyFile, .notConfigured, .expiredKey: .usage
        case .wrongKey, .corrupt, .notPGP, .noIntegrityProtection, .engine: .stageFailed
        }
    }

    public var description: String {
        var text = message
        if let underlying { text += ": \(underlying)" }
        if let remedy { text += " (\(remedy))" }
        return text
    }
}
