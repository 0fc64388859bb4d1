import Core

/// A failure of the audience extract, diff or payload writing. Tests and callers match `code`; the
/// description names the file or setting involved and never holds an email address or field value.
public typealias AudienceError = CodedError<AudienceErrorCode>

/// What kind of failure a `AudienceError` is; callers and tests match on it, never on the text.
public enum AudienceErrorCode: String, ErrorCode {
    /// A source or snapshot file could not be opened, read or written.
    case io
    /// A gzip source is damaged or truncated.
    case badCompression
    /// A source file is not in the expected format (no header, an NDJSON line that is not an object…).
    case badSource
    /// A sorted snapshot file is out of order or damaged: it was not written by this module.
    case badSnapshot
    /// More members would leave the list than `max_exit_ratio` allows; `--force` overrides.
    case exitRatioExceeded
    /// The configuration cannot produce a valid body (a column name over 30 characters, too many fields).
    case badConfiguration

    public var exitStatus: ExitStatus {
        switch self {
        case .badConfiguration: .usage
        default: .stageFailed
        }
    }
}
