import Testing

@testable import Responsys

@Suite struct RateLimiterTests {
    /// The wait is reported so the client can log it: a retry's gap is its back-off plus this pacing.
    @Test func aCallBeyondTheLimitWaitsForItsSlotAndSaysHowLong() {
        let limiter = RateLimiter(limit: 1, window: 0.3, margin: 0, account: AccountPause())
        let first = limiter.acquire()
        let second = limiter.acquire()
        #expect(first < 0.3)
        // Grants are 0.3 s apart, so the second waited at least the rest of that spacing.
        #expect(second >= 0.3 - first - 0.01)
    }
}
