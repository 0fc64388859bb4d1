import Core
import Foundation

/// Paces the calls of one API function of one account, across every thread of the process.
///
/// Grants are spaced evenly (`window × (1 + margin) / limit` apart) rather than let through in bursts, so
/// no window of the server ever counts more than the limit even when our clock and the server's
/// arrival times differ by some milliseconds. A throttling answer pauses the function for everyone.
final class RateLimiter: @unchecked Sendable {
    private let lock = NSLock()
    private var limit: Int
    private var window: Double
    private var margin: Double
    private var nextGrant: Double = 0
    private var lastGrant: Double?
    private var pausedUntil: Double = 0
    private let account: AccountPause

    init(limit: Int, window: Double, margin: Double, account: AccountPause) {
        self.limit = max(1, limit)
        self.window = window
        self.margin = margin
        self.account = account
    }

    var currentLimit: Int { lock.withLock { limit } }

    func configure(limit: Int, window: Double, margin: Double) {
        lock.withLock {
            self.limit = max(1, limit)
            self.window = window
            self.margin = margin
            // A new limit applies to the slot after the last grant, not only after the next one.
            if let lastGrant { nextGrant = lastGrant + spacing }
        }
    }

    private var spacing: Double { window * (1 + margin) / Double(limit) }

    /// Blocks until this call may be sent, and takes its slot. Returns the seconds it waited, so a long wait can
    /// be logged (otherwise a retry's log shows its back-off but not the pacing that came on top of it).
    @discardableResult
    func acquire() -> Double {
        let started = monotonicSeconds()
        while true {
            let now = monotonicSeconds()
            let wait = lock.withLock { () -> Double in
                let earliest = max(nextGrant, pausedUntil, account.until)
                guard earliest <= now else { return earliest - now }
                let granted = max(now, nextGrant)
                lastGrant = granted
                nextGrant = granted + spacing
                return 0
            }
            if wait <= 0 { return now - started }
            Thread.sleep(forTimeInterval: min(wait, 1))
        }
    }

    /// After `API_LIMIT_EXCEEDED`: nobody calls this function for `seconds`.
    func pause(for seconds: Double) {
        lock.withLock { pausedUntil = max(pausedUntil, monotonicSeconds() + seconds) }
    }
}

/// A pause of every function of an account (after `INTERNAL_CAPACITY_LIMIT_EXCEEDED`).
final class AccountPause: @unchecked Sendable {
    private let lock = NSLock()
    private var pausedUntil: Double = 0

    var until: Double { lock.withLock { pausedUntil } }

    func pause(for seconds: Double) {
        lock.withLock { pausedUntil = max(pausedUntil, monotonicSeconds() + seconds) }
    }
}

/// The limiters of one account: one per API function, shared by every client of the process that logs in
/// as the same user on the same host.
final class AccountLimiters: @unchecked Sendable {
    let pause = AccountPause()
    private let lock = NSLock()
    private var limiters: [APIFunction: RateLimiter] = [:]

    func limiter(_ function: APIFunction, limits: ResponsysLimits) -> RateLimiter {
        lock.withLock {
            if let existing = limiters[function] { return existing }
            let created = RateLimiter(
                limit: limits.perMinute[function] ?? function.assumedLimit, window: limits.windowSeconds,
                margin: limits.safetyMargin, account: pause)
            limiters[function] = created
            return created
        }
    }

    private static let registryLock = NSLock()
    nonisolated(unsafe) private static var registry: [String: AccountLimiters] = [:]

    /// The limiters of `username` at `host`, created on first use.
    static func shared(username: String, host: String) -> AccountLimiters {
        registryLock.withLock {
            let key = username + "\u{0}" + host
            if let existing = registry[key] { return existing }
            let created = AccountLimiters()
            registry[key] = created
            return created
        }
    }
}
