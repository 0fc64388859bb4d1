import Core
import Foundation

/// A Responsys call that failed as a whole (per-record failures are outcomes, not errors).
public struct ResponsysError: DiagnosedError, Equatable {
    public enum Code: String, Sendable {
        /// Bad user name or password, or the token was refused again right after a new login.
        case authentication
        /// The user may not call this API (API_DISABLED_FOR_USER, INSUFFICIENT_ACCESS, ACCOUNT_SUSPENDED…).
        case forbidden
        /// The function is blocked for this user (API_BLOCKED); retrying does not help.
        case blocked
        /// The list, extension table or campaign does not exist.
        case notFound
        /// The service refused the request as malformed (INVALID_PARAMETER, INVALID_REQUEST_CONTENT…).
        case invalidRequest
        /// Still throttled (API_LIMIT_EXCEEDED, INTERNAL_CAPACITY_LIMIT_EXCEEDED) after the allowed waits.
        case throttled
        /// 5xx answers or connection failures outlasted the retries.
        case unavailable
        /// The request cannot be sent at all (bad URL, TLS verification failed, answer too large).
        case transport
        /// The answer could not be read, or did not account for every record sent.
        case unexpectedResponse
    }

    public var code: Code
    /// What failed, naming the host, list, extension table or campaign.
    public var message: String
    /// Responsys's `errorCode`, when it sent one.
    public var errorCode: String?
    /// The HTTP status, when there was an answer.
    public var httpStatus: Int?
    /// Responsys's `detail` or the transport error's text.
    public var underlying: String?

    public init(
        _ code: Code, _ message: String, errorCode: String? = nil, httpStatus: Int? = nil, underlying: String? = nil
    ) {
        self.code = code
        self.message = message
        self.errorCode = errorCode
        self.httpStatus = httpStatus
        self.underlying = underlying
    }

    public var exitStatus: ExitStatus {
        switch code {
        case .throttled, .unavailable: .temporaryFailure
        // Wrong credentials are configuration, like a wrong PGP passphrase: a person must fix them.
        case .authentication: .usage
        default: .stageFailed
        }
    }

    public var remedy: String? {
        switch code {
        case .authentication: "check the user name, the password variable and the instance or base_url"
        case .forbidden: "ask the Responsys account administrator to grant this API user the API role and function"
        case .blocked: "the account administrator has blocked this API function for the user"
        case .notFound: "check the name in the configuration against the Responsys account (names are case-sensitive)"
        case .invalidRequest:
            "the request was refused as sent; see the detail, fix the data or the mapping, then re-run"
        case .throttled, .unavailable: "a temporary condition; the run can be resumed later"
        case .transport: nil
        case .unexpectedResponse: "the answer did not have the documented shape; keep the receipt and report it"
        }
    }

    public var description: String {
        var text = message
        var parts: [String] = []
        if let httpStatus { parts.append("HTTP \(httpStatus)") }
        if let errorCode { parts.append(errorCode) }
        if let underlying, !underlying.isEmpty { parts.append(underlying) }
        if !parts.isEmpty { text += ": " + parts.joined(separator: " ") }
        if let remedy { text += " (\(remedy))" }
        return text
    }
}

/// The documented error envelope: `{type, title, errorCode, detail, errorDetails}`.
struct ErrorEnvelope {
    var errorCode: String?
    var detail: String?

    init(_ body: Data) {
        let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
        errorCode = object?["errorCode"] as? String
        detail = (object?["detail"] as? String) ?? (object?["title"] as? String)
    }
}
