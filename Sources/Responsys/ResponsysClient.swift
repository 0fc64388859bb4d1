import Core
import Foundation
import HTTP

/// The Responsys REST client: login and token upkeep, per-function rate limits, retries, and the calls the
/// export workflows make, each sending its prebuilt JSON body unchanged.
///
/// Every call blocks its thread; run several from threads (see `concurrently`) to keep requests in flight.
/// Merges and deletes are repeated on 5xx answers and connection failures; a trigger-email request is
/// never repeated once it may have reached the server.
public final class ResponsysClient: @unchecked Sendable {
    public let auth: ResponsysAuth
    public let limits: ResponsysLimits
    public let retry: RetryPolicy
    private let http: HTTPClient
    private let logger: Logger
    private let account: AccountLimiters

    private let sessionLock = NSLock()
    private var session: Session?
    private var discoveredLimits = false

    /// A token and the base URL it is valid on.
    /// Logins one call may make when its tokens keep expiring while it waits.
    static let maxLoginsPerCall = 5

    private struct Session {
        var token: String
        var base: String
        var obtainedAt: Double
        var generation: Int
    }
    private var generation = 0

    public init(
        auth: ResponsysAuth, limits: ResponsysLimits = ResponsysLimits(), retry: RetryPolicy = RetryPolicy(),
        http: HTTPClient? = nil, logger: Logger = .silent
    ) throws {
        self.auth = auth
        self.limits = limits
        self.retry = retry
        self.http = try http ?? HTTPClient()
        self.logger = logger.with(["host": ResponsysClient.hostName(auth.loginURL)])
        logger.addSecret(auth.password)
        account = AccountLimiters.shared(username: auth.username, host: auth.loginURL)
        for function in APIFunction.allCases {
            let limiter = account.limiter(function, limits: limits)
            if let configured = limits.perMinute[function] {
                limiter.configure(limit: configured, window: limits.windowSeconds, margin: limits.safetyMargin)
            }
        }
    }

    // MARK: - Calls

    /// `POST /rest/api/v1.3/lists/{list}/members` with `body` as is (at most 200 records).
    public func mergeListMembers(list: String, body: Data) throws -> MergeOutcome {
        try recordCall(
            .mergeListMembers, path: "/rest/api/v1.3/lists/\(segment(list))/members", body: body, what: "list \(list)")
    }

    /// `POST /rest/api/v1.3/lists/{list}/listExtensions/{pet}/members` with `body` as is.
    public func mergePETMembers(list: String, pet: String, body: Data) throws -> MergeOutcome {
        try recordCall(
            .mergeProfileExtensionMembers,
            path: "/rest/api/v1.3/lists/\(segment(list))/listExtensions/\(segment(pet))/members", body: body,
            what: "extension table \(pet) of list \(list)")
    }

    /// `POST /rest/api/v1.3/lists/{list}/members?action=delete` with `{"queryAttribute": …, "ids": […]}`.
    public func deleteListMembers(list: String, body: Data) throws -> MergeOutcome {
        try recordCall(
            .deleteListMembers, path: "/rest/api/v1.3/lists/\(segment(list))/members?action=delete", body: body,
            what: "list \(list)")
    }

    /// `POST /rest/api/v1.3/lists/{list}/listExtensions/{pet}/members?action=delete`.
    public func deletePETMembers(list: String, pet: String, body: Data) throws -> MergeOutcome {
        try recordCall(
            .deleteProfileExtensionMembers,
            path: "/rest/api/v1.3/lists/\(segment(list))/listExtensions/\(segment(pet))/members?action=delete",
            body: body, what: "extension table \(pet) of list \(list)")
    }

    /// `POST /rest/api/v1.3/campaigns/{campaign}/email` (Merge Trigger Email) with `body` as is.
    ///
    /// Sent at most once once it may have reached the server: a dropped connection, a timeout after
    /// sending or a 5xx answer gives `.outcomeUnknown`. Refusals that prove nothing was done (throttling,
    /// an expired token, a refused connection) are waited out and sent again.
    public func mergeTriggerEmail(campaign: String, body: Data) throws -> TriggerOutcome {
        let what = "campaign \(campaign)"
        let count = try checkedCount(body, what: what)
        let result = try perform(
            .mergeTriggerEmail, method: "POST", path: "/rest/api/v1.3/campaigns/\(segment(campaign))/email",
            body: body, repeatable: false, what: what)
        switch result {
        case .unknown(let reason):
            return .outcomeUnknown(reason: reason)
        case .answered(let response):
            guard let recipients = OutcomeParser.recipients(response.body) else {
                return .outcomeUnknown(reason: "the answer of \(what) is not an array of recipient results")
            }
            guard recipients.count == count else {
                return .outcomeUnknown(
                    reason: "the answer of \(what) has \(recipients.count) results for \(count) recipients")
            }
            return .answered(recipients)
        }
    }

    /// `GET /rest/api/ratelimit` (unversioned): the per-minute limit of each API function of the account.
    public func rateLimits() throws -> [RateLimitEntry] {
        let response = try answered(.rateLimit, method: "GET", path: "/rest/api/ratelimit", what: "the rate limits")
        guard let entries = OutcomeParser.rateLimits(response.body) else {
            throw ResponsysError(.unexpectedResponse, "the rate-limit answer of \(hostName) could not be read")
        }
        return entries
    }

    /// Whether the profile list exists (`GET …/lists/{list}/listExtensions`).
    public func listExists(_ list: String) throws -> Bool {
        try extensionTables(of: list) != nil
    }

    /// Whether the extension table exists under the list.
    public func petExists(list: String, pet: String) throws -> Bool {
        guard let tables = try extensionTables(of: list) else { return false }
        return tables.contains { $0.caseInsensitiveCompare(pet) == .orderedSame }
    }

    /// Whether the campaign exists (`GET /rest/api/v1.3/campaigns/{campaign}`; this endpoint is not in the
    /// reference we work from, it is Oracle's "retrieve a campaign").
    public func campaignExists(_ campaign: String) throws -> Bool {
        try campaignInfo(campaign) != nil
    }

    /// The profile list a campaign sends to: `listName` of Oracle's "Fetch A Campaign"
    /// (`GET /rest/api/v1.3/campaigns/{campaign}`; Oracle's REST spec 2023.03.03 describes it as "Profile list
    /// name which contains the audience for this campaign"). Nil when the campaign does not exist; throws
    /// `.unexpectedResponse` when the answer names no list.
    public func campaignList(_ campaign: String) throws -> String? {
        guard let object = try campaignInfo(campaign) else { return nil }
        guard let list = object["listName"] as? String, !list.isEmpty else {
            throw ResponsysError(
                .unexpectedResponse,
                "the campaign \(campaign) fetched from \(hostName) names no profile list (listName)")
        }
        return list
    }

    /// The campaign object, nil when Responsys answers that it does not exist.
    private func campaignInfo(_ campaign: String) throws -> [String: Any]? {
        let response: HTTPResponse
        do {
            response = try answered(
                .retrieveCampaign, method: "GET", path: "/rest/api/v1.3/campaigns/\(segment(campaign))",
                what: "campaign \(campaign)")
        } catch let error as ResponsysError where error.code == .notFound {
            return nil
        }
        return (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any] ?? [:]
    }

    /// Logs in now (normally done on the first call); `check` uses it to test the credentials.
    public func login() throws {
        _ = try currentSession()
    }

    /// Runs `body(0..<count)` on up to `limits.maxInFlight` threads and returns the results in order.
    /// The rate limiters keep the pace; callers keep their own order rules (list merge before PET merges).
    public func concurrently<T: Sendable>(
        _ count: Int, _ body: @escaping @Sendable (Int) throws -> T
    ) -> [Result<T, Error>] {
        Concurrently.map(count: count, width: limits.maxInFlight, body)
    }

    // MARK: - Shared machinery

    private func recordCall(_ function: APIFunction, path: String, body: Data, what: String) throws -> MergeOutcome {
        let count = try checkedCount(body, what: what)
        let response = try answered(function, method: "POST", path: path, body: body, what: what)
        guard let records = OutcomeParser.records(response.body) else {
            throw ResponsysError(
                .unexpectedResponse, "the answer for \(what) has no recordData.records", httpStatus: response.status)
        }
        guard records.count == count else {
            throw ResponsysError(
                .unexpectedResponse, "the answer for \(what) has \(records.count) results for \(count) records",
                httpStatus: response.status)
        }
        return MergeOutcome(records: records)
    }

    /// The record count of a prebuilt body, refusing what Responsys would refuse as a whole.
    private func checkedCount(_ body: Data, what: String) throws -> Int {
        guard let count = OutcomeParser.recordCount(body) else {
            throw ResponsysError(.invalidRequest, "the body prepared for \(what) is not a Responsys request")
        }
        guard count <= 200 else {
            throw ResponsysError(.invalidRequest, "the body prepared for \(what) has \(count) records; at most 200")
        }
        return count
    }

    private func answered(
        _ function: APIFunction, method: String, path: String, body: Data? = nil, what: String
    ) throws -> HTTPResponse {
        switch try perform(function, method: method, path: path, body: body, repeatable: true, what: what) {
        case .answered(let response): return response
        case .unknown(let reason): throw ResponsysError(.unavailable, "no answer for \(what)", underlying: reason)
        }
    }

    private enum CallResult {
        case answered(HTTPResponse)
        case unknown(String)
    }

    /// What an error answer means for the retry loop.
    private enum Verdict {
        case throttled, capacity, invalidToken, serverError, failure(ResponsysError.Code)
    }

    /// Sends one call with the token, the limiter and the retry rules; returns a 2xx answer.
    private func perform(
        _ function: APIFunction, method: String, path: String, body: Data?, repeatable: Bool, what: String
    ) throws -> CallResult {
        var failures = 0
        var throttleWaits = 0
        var capacityWaits = 0
        var loginsInThisCall = 0
        let limiter = account.limiter(function, limits: limits)
        let log = logger.with(["function": function.rawValue])

        while true {
            let session = try currentSession()
            let paced = limiter.acquire()
            if paced >= 1 { log.info("waited for the rate limit", ["seconds": String(format: "%.2f", paced)]) }
            var headers: [(name: String, value: String)] = [
                ("Authorization", session.token), ("Accept", "application/json"),
            ]
            if body != nil { headers.append(("Content-Type", "application/json")) }
            let request = HTTPRequest(
                method: method, url: session.base + path, headers: headers, body: body, repeatable: repeatable)

            let started = monotonicSeconds()
            let response: HTTPResponse
            do {
                response = try http.send(request)
            } catch let error as HTTPError {
                if !repeatable && error.mayHaveReachedServer {
                    log.warn("request may have reached Responsys; not repeated", ["reason": error.code.rawValue])
                    return .unknown("\(error.code.rawValue): \(error.underlying)")
                }
                guard error.exitStatus == .temporaryFailure else {
                    throw ResponsysError(
                        .transport, "cannot send the request for \(what)", underlying: error.description)
                }
                failures += 1
                try backOff(failures, what: what, reason: error.description, log: log)
                continue
            }
            log.debug(
                "call answered",
                [
                    "status": response.status, "ms": Int((monotonicSeconds() - started) * 1000),
                    "bytes": response.body.count,
                ])
            if (200..<300).contains(response.status) { return .answered(response) }

            let envelope = ErrorEnvelope(response.body)
            switch verdict(response.status, envelope) {
            case .throttled:
                throttleWaits += 1
                guard throttleWaits <= retry.maxThrottleWaits else {
                    throw ResponsysError(
                        .throttled, "still over the rate limit for \(what)", errorCode: envelope.errorCode,
                        httpStatus: response.status)
                }
                log.warn(
                    "rate limit exceeded; waiting", ["seconds": retry.minuteBoundaryWait, "status": response.status])
                limiter.pause(for: retry.minuteBoundaryWait)
            case .capacity:
                capacityWaits += 1
                guard capacityWaits <= retry.maxCapacityWaits else {
                    throw ResponsysError(
                        .throttled, "still over the internal capacity limit for \(what)",
                        errorCode: envelope.errorCode, httpStatus: response.status)
                }
                log.warn("internal capacity limit exceeded; waiting", ["seconds": retry.capacityBackoff])
                account.pause.pause(for: retry.capacityBackoff)
            case .invalidToken:
                // A token refused moments after its login means the login itself is not accepted. One that
                // aged while this call waited (rate limit, back-off) is simply renewed; a bound on logins
                // per call keeps a server that refuses every token from looping.
                let age = monotonicSeconds() - session.obtainedAt
                guard loginsInThisCall == 0 || age > retry.freshTokenSeconds,
                    loginsInThisCall < ResponsysClient.maxLoginsPerCall
                else {
                    throw ResponsysError(
                        .authentication, "the token was refused for \(what) right after a new login",
                        errorCode: envelope.errorCode, httpStatus: response.status, underlying: envelope.detail)
                }
                log.info("token refused; logging in again", ["status": response.status, "token_age_s": Int(age)])
                loginsInThisCall += 1
                dropSession(generation: session.generation)
            case .serverError:
                if !repeatable {
                    log.warn("request may have reached Responsys; not repeated", ["status": response.status])
                    return .unknown("HTTP \(response.status) \(envelope.errorCode ?? "")")
                }
                failures += 1
                try backOff(failures, what: what, reason: "HTTP \(response.status)", log: log)
            case .failure(let code):
                throw ResponsysError(
                    code, "Responsys refused the request for \(what)", errorCode: envelope.errorCode,
                    httpStatus: response.status, underlying: envelope.detail)
            }
        }
    }

    private func backOff(_ failures: Int, what: String, reason: String, log: Logger) throws {
        guard failures < retry.maxAttempts else {
            throw ResponsysError(.unavailable, "gave up on \(what) after \(failures) attempts", underlying: reason)
        }
        let seconds = retry.backoff(afterFailures: failures)
        log.warn(
            "call failed; retrying",
            ["attempt": failures, "seconds": String(format: "%.2f", seconds), "reason": reason])
        Thread.sleep(forTimeInterval: seconds)
    }

    /// Throttling is recognised by its code whatever the status (Oracle documents 400 and 401 for it).
    private func verdict(_ status: Int, _ envelope: ErrorEnvelope) -> Verdict {
        let code = envelope.errorCode ?? ""
        switch code {
        case "API_LIMIT_EXCEEDED": return .throttled
        case "INTERNAL_CAPACITY_LIMIT_EXCEEDED": return .capacity
        case "API_BLOCKED": return .failure(.blocked)
        case "API_DISABLED_FOR_USER", "INSUFFICIENT_ACCESS", "ACCOUNT_SUSPENDED", "PASSWORD_LOCKOUT",
            "PASSWORD_EXPIRED":
            return .failure(.forbidden)
        case "INVALID_USER_NAME_PASSWORD": return .failure(.authentication)
        case "INVALID_TOKEN", "TOKEN_EXPIRED": return .invalidToken
        default: break
        }
        // The documented sign of a bad or expired token is a 500 UNEXPECTED_EXCEPTION whose detail says so;
        // an unexplained 401 is treated the same way (one new login, then it counts as an auth failure).
        if status == 401 { return .invalidToken }
        if status >= 500 {
            let detail = (envelope.detail ?? "").lowercased()
            return detail.contains("authentication token") ? .invalidToken : .serverError
        }
        if status == 404 || code.hasSuffix("_NOT_FOUND") || code == "NO_RECIPIENT_FOUND" { return .failure(.notFound) }
        return .failure(.invalidRequest)
    }

    // MARK: - Login and token

    /// The current token, after a new login when there is none or it is older than `tokenMaxAge`.
    /// Concurrent callers wait for one login rather than each making their own.
    private func currentSession() throws -> Session {
        let current = try validSession()
        // The discovery may itself have replaced the token; take the one in force afterwards.
        return try discoverLimitsOnce() ? validSession() : current
    }

    private func validSession() throws -> Session {
        try sessionLock.withLock {
            if let session, monotonicSeconds() - session.obtainedAt < retry.tokenMaxAge { return session }
            let fresh = try logIn()
            session = fresh
            return fresh
        }
    }

    private func dropSession(generation dropped: Int) {
        sessionLock.withLock {
            if session?.generation == dropped { session = nil }
        }
    }

    /// `POST {login}/rest/api/v1.3/auth/token` with the credentials in a form body (never the query string).
    private func logIn() throws -> Session {
        let limiter = account.limiter(.login, limits: limits)
        let form = [("user_name", auth.username), ("password", auth.password), ("auth_type", "password")]
            .map { "\(formEncode($0.0))=\(formEncode($0.1))" }.joined(separator: "&")
        let request = HTTPRequest(
            method: "POST", url: auth.loginURL + "/rest/api/v1.3/auth/token",
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Data(form.utf8))
        var failures = 0
        var throttleWaits = 0
        while true {
            let paced = limiter.acquire()
            if paced >= 1 {
                logger.info("waited for the login rate limit", ["seconds": String(format: "%.2f", paced)])
            }
            let response: HTTPResponse
            do {
                response = try http.send(request)
            } catch let error as HTTPError {
                guard error.exitStatus == .temporaryFailure else {
                    throw ResponsysError(
                        .transport, "cannot reach the login host \(hostName)", underlying: error.description)
                }
                failures += 1
                try backOff(failures, what: "login on \(hostName)", reason: error.description, log: logger)
                continue
            }
            let envelope = ErrorEnvelope(response.body)
            if response.status == 200 {
                guard let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any],
                    let token = object["authToken"] as? String, !token.isEmpty,
                    let endPoint = object["endPoint"] as? String, !endPoint.isEmpty
                else {
                    throw ResponsysError(
                        .unexpectedResponse, "the login answer of \(hostName) has no authToken or endPoint")
                }
                logger.addSecret(token)
                generation += 1
                let base = normalizedEndPoint(endPoint)
                logger.info("logged in", ["endPoint": ResponsysClient.hostName(base)])
                return Session(token: token, base: base, obtainedAt: monotonicSeconds(), generation: generation)
            }
            switch verdict(response.status, envelope) {
            case .throttled, .capacity:
                throttleWaits += 1
                guard throttleWaits <= retry.maxThrottleWaits else {
                    throw ResponsysError(
                        .throttled, "login on \(hostName) is still throttled", errorCode: envelope.errorCode)
                }
                logger.warn("login throttled; waiting", ["seconds": retry.minuteBoundaryWait])
                limiter.pause(for: retry.minuteBoundaryWait)
            case .serverError:
                failures += 1
                try backOff(failures, what: "login on \(hostName)", reason: "HTTP \(response.status)", log: logger)
            case .invalidToken, .failure(.authentication), .failure(.invalidRequest):
                throw ResponsysError(
                    .authentication, "login of user \(auth.username) on \(hostName) failed",
                    errorCode: envelope.errorCode, httpStatus: response.status, underlying: envelope.detail)
            case .failure(let code):
                throw ResponsysError(
                    code, "login of user \(auth.username) on \(hostName) failed", errorCode: envelope.errorCode,
                    httpStatus: response.status, underlying: envelope.detail)
            }
        }
    }

    /// After the first login, limits not fixed by the configuration are taken from `/rest/api/ratelimit`.
    /// Returns whether it ran (once per client).
    private func discoverLimitsOnce() throws -> Bool {
        let first = sessionLock.withLock { () -> Bool in
            defer { discoveredLimits = true }
            return limits.discoverFromServer && !discoveredLimits
        }
        guard first else { return false }
        do {
            let entries = try rateLimits()
            for function in APIFunction.allCases where limits.perMinute[function] == nil {
                let resource = function.resource
                let entry =
                    entries.first { $0.api.caseInsensitiveCompare(function.rawValue) == .orderedSame }
                    ?? entries.first { $0.resourcePath == resource.path && $0.verb == resource.verb }
                guard let entry, entry.limit > 0 else { continue }
                account.limiter(function, limits: limits).configure(
                    limit: entry.limit, window: limits.windowSeconds, margin: limits.safetyMargin)
                logger.debug("rate limit from the server", ["function": function.rawValue, "perMinute": entry.limit])
            }
        } catch let error as ResponsysError {
            logger.warn("cannot read /rest/api/ratelimit; using the assumed limits", ["error": error.description])
        }
        return true
    }

    /// `endPoint` with or without a scheme; without one it takes the login URL's scheme.
    private func normalizedEndPoint(_ endPoint: String) -> String {
        var base = endPoint.trimmingCharacters(in: .whitespaces)
        if !base.contains("://") {
            let scheme = auth.loginURL.hasPrefix("http://") ? "http://" : "https://"
            base = scheme + base
        }
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    private func extensionTables(of list: String) throws -> [String]? {
        do {
            let response = try answered(
                .retrieveProfileExtensions, method: "GET", path: "/rest/api/v1.3/lists/\(segment(list))/listExtensions",
                what: "list \(list)")
            let items = (try? JSONSerialization.jsonObject(with: response.body)) as? [[String: Any]] ?? []
            return items.compactMap { ($0["profileExtension"] as? [String: Any])?["objectName"] as? String }
        } catch let error as ResponsysError where error.code == .notFound {
            return nil
        }
    }

    private var hostName: String { ResponsysClient.hostName(auth.loginURL) }

    static func hostName(_ url: String) -> String {
        URL(string: url)?.host ?? url
    }

    private func segment(_ name: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#")
        return name.addingPercentEncoding(withAllowedCharacters: allowed) ?? name
    }

    private func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
