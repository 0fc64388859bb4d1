import Core

/// A failure to unpack an archive, naming the archive and the member.
public struct ArchiveError: DiagnosedError, Equatable {
    public enum Code: String, Sendable {
        /// The archive ends early or its data is damaged (CRC, deflate stream, missing central directory).
        case corrupt
        /// A member would land outside the output folder (absolute path, `..`, backslash).
        case unsafeMember
        /// Two members would get the same output name.
        case duplicateMember
        /// A feature this tool does not unpack (encrypted zip members, unknown compression).
        case unsupported
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

    public var description: String {
        var text = message
        if let underlying { text += ": \(underlying)" }
        if let remedy { text += " (\(remedy))" }
        return text
    }
}
