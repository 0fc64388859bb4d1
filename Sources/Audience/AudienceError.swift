import Core

/// A failure of the audience extract, diff or payload writing. Tests and callers match `code`; the
/// description names the file or setting involved and never holds an email address or field value.
public struct AudienceError: DiagnosedError, Equatable {
    public enum Code: String, Sendable {
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
        case .badConfiguration: .usage
        default: .stageFailed
        }
    }

    public var description: String {
        var text = message
        if let underlying { text += ": \(underlying)" }
        if let remedy { text += " (\(remedy))" }
        return text
    }
}
