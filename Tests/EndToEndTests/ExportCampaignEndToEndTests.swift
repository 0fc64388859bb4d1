import Config
import Core
import Foundation
import Responsys
import Staging
import TestSupport
import Testing

@testable import Workflows

/// export-campaign end to end: the built `responsys-etl` against the built `fake-responsys` over real HTTP;
/// every email is sent at most once, whatever the point at which the load is killed.
@Suite(.serialized) struct ExportCampaignEndToEndTests {
    let folder: TemporaryFolder
    let fake: FakeResponsysProcess

    static let list = "MASTER_LIST"

    init() throws {
        folder = try TemporaryFolder("campaign-e2e")
        fake = try FakeResponsysProcess(
            journal: folder.file("journal.ndjson"),
            arguments: [
                "--list", Self.list, "--pet", "\(Self.list)/Lytics_User_Fields:FIRST_NAME", "--campaign",
                "WELCOME:\(Self.list)",
            ])
    }

    private func writeConfig(backFill: Bool = true, list: Bool = true, _ extra: String = "") throws {
        try folder.write(
            "responsys-etl.toml",
            """
            [staging]
            dir = "staging"

            [auth.rest]
            type = "interact"
            username = "\(FakeResponsysProcess.user)"
            password_env = "TEST_RESPONSYS_PASSWORD"
            base_url = "\(fake.baseURL)"

            [workflows.welcome]
            type = "export-campaign"
            auth = "rest"
            campaign = "WELCOME"
            \(list ? "list = \"\(Self.list)\"" : "")
            source = { type = "file", path = "signups.csv" }
            additional_fields = ["first_name"]
            back_fill = \(backFill)
            default_permission_status = "OPTIN"
            \(extra)

            """)
    }

    private func signups(_ rows: [String]) throws {
        try folder.write("signups.csv", "email,first_name\n" + rows.joined(separator: "\n") + "\n")
    }

    private static func people(_ range: Range<Int>) -> [String] {
        range.map { String(format: "person%03d@example.org,Person %d", $0, $0) }
    }

    private func tool(_ arguments: [String], crashAt: String? = nil) throws -> ToolProcess.Result {
        var environment = ["TEST_RESPONSYS_PASSWORD": FakeResponsysProcess.password]
        if let crashAt { environment["RETL_TEST_CRASH_AT"] = crashAt }
        let result = try ToolProcess.run("responsys-etl", arguments, in: folder.path, environment: environment)
        #expect(
            !result.stderr.contains(FakeResponsysProcess.password)
                && !result.stdout.contains(FakeResponsysProcess.password))
        return result
    }

    private func runFolders() throws -> [String] {
        try Files.list(folder.file("staging/welcome/runs")).sorted().map { folder.file("staging/welcome/runs/" + $0) }
    }

    /// The emails the fake sent, with how many times each.
    private func sent() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for email in try fake.emails() { counts[email["email"] as? String ?? "?", default: 0] += 1 }
        return counts
    }

    @Test func fourHundredFiftyEntrantsGoAsThreeTriggersWithTheirData() throws {
        try writeConfig()
        try signups(Self.people(0..<449) + ["Renee@Example.org,Renée Zoë 😀"])
        let result = try tool(["run", "welcome"])
        #expect(result.status == 0, "exit \(result.status): \(result.stderr)")
        let triggers = try fake.calls("mergeTriggerEmail")
        #expect(triggers.map { $0["records"] as? Int } == [200, 200, 50])
        #expect(triggers.allSatisfy { $0["status"] as? Int == 200 })
        let counts = try sent()
        #expect(counts.count == 450)
        #expect(counts.values.allSatisfy { $0 == 1 })

        // The non-ASCII first name arrives intact in the PET and in the trigger's optionalData.
        let email = try fake.emails().first { $0["email"] as? String == "renee@example.org" }
        #expect((email?["optionalData"] as? [String: String])?["FIRST_NAME"] == "Renée Zoë 😀")
        #expect(try fake.petRows(Self.list, "Lytics_User_Fields")["renee@example.org"]?["FIRST_NAME"] == "Renée Zoë 😀")
        // The list merge and the PET merge of each chunk come before its trigger.
        let order = try fake.journal().compactMap { $0["function"] as? String }.filter {
            $0 == "mergeListMembers" || $0 == "mergeProfileExtensionMembers" || $0 == "mergeTriggerEmail"
        }
        #expect(
            order
                == Array(
                    repeating: ["mergeListMembers", "mergeProfileExtensionMembers", "mergeTriggerEmail"], count: 3
                ).flatMap { $0 })

        // Nobody new: the next run sends nothing.
        let again = try tool(["run", "welcome"])
        #expect(again.status == 0, "exit \(again.status): \(again.stderr)")
        #expect(try fake.calls("mergeTriggerEmail").count == 3)
    }

    @Test func aMemberWhoLeavesAndComesBackIsNotEmailedAgain() throws {
        try writeConfig()
        try signups(Self.people(0..<10))
        #expect(try tool(["run", "welcome"]).status == 0)
        try signups(Self.people(0..<5))
        #expect(try tool(["run", "welcome"]).status == 0)
        // They come back, one of them spelled in upper case, with one true newcomer.
        try signups(Self.people(0..<10) + ["PERSON007@EXAMPLE.ORG,Person 7", "person010@example.org,Person 10"])
        let back = try tool(["run", "welcome"])
        #expect(back.status == 0, "exit \(back.status): \(back.stderr)")
        let counts = try sent()
        #expect(counts.count == 11)
        #expect(counts.values.allSatisfy { $0 == 1 })
        #expect(counts["person010@example.org"] == 1)
    }

    @Test func withoutBackFillTheFirstRunOnlyRecordsTheMembers() throws {
        try writeConfig(backFill: false)
        try signups(Self.people(0..<5))
        let first = try tool(["run", "welcome"])
        #expect(first.status == 0, "exit \(first.status): \(first.stderr)")
        #expect(try fake.calls("mergeTriggerEmail").isEmpty)
        #expect(try fake.emails().isEmpty)

        try signups(Self.people(1..<7))
        let second = try tool(["run", "welcome"])
        #expect(second.status == 0, "exit \(second.status): \(second.stderr)")
        #expect(try sent() == ["person005@example.org": 1, "person006@example.org": 1])
    }

    @Test func refusedRecipientsAreReportedAndTriedNextRun() throws {
        try writeConfig()
        try signups(Self.people(0..<2))
        #expect(try tool(["run", "welcome"]).status == 0)

        // insert_on_no_match = false: Responsys refuses new recipients (success:false).
        try writeConfig("insert_on_no_match = false")
        try signups(Self.people(0..<3))
        let second = try tool(["run", "welcome"])
        #expect(second.status == 3, "exit \(second.status): \(second.stderr)")
        let rejects = try ndjson(try runFolders()[1] + "/load/rejects.ndjson")
        #expect(
            rejects.contains {
                $0["email"] as? String == "person002@example.org"
                    && ($0["request"] as? String)?.contains("trigger") == true
            })
        #expect(try sent().count == 2)

        try writeConfig()
        let third = try tool(["run", "welcome"])
        #expect(third.status == 0, "exit \(third.status): \(third.stderr)")
        #expect(try sent() == ["person000@example.org": 1, "person001@example.org": 1, "person002@example.org": 1])
    }

    /// Killed at each point of the second trigger, then resumed: every email is sent at most once, and
    /// those whose fate is unknown are reported and sent only on request.
    @Test(arguments: ["before-trigger", "after-trigger", "after-trigger-receipt"])
    func crashAtEachPointOfTheTriggerThenResume(point: String) throws {
        try writeConfig()
        try signups(Self.people(0..<450))
        let crashed = try tool(["run", "welcome"], crashAt: point + ":2")
        #expect(crashed.status == 9, "exit \(crashed.status): \(crashed.stderr)")
        let sentBeforeResume = try sent()
        #expect(sentBeforeResume.values.allSatisfy { $0 == 1 })
        #expect(sentBeforeResume.count == (point == "before-trigger" ? 200 : 400))

        let resumed = try tool(["run", "welcome"])
        let counts = try sent()
        #expect(counts.values.allSatisfy { $0 == 1 }, "an email went twice")
        let run = try runFolders()[0]
        let runID = (run as NSString).lastPathComponent
        if point == "after-trigger-receipt" {
            // The answer was journaled: nothing is unknown, nothing is sent twice.
            #expect(resumed.status == 0, "exit \(resumed.status): \(resumed.stderr)")
            #expect(counts.count == 450)
            return
        }
        // The second chunk's outcome is unknown: not sent again, reported, exit 3.
        #expect(resumed.status == 3, "exit \(resumed.status): \(resumed.stderr)")
        #expect(resumed.stderr.contains("--resend-unknown"))
        let unknown = Set(try ndjson(run + "/load/unknown.ndjson").compactMap { $0["email"] as? String })
        #expect(unknown.count == 200)
        let expected = Set(Self.people(200..<400).map { String($0.prefix { $0 != "," }) })
        #expect(unknown == expected)
        #expect(counts.count == (point == "before-trigger" ? 250 : 450))
        // Every email not sent is reported as unknown.
        let notSent = Set(Self.people(0..<450).map { String($0.prefix { $0 != "," }) }).subtracting(counts.keys)
        #expect(notSent.isSubset(of: unknown))
        let status = try tool(["status", "welcome"])
        #expect(status.stdout.contains("unknown.ndjson"), "\(status.stdout)")
        #expect(status.stdout.contains("200 emails with an unknown outcome"), "\(status.stdout)")
        let json = try tool(["status", "welcome", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let workflow = (object?["workflows"] as? [[String: Any]])?.first
        let outcomes = workflow?["unknownOutcomes"] as? [[String: Any]]
        #expect(Set(outcomes?.first?["recipients"] as? [String] ?? []) == unknown)

        // Running again or forcing the load never resends it.
        #expect(try tool(["run", "welcome"]).status == 3)
        #expect(try tool(["stage", "welcome", "load", "--run", runID, "--force"]).status == 3)
        #expect(try sent().values.allSatisfy { $0 == 1 })

        // Only --resend-unknown sends it again.
        let resent = try tool(["stage", "welcome", "load", "--run", runID, "--resend-unknown"])
        #expect(resent.status == 0, "exit \(resent.status): \(resent.stderr)")
        let final = try sent()
        #expect(final.count == 450)
        if point == "before-trigger" {
            #expect(final.values.allSatisfy { $0 == 1 })
        }
        #expect(try fake.calls("mergeTriggerEmail").count == (point == "before-trigger" ? 3 : 4))
    }

    /// Killed with the first trigger in flight: `status` reports its recipients from the journal at once,
    /// not only after the next run found them.
    @Test func statusReportsTriggersInFlightAtACrashBeforeTheNextRun() throws {
        try writeConfig()
        try signups(Self.people(0..<250))
        let crashed = try tool(["run", "welcome"], crashAt: "before-trigger:1")
        #expect(crashed.status == 9, "exit \(crashed.status): \(crashed.stderr)")
        let runID = (try runFolders()[0] as NSString).lastPathComponent
        let inFlight = Set(Self.people(0..<200).map { String($0.prefix { $0 != "," }) })

        let json = try tool(["status", "welcome", "--json"])
        #expect(json.status == 0, "exit \(json.status): \(json.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let outcomes = (object?["workflows"] as? [[String: Any]])?.first?["unknownOutcomes"] as? [[String: Any]]
        #expect(outcomes?.count == 1)
        #expect(outcomes?.first?["run"] as? String == runID)
        #expect(Set(outcomes?.first?["recipients"] as? [String] ?? []) == inFlight)
        #expect(outcomes?.first?["requests"] as? [String] == ["000001-03-trigger.json"])

        let text = try tool(["status", "welcome"])
        #expect(text.stdout.contains("run \(runID): 200 emails with an unknown outcome"), "\(text.stdout)")
        #expect(text.stdout.contains("--run \(runID) --resend-unknown"), "\(text.stdout)")
        #expect(text.stdout.contains("does not resend the emails of unknown outcome"), "\(text.stdout)")
        #expect(!text.stdout.contains("unfinished (resumes on the next run)\n"), "\(text.stdout)")

        // Once sent on request, nothing is in doubt any more.
        #expect(try tool(["run", "welcome"]).status == 3)
        let resent = try tool(["stage", "welcome", "load", "--run", runID, "--resend-unknown"])
        #expect(resent.status == 0, "exit \(resent.status): \(resent.stderr)")
        let after = try tool(["status", "welcome", "--json"])
        let afterObject = try JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as? [String: Any]
        let afterOutcomes = (afterObject?["workflows"] as? [[String: Any]])?.first?["unknownOutcomes"] as? [Any]
        #expect(afterOutcomes?.isEmpty == true)
        #expect(try sent().count == 250)
    }

    private func journals() throws -> [String] {
        try Files.list(folder.file("staging/welcome/state/triggers")).filter { !$0.hasPrefix(".") }
    }

    /// A run that sends nothing leaves no journal; `clean` removes the journals of the runs it removed once
    /// they are settled, and never one whose outcome is unknown.
    @Test func cleanPrunesSettledTriggerJournalsAndKeepsThoseInDoubt() throws {
        try writeConfig()
        try signups(Self.people(0..<5))
        #expect(try tool(["run", "welcome"]).status == 0)
        #expect(try tool(["run", "welcome"]).status == 0)
        try signups(Self.people(0..<6))
        #expect(try tool(["run", "welcome"]).status == 0)
        let runs = try runFolders().map { ($0 as NSString).lastPathComponent }
        #expect(runs.count == 3)
        // Only the two runs that sent a trigger have a journal.
        #expect(try journals().map { String($0.prefix { $0 != "." }) } == [runs[0], runs[2]])

        let cleaned = try tool(["clean", "--older-than", "0s"])
        #expect(cleaned.status == 0, "exit \(cleaned.status): \(cleaned.stderr)")
        #expect(cleaned.stdout.contains("removed 2 runs"), "\(cleaned.stdout)")
        #expect(cleaned.stdout.contains("1 settled trigger journals"), "\(cleaned.stdout)")
        #expect(try journals().map { String($0.prefix { $0 != "." }) } == [runs[2]])

        // A trigger in flight at a crash, whose run the operator removes to never send it: its journal stays
        // (it holds the recipient back) through every clean.
        try signups(Self.people(0..<7))
        #expect(try tool(["run", "welcome"], crashAt: "before-trigger:1").status == 9)
        let stuck = try #require(try runFolders().last)
        let stuckID = (stuck as NSString).lastPathComponent
        try FileManager.default.removeItem(atPath: stuck)
        #expect(try tool(["run", "welcome"]).status == 0)
        let again = try tool(["clean", "--older-than", "0s"])
        #expect(again.status == 0, "exit \(again.status): \(again.stderr)")
        #expect(try journals().map { String($0.prefix { $0 != "." }) } == [stuckID])
        #expect(try sent().count == 6)
        #expect(try sent()["person006@example.org"] == nil)
    }

    /// DESIGN's example has no `list`: `check` and `run` both take the list the campaign sends to from
    /// Responsys, and agree when the campaign does not exist.
    @Test func withoutListTheCampaignsListIsReadFromResponsys() throws {
        try writeConfig(list: false)
        let check = try tool(["check", "welcome"])
        #expect(check.status == 0, "exit \(check.status): \(check.stderr)")
        #expect(check.stdout.contains("campaign WELCOME: sends to list \(Self.list)"), "\(check.stdout)")
        #expect(check.stdout.contains("extension table Lytics_User_Fields of list \(Self.list): exists"))
        #expect(!Files.exists(folder.file("staging")), "check creates nothing")

        try signups(Self.people(0..<3))
        let run = try tool(["run", "welcome"])
        #expect(run.status == 0, "exit \(run.status): \(run.stderr)")
        #expect(try sent().count == 3)
        let merges = try fake.calls("mergeListMembers").compactMap { $0["path"] as? String }
        #expect(merges == ["/rest/api/v1.3/lists/\(Self.list)/members"])
        #expect(try fake.petRows(Self.list, "Lytics_User_Fields")["person002@example.org"]?["FIRST_NAME"] == "Person 2")

        // Nobody new: no need to ask for the list.
        let before = try fake.calls("retrieveCampaign").count
        #expect(try tool(["run", "welcome"]).status == 0)
        #expect(try fake.calls("retrieveCampaign").count == before)

        // A campaign that does not exist: check and run both say so, exit 2, nothing sent.
        try expectCheckRefusesAMissingCampaign()
        try signups(Self.people(0..<4))
        let refused = try tool(["run", "welcome"])
        #expect(refused.status == 2, "exit \(refused.status): \(refused.stderr)")
        #expect(refused.stderr.contains("campaign GOODBYE"))
        #expect(try sent().count == 3)
    }

    /// Rebuilding the plan of a run that emailed and wrote its state would record that it emailed nobody:
    /// refused; forcing its load keeps the history (rebuilt from the journal) and sends nothing again.
    @Test func forcingTheTransformOfARunThatEmailedIsRefusedAndItsHistoryKept() throws {
        try writeConfig()
        try signups(Self.people(0..<250))
        #expect(try tool(["run", "welcome"]).status == 0)
        let runID = (try runFolders()[0] as NSString).lastPathComponent

        for stage in ["transform", "extract"] {
            let forced = try tool(["stage", "welcome", stage, "--run", runID, "--force"])
            #expect(forced.status == 2, "exit \(forced.status): \(forced.stderr)")
            #expect(forced.stderr.contains("already emailed 250 members"), "\(forced.stderr)")
        }
        let load = try tool(["stage", "welcome", "load", "--run", runID, "--force"])
        #expect(load.status == 0, "exit \(load.status): \(load.stderr)")
        #expect(load.stdout.contains("emails_sent=250"), "\(load.stdout)")
        let status = try tool(["status", "welcome"])
        #expect(status.stdout.contains("emails_sent=250"), "\(status.stdout)")
        #expect(status.stdout.contains("triggers=2"), "\(status.stdout)")
        #expect(try fake.calls("mergeTriggerEmail").count == 2)
        #expect(try sent().values.allSatisfy { $0 == 1 })
    }

    /// Two runs that emailed 3 then 2 new members; returns the run folders, oldest first.
    private func twoRunsThatEmailed() throws -> [String] {
        try writeConfig()
        try signups(Self.people(0..<3))
        #expect(try tool(["run", "welcome"]).status == 0)
        try signups(Self.people(0..<5))
        #expect(try tool(["run", "welcome"]).status == 0)
        let runs = try runFolders()
        try #require(runs.count == 2)
        return runs
    }

    /// A run older than the last delivery cannot load again (its merges would put older data back): forcing
    /// it is refused before anything is cleared, so the run stays finished and never blocks the next run.
    @Test func forcingTheLoadOfASupersededRunIsRefusedAndTheRunStaysFinished() throws {
        let runs = try twoRunsThatEmailed()
        let first = (runs[0] as NSString).lastPathComponent
        let transform = try tool(["stage", "welcome", "transform", "--run", first, "--force"])
        #expect(transform.status == 2, "exit \(transform.status): \(transform.stderr)")
        #expect(transform.stderr.contains("already emailed 3 members"), "\(transform.stderr)")
        #expect(!transform.stderr.contains("load --run"), "suggests a load that is refused: \(transform.stderr)")
        let load = try tool(["stage", "welcome", "load", "--run", first, "--force"])
        #expect(load.status == 2, "exit \(load.status): \(load.stderr)")
        #expect(load.stderr.contains("is older than run"), "\(load.stderr)")

        let area = WorkflowArea(stagingRoot: folder.file("staging"), workflow: "welcome")
        let id = try #require(RunID(text: first))
        let run = try #require(try area.openRun(id))
        #expect(run.record.finishedAt != nil)
        #expect(run.record.stages.first { $0.name == .load }?.state == .done)
        #expect(try run.stage(.load).checkMarker() == .valid)
        let status = try tool(["status", "welcome"])
        #expect(!status.stdout.contains("unfinished"), "\(status.stdout)")

        // The newer run removed by hand: the next run is a new one, not the old one resumed.
        try Files.remove(runs[1])
        try signups(Self.people(0..<6))
        let next = try tool(["run", "welcome"])
        #expect(next.status == 0, "exit \(next.status): \(next.stderr)")
        #expect(try runFolders().count == 2)
        let counts = try sent()
        #expect(counts.count == 6)
        #expect(counts.values.allSatisfy { $0 == 1 })
        // Nothing was sent for the refused forced stages: one list merge per run.
        #expect(try fake.calls("mergeListMembers").count == 3)
    }

    /// A superseded run left unfinished (as an earlier version left a refused forced load) would be resumed
    /// and refused by every `run`: the refusal names the way out, removing its folder, which works.
    @Test func aSupersededRunLeftUnfinishedNamesTheWayOut() throws {
        let runs = try twoRunsThatEmailed()
        let area = WorkflowArea(stagingRoot: folder.file("staging"), workflow: "welcome")
        let first = (runs[0] as NSString).lastPathComponent
        let id = try #require(RunID(text: first))
        let run = try #require(try area.openRun(id))
        try run.invalidate(from: .load)
        // Once the newer run is gone (cleaned, or removed by hand), `run` resumes the old one.
        try Files.remove(runs[1])

        let status = try tool(["status", "welcome"])
        #expect(status.stdout.contains("it can never load; remove its folder runs/\(first)"), "\(status.stdout)")
        let stuck = try tool(["run", "welcome"])
        #expect(stuck.status == 2, "exit \(stuck.status): \(stuck.stderr)")
        #expect(stuck.stderr.contains("remove its folder") && stuck.stderr.contains(first), "\(stuck.stderr)")
        try Files.remove(runs[0])
        try signups(Self.people(0..<6))
        let next = try tool(["run", "welcome"])
        #expect(next.status == 0, "exit \(next.status): \(next.stderr)")
        let counts = try sent()
        #expect(counts.count == 6)
        #expect(counts.values.allSatisfy { $0 == 1 })
    }

    /// Points the config at campaign GOODBYE, which the fake does not have: `check` exits 2 and names it.
    private func expectCheckRefusesAMissingCampaign() throws {
        let config = try String(contentsOfFile: folder.file("responsys-etl.toml"), encoding: .utf8)
            .replacingOccurrences(of: "campaign = \"WELCOME\"", with: "campaign = \"GOODBYE\"")
        try folder.write("responsys-etl.toml", config)
        let missing = try tool(["check", "welcome"])
        #expect(missing.status == 2, "exit \(missing.status): \(missing.stderr)")
        #expect(missing.stderr.contains("campaign GOODBYE"))
        // What was proven before the failure is still printed, then the workflow's summary.
        #expect(missing.stdout.contains("welcome: responsys ") && missing.stdout.contains(": logged in as "))
        #expect(missing.stdout.hasSuffix("welcome: failed (exit status 2, the error is on stderr)\n"))
    }

    @Test func checkConfirmsTheCampaignListAndTableAndNamesWhatIsMissing() throws {
        try writeConfig()
        let ok = try tool(["check", "welcome"])
        #expect(ok.status == 0, "exit \(ok.status): \(ok.stderr)")
        #expect(ok.stdout.contains("campaign WELCOME: exists"))
        #expect(ok.stdout.contains("extension table Lytics_User_Fields of list MASTER_LIST: exists"))

        try expectCheckRefusesAMissingCampaign()
        #expect(try fake.calls("mergeTriggerEmail").isEmpty)
    }

    @Test func aPlanRebuiltFromAnotherSourceAfterEmailsWentOutIsRefused() throws {
        try writeConfig()
        try signups(Self.people(0..<450))
        let crashed = try tool(["run", "welcome"], crashAt: "after-trigger-receipt:1")
        #expect(crashed.status == 9, "exit \(crashed.status): \(crashed.stderr)")
        #expect(try sent().count == 200)
        let runID = (try runFolders()[0] as NSString).lastPathComponent

        // Someone forces the extract of the same run after the source changed: the first chunk now holds
        // other people under the same request name.
        try signups(Self.people(1..<451))
        let extract = try tool(["stage", "welcome", "extract", "--run", runID, "--force"])
        #expect(extract.status == 0, "exit \(extract.status): \(extract.stderr)")
        let resumed = try tool(["run", "welcome"])
        #expect(resumed.status == 1, "exit \(resumed.status): \(resumed.stderr)")
        #expect(resumed.stderr.contains("journaled with other recipients"))
        #expect(try sent().count == 200)
        #expect(try sent().values.allSatisfy { $0 == 1 })
    }

    /// Removing a stopped run (also the way to give up on triggers of unknown outcome) never leads to a
    /// second email: the next run holds back everyone the removed run journaled.
    @Test(arguments: ["after-trigger-receipt:2", "after-trigger:2"])
    func aDeletedRunsSentEmailsAreNotSentAgainByTheNextRun(crashAt: String) throws {
        try writeConfig()
        try signups(Self.people(0..<450))
        let crashed = try tool(["run", "welcome"], crashAt: crashAt)
        #expect(crashed.status == 9, "exit \(crashed.status): \(crashed.stderr)")
        #expect(try sent().count == 400)
        // The operator removes the stopped run; its journal stays in state/.
        try FileManager.default.removeItem(atPath: try runFolders()[0])

        let next = try tool(["run", "welcome"])
        #expect(next.status == 0, "exit \(next.status): \(next.stderr)")
        let counts = try sent()
        #expect(counts.count == 450)
        #expect(counts.values.allSatisfy { $0 == 1 })
        // And the run after that sends nothing: the held-back members are in the delivered state.
        #expect(try tool(["run", "welcome"]).status == 0)
        #expect(try fake.calls("mergeTriggerEmail").count == 3)
    }

    /// The client reports `outcomeUnknown` (the fake drops the trigger's answer after sending the emails):
    /// treated as a request left in "sending" — journaled, reported, not sent again, exit status 3.
    @Test func anAnswerLostOnTheWayBackIsAnUnknownOutcome() throws {
        try writeConfig()
        try signups(Self.people(0..<250))
        // Stopped after the first chunk's list and PET merges, before its trigger.
        let crashed = try tool(["run", "welcome"], crashAt: "after-receipt:2")
        #expect(crashed.status == 9, "exit \(crashed.status): \(crashed.stderr)")
        #expect(try fake.emails().isEmpty)

        // Resume the load in this process with a client already logged in, so that the next call answered
        // is the trigger, and have the fake drop that answer.
        let config = try ConfigLoader.load(path: folder.file("responsys-etl.toml"))
        let workflow = try config.workflow(named: "welcome")
        guard case .exportCampaign(let settings) = workflow.settings else {
            Issue.record("not an export-campaign workflow")
            return
        }
        let environment = WorkflowEnvironment(
            config: config, environment: ["TEST_RESPONSYS_PASSWORD": FakeResponsysProcess.password], logger: .silent)
        var limits = ResponsysLimits()
        limits.discoverFromServer = false
        let client = try ResponsysClient(
            auth: ResponsysAuth(
                username: FakeResponsysProcess.user, password: FakeResponsysProcess.password, baseURL: fake.baseURL),
            limits: limits)
        try client.login()
        try fake.setFaults(["dropNext": 1])
        var stages = try WorkflowCatalog.stages(for: workflow, in: environment)
        stages[2] = ExportCampaignLoadStage(workflow: "welcome", settings: settings, makeClient: { client })
        let area = WorkflowArea(stagingRoot: config.stagingDir, workflow: "welcome")
        let run = try #require(try area.latestRun())
        let runner = StageRunner(area: area, stages: stages, logger: .silent)
        #expect(throws: ExportError.self) {
            _ = try runner.runOne(.load, of: run, force: false, options: StageOptions())
        }
        // The emails went out although the answer was lost (the journal says "unknown"); the second chunk
        // went too.
        #expect(try sent().count == 250)
        let entry = try #require(try TriggerJournal(area: area, run: run).entry("000001-03-trigger.json"))
        #expect(entry.state == .unknown)

        // The tool does not send it again, reports it, and sends the other chunk.
        let resumed = try tool(["run", "welcome"])
        #expect(resumed.status == 3, "exit \(resumed.status): \(resumed.stderr)")
        let counts = try sent()
        #expect(counts.count == 250)
        #expect(counts.values.allSatisfy { $0 == 1 })
        let unknown = try ndjson(run.path + "/load/unknown.ndjson")
        #expect(unknown.count == 200)
        #expect(unknown.allSatisfy { $0["state"] as? String == "unknown" })
    }
}
