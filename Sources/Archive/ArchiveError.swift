import Core

/// A failure to unpack an archive, naming the archive and the member.
public typealias ArchiveError = CodedError<ArchiveErrorCode>

/// What kind of failure a `ArchiveError` is; callers and tests match on it, never on the text.
public enum ArchiveErrorCode: String, ErrorCode {
    /// The archive ends early or its data is damaged (CRC, deflate stream, missing central directory).
    case corrupt
    /// A member would land outside the output folder (absolute path, `..`, backslash).
    case unsafeMember
    /// Two members would get the same output name.
    case duplicateMember
    /// A feature this tool does not unpack (encrypted zip members, unknown compression).
    case unsupported
}
