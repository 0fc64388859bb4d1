import Core

/// A failure that stops reading a whole CSV file (a bad row is not one: it becomes a reject).
public typealias CSVError = CodedError<CSVErrorCode>

/// What kind of failure a `CSVError` is; callers and tests match on it, never on the text.
public enum CSVErrorCode: String, ErrorCode {
    /// The file cannot be opened (missing, permissions).
    case cannotOpen
    /// Reading failed part-way (I/O error).
    case cannotRead
    /// The file has no header row (it is empty or holds only blank lines).
    case missingHeader
    /// The header row cannot be used (bad bytes, an unclosed quote).
    case badHeader
    /// A single row grew beyond the row size limit, usually because of a quote that is never closed.
    case rowTooLong
    /// An option has a value the reader does not know (a delimiter or encoding name).
    case badOption

    public var exitStatus: ExitStatus { self == .badOption ? .usage : .stageFailed }
}

/// Why one row could not be read; the row goes to the rejects with this reason.
public enum CSVRowProblem: Sendable, Equatable {
    /// With the `utf-8` encoding, a byte at this offset of the file starts no valid UTF-8 sequence.
    case invalidUTF8(byteOffset: Int64)
    /// A quoted field is still open at the end of the file.
    case unterminatedQuote
    /// After the closing quote of field `field` (1-based) comes something other than a delimiter or a line
    /// end (`"c-"6"`: a stray quote inside the field); RFC 4180 allows nothing else there.
    case textAfterClosingQuote(field: Int)

    public var reason: String {
        switch self {
        case .invalidUTF8(let offset):
            "invalid UTF-8 at byte offset \(offset) (set encoding = \"windows-1252\" or \"latin-1\" if the file is not UTF-8)"
        case .unterminatedQuote: "a quoted field is not closed before the end of the file"
        case .textAfterClosingQuote(let field):
            "unexpected character after closing quote in field \(field) (a quote inside a quoted field must be doubled)"
        }
    }
}
