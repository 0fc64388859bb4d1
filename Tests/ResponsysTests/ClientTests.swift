import Core
import FakeResponsys
import Foundation
import HTTP
import Responsys
import Testing

@Suite struct AuthenticationTests {
    @Test func logsInWithAFormBodyAndMergesOnTheEndPoint() throws {
        let fake = try FakeHarness()
        let client = try fake.client()
        let outcome = try client.mergeListMembers(
            list: "MASTER_LIST", body: listBody([["ann@example.org", "c-1"], ["bob@example.org", "c-2"]]))

        guard case .riid(let first) = outcome.records[0], case .riid(let second) = outcome.records[1] else {
            Issue.record("expected two RIIDs, got \(outcome.records)")
            return
        }
        #expect(first != second)
        let members = try fake.members()
        #expect(members.map { $0["EMAIL_ADDRESS_"] } == ["ann@example.org", "bob@example.org"])
        #expect(members.map { $0["RIID_"] } == [first, second])
        let logins = try fake.journal().filter { $0["function"] as? String == "login" }
        #expect(logins.count == 1)
        #expect(logins.first?["path"] as? String == "/rest/api/v1.3/auth/token")
        // Neither the password nor the token reaches the log.
        let log = fake.logSink.lines.joined(separator: "\n")
        #expect(!log.contains(testPassword))
        #expect(!log.contains("fake-token-"))
    }

    @Test func wrongPasswordIsAnAuthenticationError() throws {
        let fake = try FakeHarness()
        let client = try fake.client(password: "wrong-password")
        let error = #expect(throws: ResponsysError.self) {
            _ = try client.mergeListMembers(list: "MASTER_LIST", body: listBody([["ann@example.org", "c-1"]]))
        }
        #expect(error?.code == .authentication)
        #expect(error?.errorCode == "INVALID_USER_NAME_PASSWORD")
        #expect(error?.exitStatus == .usage)
        #expect(error.map { !$0.description.contains("wrong-password") } == true)
    }

    @Test func expiredTokenLogsInAgainOnceAndRepeatsTheCall() throws {
        let fake = try FakeHarness()
        let client = try fake.client()
        _ = try client.mergeListMembers(list: "MASTER_LIST", body: listBody([["ann@example.org", "c-1"]]))
        fake.server.expireTokens()
        let outcome = try client.mergeListMembers(list: "MASTER_LIST", body: listBody([["bob@example.org", "c-2"]]))

        #expect(outcome.succeeded == 1)
        let stats = fake.server.currentStats()
        #expect(stats.logins == 2)
        #expect(stats.invalidToken == 1)
        #expect(stats.calls["mergeListMembers"] == 2)
    }

    @Test func aTokenRefusedAgainAfterANewLoginIsAnError() throws {
        let fake = try FakeHarness { $0.faults.tokenTTL = 0 }  // every token is refused at once
        var limits = ResponsysLimits()
        limits.perMinute = [.login: 600]
        let client = try fake.client(limits: limits)
        let error = #expect(throws: ResponsysError.self) {
            _ = try client.mergeListMembers(list: "MASTER_LIST", body: listBody([["ann@example.org", "c-1"]]))
        }
        #expect(error?.code == .authentication)
        // First login; the rate-limit discovery and the merge are each repeated once after a new login.
        let stats = fake.server.currentStats()
        #expect(stats.logins == 3)
        #expect(stats.invalidToken == 4)
        #expect(stats.calls["mergeListMembers"] == nil)
        #expect(try fake.members().isEmpty)
    }

    @Test func anOldTokenIsReplacedBeforeItExpires() throws {
        let fake = try FakeHarness()
        var retry = fastRetry()
        retry.tokenMaxAge = 0  // every call finds its token too old
        var limits = ResponsysLimits()
        limits.discoverFromServer = false
        limits.perMinute = [.login: 600]  // the assumed 10 logins a minute would space them 6 s apart
        let client = try fake.client(limits: limits, retry: retry)
        for index in 0..<3 {
            _ = try client.mergeListMembers(list: "MASTER_LIST", body: listBody([["m\(index)@example.org", "c"]]))
        }
        let stats = fake.server.currentStats()
        #expect(stats.logins == 3)
        #expect(stats.invalidToken == 0)
    }

    @Test func laterCallsGoToTheEndPointEvenWithoutSchemeOnAnotherHostNameAndPath() throws {
        let fake = try FakeHarness { $0.endPoint = "localhost:{port}/pod7/" }
        let client = try fake.client()
        let outcome = try client.mergeListMembers(list: "MASTER_LIST", body: listBody([["ann@example.org", "c-1"]]))
        #expect(outcome.succeeded == 1)

        let merges = try fake.journal().filter { $0["function"] as? String == "mergeListMembers" }
        #expect(merges.first?["path"] as? String == "/pod7/rest/api/v1.3/lists/MASTER_LIST/members")
        #expect(merges.first?["host"] as? String == "localhost:\(fake.server.port)")
        let login = try fake.journal().first { $0["function"] as? String == "login" }
        #expect(login?["host"] as? String == "127.0.0.1:\(fake.server.port)")
    }
}

@Suite struct ThrottlingAndRetryTests {
    @Test(arguments: [401, 400])
    func apiLimitExceededIsThrottlingWhateverItsStatus(status: Int) throws {
        let fake = try FakeHarness { $0.faults.throttleStatus = status }
        let client = try fake.client()
        try client.login()
        fake.server.updateFaults { $0.throttleNext = 2 }
        let outcome = try client.mergeListMembers(list: "MASTER_LIST", body: listBody([["ann@example.org", "c-1"]]))

        #expect(outcome.succeeded == 1)
        let stats = fake.server.currentStats()
        #expect(stats.throttled == 2)
        #expect(stats.logins == 1)  // throttling under 401 is not mistaken for a bad token
        #expect(stats.calls["mergeListMembers"] == 1)
    }

    @Test func throttlingThatNeverEndsFailsAsTemporary() throws {
        let fake = try FakeHarness()
        var retry = fastRetry()
        retry.maxThrottleWaits = 2
        retry.minuteBoundaryWait = 0.05
        let client = try fake.client(retry: retry)
        try client.login()
        fake.server.updateFaults { $0.throttleNext = 100 }
        let error = #expect(throws: ResponsysError.self) {
            _ = try client.mergeListMembers(list: "MASTER_LIST", body: listBody([["ann@example.org", "c-1"]]))
        }
        #expect(error?.code == .throttled)
        #expect(error?.exitStatus == .temporaryFailure)
        #expect(fake.server.currentStats().throttled == 3)
    }

    @Test func internalCapacityLimitBacksOffThenSucceeds() throws {
        let fake = try FakeHarness()
        let client = try fake.client()
        try client.login()
        fake.server.updateFaults { $0.capacityNext = 1 }
        let outcome = try client.mergeListMembers(list: "MASTER_LIST", body: listBody([["ann@example.org", "c-1"]]))
        #expect(outcome.succeeded == 1)
        #expect(fake.server.currentStats().capacityRejected == 1)
    }

    @Test func serverErrorsAreRetriedThenSucceed() throws {
        let fake = try FakeHarness()
        let client = try fake.client()
        try client.login()
        fake.server.updateFaults { $0.failNext = 2 }
        let outcome = try client.mergeListMembers(list: "MASTER_LIST", body: listBody([["ann@example.org", "c-1"]]))
        #expect(outcome.succeeded == 1)
        #expect(fake.server.currentStats().failed == 2)
        #expect(try fake.members().count == 1)
    }

    @Test func serverErrorsOutlastingTheAttemptsAreATemporaryFailure() throws {
        let fake = try FakeHarness()
        var retry = fastRetry()
        retry.maxAttempts = 3
        let client = try fake.client(retry: retry)
        try client.login()
        fake.server.updateFaults { $0.failNext = 10 }
        let error = #expect(throws: ResponsysError.self) {
            _ = try client.mergeListMembers(list: "MASTER_LIST", body: listBody([["ann@example.org", "c-1"]]))
        }
        #expect(error?.code == .unavailable)
        #expect(error?.exitStatus == .temporaryFailure)
        #expect(fake.server.currentStats().failed == 3)
    }

    @Test func aMergeWhoseConnectionDropsIsSentAgain() throws {
        let fake = try FakeHarness()
        let client = try fake.client()
        try client.login()
        // Two drops: libcurl itself resends once on a reused connection that died; the second drop comes on
        // a fresh connection and is retried by the client.
        fake.server.updateFaults { $0.dropNext = 2 }
        let outcome = try client.mergeListMembers(list: "MASTER_LIST", body: listBody([["ann@example.org", "c-1"]]))

        #expect(outcome.succeeded == 1)
        #expect(fake.server.currentStats().dropped == 2)
        #expect(fake.server.currentStats().calls["mergeListMembers"] == 3)
        #expect(fake.logSink.lines.contains { $0.contains("call failed; retrying") })
        #expect(try fake.members().count == 1)  // merging twice by email keeps one member
    }

    @Test func aTriggerWhoseConnectionDropsIsNotSentAgain() throws {
        let fake = try FakeHarness()
        let client = try fake.client()
        try client.login()
        fake.server.updateFaults { $0.dropNext = 1 }
        let outcome = try client.mergeTriggerEmail(campaign: "WELCOME", body: triggerBody(["ann@example.org"]))

        guard case .outcomeUnknown = outcome else {
            Issue.record("expected an unknown outcome, got \(outcome)")
            return
        }
        #expect(fake.server.currentStats().calls["mergeTriggerEmail"] == 1)
        #expect(try fake.emails().count == 1)  // the fake sent it before dropping: exactly once
    }

    @Test func aTriggerAnswered503IsNotSentAgain() throws {
        let fake = try FakeHarness()
        let client = try fake.client()
        try client.login()
        fake.server.updateFaults { $0.failNext = 1 }
        let outcome = try client.mergeTriggerEmail(campaign: "WELCOME", body: triggerBody(["ann@example.org"]))
        guard case .outcomeUnknown = outcome else {
            Issue.record("expected an unknown outcome, got \(outcome)")
            return
        }
        #expect(fake.server.currentStats().failed == 1)
        #expect(fake.server.currentStats().calls["mergeTriggerEmail"] == nil)
    }

    @Test func aTriggerRefusedForItsTokenIsSentAfterANewLogin() throws {
        let fake = try FakeHarness()
        let client = try fake.client()
        try client.login()
        fake.server.expireTokens()
        let outcome = try client.mergeTriggerEmail(campaign: "WELCOME", body: triggerBody(["ann@example.org"]))
        guard case .answered(let recipients) = outcome else {
            Issue.record("expected an answer, got \(outcome)")
            return
        }
        #expect(recipients.map(\.success) == [true])
        #expect(fake.server.currentStats().logins == 2)
        #expect(try fake.emails().count == 1)
    }

    @Test func aThrottledTriggerIsSentOnceTheLimitAllows() throws {
        let fake = try FakeHarness()
        let client = try fake.client()
        try client.login()
        fake.server.updateFaults { $0.throttleNext = 1 }
        let outcome = try client.mergeTriggerEmail(campaign: "WELCOME", body: triggerBody(["ann@example.org"]))
        #expect(outcome == .answered([RecipientOutcome(recipientId: 70_000_001, success: true, errorMessage: nil)]))
        #expect(try fake.emails().count == 1)
    }

    @Test func concurrentCallersShareOneLimiterAndNeverExceedTheLimit() throws {
        let fake = try FakeHarness {
            $0.faults.limitPerWindow = 10
            $0.faults.limitWindowSeconds = 1
        }
        var limits = ResponsysLimits()
        limits.perMinute = [.mergeListMembers: 10]
        limits.windowSeconds = 1
        limits.safetyMargin = 0.3
        limits.maxInFlight = 8
        var retry = fastRetry()
        retry.minuteBoundaryWait = 1
        let client = try fake.client(limits: limits, retry: retry)
        try client.login()

        let results = client.concurrently(30) { index in
            try client.mergeListMembers(list: "MASTER_LIST", body: listBody([["p\(index)@example.org", "c\(index)"]]))
        }
        #expect(results.allSatisfy { (try? $0.get().succeeded) == 1 })
        let stats = fake.server.currentStats()
        #expect(stats.calls["mergeListMembers"] == 30)
        #expect(stats.throttled == 0)
        #expect((stats.maxInWindow["mergeListMembers"] ?? 0) <= 10)
        #expect(try fake.members().count == 30)
    }

    @Test func limitsAreReadFromTheRateLimitEndpoint() throws {
        let fake = try FakeHarness { $0.faults.limitPerWindow = 321 }
        let client = try fake.client()
        let entries = try client.rateLimits()
        #expect(entries.first { $0.api == "mergeListMembers" }?.limit == 321)
        #expect(entries.first { $0.api == "mergeTriggerEmail" }?.resourcePath == "/campaigns/{campaignName}/email")
        let paths = try fake.journal().compactMap { $0["path"] as? String }
        #expect(paths.contains("/rest/api/ratelimit"))
    }
}
