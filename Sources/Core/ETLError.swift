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
/// vocabulary (SFTP, PGP, HTTP…) have their own codes.
public typealias ETLError = CodedError<ETLErrorCode>

/// What kind of infrastructure failure an `ETLError` is; tests and callers match on it, never on the text.
public enum ETLErrorCode: String, ErrorCode {
    case usage, config, lockHeld, io, corruptStaging, notFound, transient, failed, interrupted

    public var exitStatus: ExitStatus {
        switch self {
        case .usage, .config: .usage
        case .lockHeld, .transient: .temporaryFailure
        case .io, .corruptStaging, .notFound, .failed, .interrupted: .stageFailed
        }
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
