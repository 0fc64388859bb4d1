import Core
import Foundation
import TestSupport
import Testing

/// export-users and export-campaign under SIGKILL and server faults: the built executable against the built
/// fake-responsys; at the end the fake's list and PETs equal the audience, and no email went twice.
@Suite(.serialized) struct ExportReliabilityTests {
    /// Audience size per round, members leaving and entering per round.
    static let size = 2_400
    static let step = 400

    @Test func exportUsersSigkilledAtRandomMomentsEndsWithTheAudienceInResponsys() throws {
        let settings = ReliabilitySettings.current
        let scenario = try ExportScenario(label: "reliability-users", fakeArguments: ["--latency-ms", "15"])
        var loop = KillLoop(
            stages: ["extract", "transform", "load"], runsPath: scenario.runsPath("users"), seed: settings.seed &+ 1,
            maxDelay: settings.maxDelay)
        var kills = 0
        var landed: [String: Int] = [:]
        var round = 0
        var problems: [String] = []
        while problems.isEmpty && kills < settings.totalKills {
            try scenario.setAudience(scenario.audience(round: round, size: Self.size, step: Self.step))
            round += 1
            let outcome = try loop.run(kills: settings.killsPerRound) { try scenario.start("users", "r\(round)-\($0)") }
            kills += outcome.kills
            landed.merge(outcome.landed, uniquingKeysWith: +)
            let final = try outcome.finished ?? scenario.start("users", "r\(round)-final")
            final.wait()
            #expect(final.exitStatus == 0, "round \(round): exit \(final.exitStatus ?? -1): \(final.stderr)")
            problems = try scenario.usersProblems()
            #expect(problems.isEmpty, "round \(round), seed \(settings.seed): \(problems)")
        }
        ReliabilityTable.record(
            scenario: "export-users sigkill", kills: kills, landed: landed, ok: problems.isEmpty,
            detail: "rounds=\(round) members=\(scenario.audience.count)")
    }

    @Test func exportCampaignSigkilledAtRandomMomentsNeverSendsAnEmailTwice() throws {
        let settings = ReliabilitySettings.current
        var kills = 0
        var landed: [String: Int] = [:]
        var ok = true
        var instance = 0
        var sent = 0
        var unknown = 0
        // A run left with triggers of unknown outcome waits for the operator; the next instance starts afresh.
        while ok && kills < settings.totalKills {
            instance += 1
            let scenario = try ExportScenario(
                label: "reliability-campaign", fakeArguments: ["--latency-ms", "15"])
            var loop = KillLoop(
                stages: ["extract", "transform", "load"], runsPath: scenario.runsPath("welcome"),
                seed: settings.seed &+ UInt64(100 + instance), maxDelay: settings.maxDelay)
            var round = 0
            while ok && kills < settings.totalKills {
                try scenario.setAudience(scenario.audience(round: round, size: Self.size, step: Self.step))
                round += 1
                let outcome = try loop.run(kills: settings.killsPerRound) {
                    try scenario.start("welcome", "i\(instance)r\(round)-\($0)")
                }
                kills += outcome.kills
                landed.merge(outcome.landed, uniquingKeysWith: +)
                let final = try outcome.finished ?? scenario.start("welcome", "i\(instance)r\(round)-final")
                final.wait()
                // 0: all sent; 3: some triggers have an unknown outcome, reported and not sent again.
                #expect(
                    final.exitStatus == 0 || final.exitStatus == 3, "exit \(final.exitStatus ?? -1): \(final.stderr)")
                if final.exitStatus == 3 {
                    #expect(final.stderr.contains("--resend-unknown"), "\(final.stderr)")
                }
                let problems = try scenario.campaignProblems()
                #expect(problems.isEmpty, "instance \(instance) round \(round), seed \(settings.seed): \(problems)")
                ok = problems.isEmpty
                if final.exitStatus != 0 { break }
            }
            sent += try scenario.sentEmails().count
            unknown += try scenario.reportedUnknown().count
            if instance > 20 { break }
        }
        ReliabilityTable.record(
            scenario: "export-campaign sigkill", kills: kills, landed: landed, ok: ok,
            detail: "instances=\(instance) sent=\(sent) unknown=\(unknown)")
    }

    /// A delete that Responsys carried out but whose answer was lost (the process killed right after the
    /// answer, before its receipt; the same happens when the connection drops after the server acted) is
    /// sent again on resume and answered "DELETEFAILED: Record not Found in the List.". The member is gone,
    /// as the delete wanted: the run must finish cleanly, not report the members as refused forever.
    @Test func aDeleteRepeatedAfterItsAnswerWasLostFinishesCleanly() throws {
        let scenario = try ExportScenario(label: "reliability-users-delete")
        try scenario.setAudience((0..<600).map { ExportScenario.member($0) })
        let first = try scenario.start("users", "first")
        #expect(first.wait() == 0, "\(first.stderr)")

        // Only exits: the load's one request is the delete of 100 members.
        try scenario.setAudience((100..<600).map { ExportScenario.member($0) })
        let killed = try scenario.start(
            "users", "killed", extraEnvironment: ["RETL_TEST_CRASH_AT": "after-request:1"])
        #expect(killed.wait() == 128 + 9, "\(killed.stderr)")
        let resumed = try scenario.start("users", "resumed")
        #expect(resumed.wait() == 0, "exit \(resumed.exitStatus ?? -1): \(resumed.stderr)")
        #expect(try scenario.usersProblems().isEmpty)

        // The next run has nothing left to remove.
        let next = try scenario.start("users", "next")
        #expect(next.wait() == 0, "exit \(next.exitStatus ?? -1): \(next.stderr)")
        #expect(next.stdout.contains("exited=0"), "\(next.stdout)")
    }

    /// 5xx answers, dropped connections (after the server did the work) and a four-second token, all at once;
    /// the long version adds a tight rate limit (60 calls a minute per function, each throttle costing the
    /// client a minute's wait).
    static func faults(seed: UInt64, long: Bool) -> [String] {
        [
            "--fail-rate", "0.08", "--drop-rate", "0.05", "--token-ttl", "4", "--latency-ms", "5",
            "--limit-per-minute", long ? "60" : "600", "--seed", String(seed),
        ]
    }

    /// Audience size and turnover of the fault scenarios.
    static let faultSize = 1_200
    static let faultStep = 200

    @Test func exportUsersUnderServerFaultsEndsRightOrFailsClearlyAndResumes() throws {
        let settings = ReliabilitySettings.current
        let scenario = try ExportScenario(
            label: "reliability-users-faults", fakeArguments: Self.faults(seed: settings.seed, long: settings.long))
        var problems: [String] = []
        var failures: [Int32: Int] = [:]
        var messages: Set<String> = []
        for round in 0..<settings.faultRounds where problems.isEmpty {
            try scenario.setAudience(scenario.audience(round: round, size: Self.faultSize, step: Self.faultStep))
            var status: Int32 = -1
            var lastError = ""
            for attempt in 1...12 where status != 0 {
                let run = try scenario.start("users", "faults-r\(round)-\(attempt)")
                status = run.wait()
                if status != 0 {
                    failures[status, default: 0] += 1
                    // A failure is a clear one: a documented status and a message that says what happened.
                    #expect(status == 1 || status == 75, "exit \(status): \(run.stderr)")
                    #expect(run.stderr.contains("error"), "\(run.stderr)")
                    lastError = run.stderr.split(separator: "\n").last.map(String.init) ?? ""
                    messages.insert(String(lastError.prefix(90)))
                }
            }
            #expect(status == 0, "round \(round) never finished under faults; last failure: \(lastError)")
            problems = try scenario.usersProblems()
            #expect(problems.isEmpty, "round \(round), seed \(settings.seed): \(problems)")
        }
        ReliabilityTable.record(
            scenario: "export-users faults", kills: 0, landed: [:], ok: problems.isEmpty,
            detail: "failed runs: "
                + failures.sorted { $0.key < $1.key }.map { "exit\($0.key)=\($0.value)" }
                .joined(separator: ",") + "; fake: " + scenario.fake.faultSummary()
                + messages.sorted().map { "; \"\($0)\"" }.joined())
    }

    @Test func exportCampaignUnderServerFaultsNeverSendsTwiceAndReportsWhatIsUnknown() throws {
        let settings = ReliabilitySettings.current
        let scenario = try ExportScenario(
            label: "reliability-campaign-faults",
            fakeArguments: Self.faults(seed: settings.seed &+ 7, long: settings.long))
        var problems: [String] = []
        var statuses: [Int32: Int] = [:]
        var resent = 0
        rounds: for round in 0..<settings.faultRounds {
            try scenario.setAudience(scenario.audience(round: round, size: Self.faultSize, step: Self.faultStep))
            var status: Int32 = -1
            var resendRun: String?
            for attempt in 1...12 {
                // The operator's part: resend the unknown triggers once Responsys showed they did not go out.
                let arguments = resendRun.map { ["stage", "welcome", "load", "--run", $0, "--resend-unknown"] }
                let run = try scenario.start("welcome", "faults-r\(round)-\(attempt)", arguments: arguments)
                status = run.wait()
                statuses[status, default: 0] += 1
                #expect([0, 1, 3, 75].contains(status), "exit \(status): \(run.stderr)")
                // At every point, not only at the end: no email twice, nobody forgotten silently.
                problems = try scenario.campaignProblems(ended: status == 0 || status == 3)
                #expect(problems.isEmpty, "round \(round) attempt \(attempt): \(problems)")
                if !problems.isEmpty { break rounds }
                if status == 0 { break }
                if status == 3 {
                    // Triggers whose answer was lost: reported, never resent without --resend-unknown.
                    #expect(run.stderr.contains("--resend-unknown"), "\(run.stderr)")
                    let unknown = try scenario.reportedUnknown()
                    // Those that did go out (the answer was dropped after the send) must not go again: stop here.
                    if !unknown.isDisjoint(with: try scenario.sentEmails().keys) { break rounds }
                    resendRun = try Files.list(scenario.runsPath("welcome")).max()
                    resent += unknown.count
                }
            }
            #expect(status == 0, "round \(round) never finished under faults")
        }
        ReliabilityTable.record(
            scenario: "export-campaign faults", kills: 0, landed: [:], ok: problems.isEmpty,
            detail: "runs "
                + statuses.sorted { $0.key < $1.key }.map { "exit\($0.key)=\($0.value)" }
                .joined(separator: ",") + " sent=\(try scenario.sentEmails().count) resent=\(resent) "
                + "unknown=\(try scenario.reportedUnknown().count); fake: " + scenario.fake.faultSummary())
    }
}
