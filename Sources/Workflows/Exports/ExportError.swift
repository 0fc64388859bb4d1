import Core
import Staging

/// A failure of an export workflow's stages. Tests match `code`; the description names the list, PET,
/// campaign, file or run involved and never holds a password.
public struct ExportError: DiagnosedError, RedoesEarlierStages, Equatable {
    public enum Code: String, Sendable {
        /// The plan written by transform cannot be read (edited or damaged).
        case badPlan
        /// A list, PET or campaign named by the config does not exist in Responsys (`check`).
        case missingInResponsys
        /// The exit-ratio guard stopped the transform.
        case exitRatioExceeded
        /// Trigger chunks of export-campaign have an unknown outcome; they are not sent again on their own.
        case outcomeUnknown
        /// The delivered state was delivered to another account, endpoint, list or extension table.
        case destinationChanged
    }

    public var code: Code
    public var message: String
    public var underlying: String?
    public var remedy: String?
    public var status: ExitStatus
    /// The earliest stage whose outputs this failure makes stale (the runner clears the run from there).
    public var redoFrom: StageName?

    public init(
        _ code: Code, _ message: String, underlying: String? = nil, remedy: String? = nil,
        status: ExitStatus = .stageFailed, redoFrom: StageName? = nil
    ) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.remedy = remedy
        self.status = status
        self.redoFrom = redoFrom
    }

    public var exitStatus: ExitStatus { status }

    public var description: String {
        var text = message
        if let underlying { text += ": \(underlying)" }
        if let remedy { text += " (\(remedy))" }
        return text
    }
}
