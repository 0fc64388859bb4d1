import CLibSSH2
import Core

/// A failure of the SFTP extract: connecting, verifying the server, authenticating, listing or downloading.
///
/// The message names the host, file or key; `underlying` carries libssh2's or the system's own text; `remedy`
/// says what to do. Tests and callers match `code`, never the text. Passphrases never appear here.
public typealias SFTPError = CodedError<SFTPErrorCode>

/// What kind of failure an `SFTPError` is; callers and tests match on it, never on the text.
public enum SFTPErrorCode: String, ErrorCode, CaseIterable {
    // Reaching the server: temporary, a later run may succeed.
    case hostNotResolved, connectionRefused, connectTimeout, connectFailed, connectionLost, timeout
    // The SSH handshake itself failed (no common algorithms, not an SSH server).
    case handshakeFailed
    // Who the server is.
    case hostKeyMismatch, hostKeyUnknown, knownHostsUnreadable, invalidPinnedFingerprint, hostKeyNotVerified
    // The local private key, inspected before the server is asked.
    case keyFileMissing, keyFileUnreadable, puttyKey, unsupportedKeyFormat, passphraseRequired, wrongPassphrase
    // The server's answer to the key.
    case keyRefused, rsaSHA1Refused, publicKeyAuthNotOffered
    // Files on the server.
    case remoteNotFound, remotePermissionDenied, remoteFailure
    // The downloaded file.
    case sizeMismatch, localIO

    public var exitStatus: ExitStatus {
        switch self {
        case .hostNotResolved, .connectionRefused, .connectTimeout, .connectFailed, .connectionLost, .timeout:
            .temporaryFailure
        // The host key, the client key and its passphrase are configuration: a person must act (and a
        // changed host key may be an attack), so these alert like a bad config instead of being retried.
        case .hostKeyMismatch, .hostKeyUnknown, .knownHostsUnreadable, .invalidPinnedFingerprint, .hostKeyNotVerified,
            .keyFileMissing, .keyFileUnreadable, .puttyKey, .unsupportedKeyFormat, .passphraseRequired,
            .wrongPassphrase, .keyRefused, .rsaSHA1Refused, .publicKeyAuthNotOffered:
            .usage
        default:
            .stageFailed
        }
    }
}

// MARK: - The one place libssh2 failures become Swift errors

/// libssh2 is initialised once per process, lazily and thread-safely (a global `let` is initialised once).
private let libssh2InitResult: Int32 = libssh2_init(0)

func ensureLibSSH2Initialised() {
    precondition(libssh2InitResult == 0, "libssh2_init failed (\(libssh2InitResult)); the library is unusable")
}

/// libssh2's last error on `session`, read immediately after the failing call (the next call overwrites it).
func lastSessionError(_ session: OpaquePointer) -> (code: Int32, text: String) {
    var messagePointer: UnsafeMutablePointer<CChar>? = nil
    var length: Int32 = 0
    let code = libssh2_session_last_error(session, &messagePointer, &length, 0)
    let text = messagePointer.map { String(cString: $0) } ?? "no detail from libssh2"
    return (code, text)
}

/// Names of the SFTP status codes of draft-ietf-secsh-filexfer-02 (what OpenSSH's server speaks).
func sftpStatusText(_ status: UInt) -> String {
    switch status {
    case LIBSSH2_FX_EOF: "end of file"
    case LIBSSH2_FX_NO_SUCH_FILE: "no such file"
    case LIBSSH2_FX_PERMISSION_DENIED: "permission denied"
    case LIBSSH2_FX_FAILURE: "failure"
    case LIBSSH2_FX_BAD_MESSAGE: "bad message"
    case LIBSSH2_FX_NO_CONNECTION: "no connection"
    case LIBSSH2_FX_CONNECTION_LOST: "connection lost"
    case LIBSSH2_FX_OP_UNSUPPORTED: "operation unsupported"
    case LIBSSH2_FX_NO_SUCH_PATH: "no such path"
    case LIBSSH2_FX_FILE_ALREADY_EXISTS: "file already exists"
    default: "SFTP status \(status)"
    }
}

/// Turns a failed libssh2 call into an `SFTPError`: transport failures become `connectionLost`/`timeout`
/// (temporary), SFTP status replies become `remoteNotFound`/`remotePermissionDenied`/`remoteFailure`.
/// `what` is the sentence naming the operation and the path ("cannot open /download/a.txt on host:22").
func sessionFailure(_ session: OpaquePointer, sftp: OpaquePointer?, what: String, host: String) -> SFTPError {
    let (code, text) = lastSessionError(session)
    switch code {
    case LIBSSH2_ERROR_SFTP_PROTOCOL:
        let status = sftp.map { libssh2_sftp_last_error($0) } ?? UInt(LIBSSH2_FX_FAILURE)
        switch status {
        case LIBSSH2_FX_NO_SUCH_FILE, LIBSSH2_FX_NO_SUCH_PATH:
            return SFTPError(.remoteNotFound, what, underlying: sftpStatusText(status))
        case LIBSSH2_FX_PERMISSION_DENIED:
            return SFTPError(
                .remotePermissionDenied, what, underlying: sftpStatusText(status),
                remedy: "Ask the server's administrator to grant this account access")
        default:
            return SFTPError(.remoteFailure, what, underlying: sftpStatusText(status))
        }
    case LIBSSH2_ERROR_TIMEOUT, LIBSSH2_ERROR_SOCKET_TIMEOUT:
        return SFTPError(
            .timeout, what, underlying: text,
            remedy: "The server \(host) stopped answering; the run can be resumed later")
    case LIBSSH2_ERROR_SOCKET_SEND, LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_DISCONNECT,
        LIBSSH2_ERROR_SOCKET_NONE, LIBSSH2_ERROR_CHANNEL_CLOSED, LIBSSH2_ERROR_CHANNEL_EOF_SENT,
        LIBSSH2_ERROR_BAD_SOCKET, LIBSSH2_ERROR_DECRYPT, LIBSSH2_ERROR_INVALID_MAC:
        return SFTPError(
            .connectionLost, what, underlying: "connection to \(host) lost (\(text))",
            remedy: "Run again to resume; partial downloads continue where they stopped")
    default:
        return SFTPError(.remoteFailure, what, underlying: "\(text) (libssh2 \(code))")
    }
}
