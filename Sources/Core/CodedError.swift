/// The codes of one module's failures: what a caller switches on, and the exit status each one means.
public protocol ErrorCode: RawRepresentable, Hashable, Sendable where RawValue == String {
    /// The exit status a run stopped by this failure ends with; most failures fail the stage.
    var exitStatus: ExitStatus { get }
}

extension ErrorCode {
    public var exitStatus: ExitStatus { .stageFailed }
}

/// The one shape of the tool's errors: a code to match on, a message naming what and where, the
/// underlying library's text, and a remedy when one is known. Each module names its own instance
/// (`typealias PGPError = CodedError<PGPErrorCode>`), so `catch let error as PGPError` still tells the
/// modules apart. Messages never contain secrets.
public struct CodedError<Kind: ErrorCode>: DiagnosedError, Equatable {
    /// `PGPError.Code` names the module's code type.
    public typealias Code = Kind

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

    public var exitStatus: ExitStatus { code.exitStatus }

    public var description: String {
        var text = message
        if let underlying { text += ": \(underlying)" }
        if let remedy { text += " (\(remedy))" }
        return text
    }
}
