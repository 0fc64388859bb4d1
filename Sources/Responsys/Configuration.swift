import Foundation

/// Where and as whom to log in.
public struct ResponsysAuth: Sendable {
    /// The Responsys pods; each has its own login host (reference §1).
    public enum Instance: String, Sendable, CaseIterable {
        case interact2, interact5, interact8, interact9

        public var loginURL: String {
            switch self {
            case .interact2: "https://login2.responsys.net"
            case .interact5: "https://login5.responsys.net"
            case .interact8: "https://login.rsys8.net"
            case .interact9: "https://login.rsys9.net"
            }
        }
    }

    public var username: String
    public var password: String
    /// The URL login is sent to: the instance's login host, or a configured base URL.
    public var loginURL: String

    public init(username: String, password: String, instance: Instance) {
        self.init(username: username, password: password, baseURL: instance.loginURL)
    }

    public init(username: String, password: String, baseURL: String) {
        self.username = username
        self.password = password
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        loginURL = url
    }
}

/// The API functions Responsys counts separately for its per-minute limits.
public enum APIFunction: String, Sendable, CaseIterable {
    case login
    case mergeListMembers
    case deleteListMembers
    case mergeProfileExtensionMembers
    case deleteProfileExtensionMembers
    case mergeTriggerEmail
    case retrieveProfileExtensions
    case retrieveCampaign
    case rateLimit

    /// The `resource_path` and `verb` that `/rest/api/ratelimit` names this function by.
    var resource: (path: String, verb: String) {
        switch self {
        case .login: ("/auth/token", "POST")
        case .mergeListMembers: ("/lists/{listName}/members", "POST")
        case .deleteListMembers: ("/lists/{listName}/members?action=delete", "POST")
        case .mergeProfileExtensionMembers: ("/lists/{listName}/listExtensions/{petName}/members", "POST")
        case .deleteProfileExtensionMembers:
            ("/lists/{listName}/listExtensions/{petName}/members?action=delete", "POST")
        case .mergeTriggerEmail: ("/campaigns/{campaignName}/email", "POST")
        case .retrieveProfileExtensions: ("/lists/{listName}/listExtensions", "GET")
        case .retrieveCampaign: ("/campaigns/{campaignName}", "GET")
        case .rateLimit: ("/ratelimit", "GET")
        }
    }

    /// Calls per minute assumed until the configuration or `/rest/api/ratelimit` says otherwise: the
    /// example and field values of reference §6, on the low side.
    var assumedLimit: Int {
        switch self {
        case .login: 10
        case .mergeListMembers, .mergeProfileExtensionMembers: 400
        case .deleteListMembers, .deleteProfileExtensionMembers, .mergeTriggerEmail: 200
        case .retrieveProfileExtensions, .retrieveCampaign, .rateLimit: 100
        }
    }
}

/// Per-minute limits and how many requests may be in flight.
public struct ResponsysLimits: Sendable {
    /// Limits from the configuration; they win over what `/rest/api/ratelimit` says.
    public var perMinute: [APIFunction: Int] = [:]
    /// Read `/rest/api/ratelimit` after the first login for the functions the configuration leaves open.
    public var discoverFromServer = true
    /// The length of the limit window: 60 s for Responsys; tests shorten it together with the fake's.
    public var windowSeconds: Double = 60
    /// Requests are spaced by `window × (1 + margin) / limit`, so that jitter between our clock and the
    /// server's arrival times never pushes one window over the limit.
    public var safetyMargin: Double = 0.02
    /// The most requests `ResponsysClient.concurrently` keeps in flight.
    public var maxInFlight = 8

    public init() {}
}

/// How long to wait and how often to try again.
public struct RetryPolicy: Sendable {
    /// Attempts of a merge or delete that meets 5xx answers or connection failures.
    public var maxAttempts = 5
    /// The first back-off; it doubles per attempt up to `maxBackoff`, with jitter (50–100% of the value).
    public var initialBackoff: Double = 1
    public var maxBackoff: Double = 60
    /// The wait after `API_LIMIT_EXCEEDED` ("try again in a minute"): a whole window, so that any window of
    /// the server has rolled over. Tests set it to the fake's `--limit-window-seconds`.
    public var minuteBoundaryWait: Double = 60
    /// How many `API_LIMIT_EXCEEDED` answers one call may meet before it fails as `.throttled`.
    public var maxThrottleWaits = 10
    /// The wait after `INTERNAL_CAPACITY_LIMIT_EXCEEDED` (the capacity window is 10 minutes).
    public var capacityBackoff: Double = 180
    public var maxCapacityWaits = 4
    /// A token older than this is replaced by a new login before the next call (Oracle: ≤ 2 h).
    public var tokenMaxAge: Double = 6600
    /// A token refused when younger than this (seconds) was refused for a reason a new login will not cure;
    /// an older one aged while the call waited (rate limit, back-off) and is renewed.
    public var freshTokenSeconds: Double = 5

    public init() {}

    /// The back-off before attempt `failures + 1`.
    func backoff(afterFailures failures: Int) -> Double {
        let base = min(maxBackoff, initialBackoff * pow(2, Double(max(0, failures - 1))))
        return base * Double.random(in: 0.5...1.0)
    }
}
