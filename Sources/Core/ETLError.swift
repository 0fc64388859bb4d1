/// A failure that the tool reports to its user: what went wrong, where, and what to do about it.
///
/// Every module throws errors conforming to this protocol, so the CLI can print one clear message and
/// choose the exit status without knowing the module. Descriptions never contain secrets or personal data.
public protocol DiagnosedError: Error, CustomStringConvertible, Sendable {
    /// The exit status a run that stops on this error ends with.
    var exitStatus: ExitStatus { get }
    /// What the user can do about it, when that is known.
    var remedy: String? { get }
}

extension DiagnosedError {
    public var remedy: String? { nil }
    public var exitStatus: ExitStatus { .stageFailed }
}

/// The error of the tool's own infrastructure (files, locks, usage). Modules with their own failure
/// vocabulary (SFTP, PGP, HTTP…) define their own `DiagnosedError` types with their own codes.
public struct ETLError: DiagnosedError, Equatable {
    /// What kind of failure this is; tests and callers match on it, never on the text.
    public enum Code: String, Sendable {
        case usage, config, lockHeld, io, corruptStaging, notFound, transient, failed, interrupted
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
        case .usage, .config: .usage
        case .lockHeld, .transient: .temporaryFailure
        case .io, .corruptStaging, .notFound, .failed, .interrupted: .stageFailed
        }
    }

    public var description: String {
        var text = message
        if let underlying { text += ": \(underlying)" }
        if let remedy { text += " (\(remedy))" }
        return text
    }
}

/// The text of a system error number, for the `underlying` part of a message.
public func systemErrorText(_ number: Int32) -> String {
    String(cString: strerror(number))
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
