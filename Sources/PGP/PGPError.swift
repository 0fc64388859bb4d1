import Core

/// A failure to decrypt a file or to prepare the private key, with what to do about it.
///
/// Callers and tests match `code`; the description names the file and key (fingerprints, never the
/// passphrase) and carries gpgme's own text when gpgme reported the failure.
public typealias PGPError = CodedError<PGPErrorCode>

/// What kind of failure a `PGPError` is; callers and tests match on it, never on the text.
public enum PGPErrorCode: String, ErrorCode {
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

    public var exitStatus: ExitStatus {
        switch self {
        case .wrongPassphrase, .missingPassphrase, .keyFile, .notConfigured, .expiredKey: .usage
        case .wrongKey, .corrupt, .notPGP, .noIntegrityProtection, .engine: .stageFailed
        }
    }
}
