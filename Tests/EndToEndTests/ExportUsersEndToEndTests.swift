import Core
import Foundation
import TestSupport
import Testing
import Warehouse

/// export-users end to end: the built `responsys-etl` against the built `fake-responsys` over real HTTP on
/// 127.0.0.1; assertions on the fake's `/_fake/state` and journal and on the run's files.
@Suite(.serialized) struct ExportUsersEndToEndTests {
    let folder: TemporaryFolder
    let fake: FakeResponsysProcess

    static let list = "MASTER_LIST"
    static let header = "email,first_name,city,newsletter,vip\n"

    init() throws {
        folder = try TemporaryFolder("users-e2e")
        fake = try FakeResponsysProcess(
            journal: folder.file("journal.ndjson"),
            arguments: [
                "--list", Self.list, "--pet", "\(Self.list)/Lytics_User_Fields:FIRST_NAME,CITY",
                "--pet", "\(Self.list)/Lytics_Segments:NEWSLETTER,VIP",
            ])
    }

    private func writeConfig(
        _ extra: String = "", fields: String = "[\"first_name\", \"city\"]", concurrency: Int = 1,
        workflow: String = "users", list: String = Self.list, baseURL: String? = nil
    ) throws {
        try folder.write(
            "responsys-etl.toml",
            """
            [staging]
            dir = "staging"

            [auth.rest]
            type = "interact"
            username = "\(FakeResponsysProcess.user)"
            password_env = "TEST_RESPONSYS_PASSWORD"
            base_url = "\(baseURL ?? fake.baseURL)"

            [workflows.\(workflow)]
            type = "export-users"
            auth = "rest"
            list = "\(list)"
            source = { type = "file", path = "audience.csv" }
            additional_fields = \(fields)
            audience_memberships = ["newsletter", "vip"]
            concurrency = \(concurrency)
            \(extra)

            """)
    }

    private func audience(_ rows: [String]) throws {
        try folder.write("audience.csv", Self.header + rows.joined(separator: "\n") + "\n")
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
        try Files.list(folder.file("staging/users/runs")).sorted().map { folder.file("staging/users/runs/" + $0) }
    }

    private func emails() throws -> Set<String> {
        Set(try fake.members(Self.list).compactMap { $0["EMAIL_ADDRESS_"] })
    }

    private func calls(_ function: String) throws -> Int { try fake.calls(function).count }

    @Test func firstRunSendsEveryoneThenEntriesExitsAndChanges() throws {
        try writeConfig()
        try audience([
            "Ann@Example.org,Ann,Paris,1,0",
            "bob@example.org,Bob,Lyon,yes,yes",
            "cara@example.org,Cara,Nice,0,1",
            " DAN@example.org ,Dan,,true,false",
            "not-an-email,Nobody,Paris,1,1",
            "ANN@example.org,Annie,Paris,1,1",
        ])
        let first = try tool(["run", "users"])
        #expect(first.status == 3, "exit \(first.status): \(first.stderr)")
        #expect(try emails() == ["ann@example.org", "bob@example.org", "cara@example.org", "dan@example.org"])
        let fields = try fake.petRows(Self.list, "Lytics_User_Fields")
        // The same email twice in any case: the last row wins.
        #expect(fields["ann@example.org"]?["FIRST_NAME"] == "Annie")
        #expect(fields["dan@example.org"]?["FIRST_NAME"] == "Dan")
        #expect(fields["dan@example.org"]?["CITY"] == nil)
        let segments = try fake.petRows(Self.list, "Lytics_Segments")
        #expect(segments["ann@example.org"]?["VIP"] == "1")
        #expect(segments["cara@example.org"]?["NEWSLETTER"] == "0")
        #expect(segments["bob@example.org"]?["NEWSLETTER"] == "1")
        // The invalid email is in the extract's rejects, with its line.
        let run1 = try runFolders()[0]
        let rejects = try ndjson(run1 + "/extract/rejects.ndjson")
        #expect(rejects.count == 1)
        #expect(rejects.first?["line"] as? Int == 6)
        #expect(try calls("mergeListMembers") == 1)

        // Second run: bob left, eve entered, cara moved, dan got a city; ann unchanged.
        try audience([
            "ann@example.org,Annie,Paris,1,1",
            "cara@example.org,Cara,Marseille,0,1",
            "dan@example.org,Dan,Brest,1,0",
            "eve@example.org,Eve,Lille,1,0",
        ])
        let before = try fake.journal().count
        let second = try tool(["run", "users"])
        #expect(second.status == 0, "exit \(second.status): \(second.stderr)")
        #expect(try emails() == ["ann@example.org", "cara@example.org", "dan@example.org", "eve@example.org"])
        let after = try fake.petRows(Self.list, "Lytics_User_Fields")
        #expect(after["cara@example.org"]?["CITY"] == "Marseille")
        #expect(after["dan@example.org"]?["CITY"] == "Brest")
        #expect(after["eve@example.org"]?["FIRST_NAME"] == "Eve")
        let secondCalls = try fake.journal().dropFirst(before)
        // One list merge (eve), one delete (bob); the changed members get PET merges only.
        #expect(
            secondCalls.filter { $0["function"] as? String == "mergeListMembers" }.map { $0["records"] as? Int } == [1])
        #expect(
            secondCalls.filter { $0["function"] as? String == "deleteListMembers" }.map { $0["records"] as? Int } == [1]
        )

        // Third run with the same source: nothing to send.
        let quiet = try fake.journal().count
        let third = try tool(["run", "users"])
        #expect(third.status == 0, "exit \(third.status): \(third.stderr)")
        #expect(
            try fake.journal().dropFirst(quiet).filter {
                $0["function"] as? String != "login" && $0["function"] as? String != "rateLimit"
            }.isEmpty)
    }

    @Test func firstRunWithoutExistingUsersOnlyRecordsTheBaseline() throws {
        try writeConfig("existing_users = false")
        try audience(["ann@example.org,Ann,Paris,1,0", "bob@example.org,Bob,Lyon,1,1"])
        let first = try tool(["run", "users"])
        #expect(first.status == 0, "exit \(first.status): \(first.stderr)")
        #expect(try emails().isEmpty)
        #expect(try calls("mergeListMembers") == 0)

        // Bob leaves (never delivered by us: not removed), cara enters (sent), ann stays as she was.
        try audience(["ann@example.org,Ann,Paris,1,0", "cara@example.org,Cara,Nice,0,1"])
        let second = try tool(["run", "users"])
        #expect(second.status == 0, "exit \(second.status): \(second.stderr)")
        #expect(try emails() == ["cara@example.org"])
        #expect(try calls("deleteListMembers") == 0)
        #expect(try fake.petRows(Self.list, "Lytics_User_Fields")["cara@example.org"]?["CITY"] == "Nice")
    }

    @Test func exitsFlaggedInTheSegmentsTable() throws {
        try writeConfig("on_exit = \"flag\"")
        try audience(["ann@example.org,Ann,Paris,1,1", "bob@example.org,Bob,Lyon,1,1", "cara@example.org,C,N,1,0"])
        #expect(try tool(["run", "users"]).status == 0)
        try audience(["ann@example.org,Ann,Paris,1,1", "cara@example.org,C,N,1,0"])
        let second = try tool(["run", "users"])
        #expect(second.status == 0, "exit \(second.status): \(second.stderr)")
        #expect(try emails() == ["ann@example.org", "bob@example.org", "cara@example.org"])
        let segments = try fake.petRows(Self.list, "Lytics_Segments")
        #expect(segments["bob@example.org"]?["NEWSLETTER"] == "0")
        #expect(segments["bob@example.org"]?["VIP"] == "0")
        #expect(segments["ann@example.org"]?["VIP"] == "1")
        #expect(try calls("deleteListMembers") == 0)
    }

    @Test func refusedRecordsAreReportedAndSentAgainNextRun() throws {
        try writeConfig()
        try audience(["ann@example.org,Ann,Paris,1,0", "bob@example.org,Bob,Lyon,1,1"])
        #expect(try tool(["run", "users"]).status == 0)

        // With insert_on_no_match = false, Responsys refuses the new member (MERGEFAILED … NO_RECIPIENT_FOUND);
        // the change of ann goes through.
        try writeConfig("insert_on_no_match = false")
        try audience(["ann@example.org,Ann,Rome,1,0", "bob@example.org,Bob,Lyon,1,1", "cara@example.org,Cara,Nice,0,1"])
        let second = try tool(["run", "users"])
        #expect(second.status == 3, "exit \(second.status): \(second.stderr)")
        #expect(try emails() == ["ann@example.org", "bob@example.org"])
        #expect(try fake.petRows(Self.list, "Lytics_User_Fields")["ann@example.org"]?["CITY"] == "Rome")
        let rejects = try ndjson(try runFolders()[1] + "/load/rejects.ndjson")
        #expect(Set(rejects.compactMap { $0["email"] as? String }) == ["cara@example.org"])
        #expect(rejects.contains { $0["code"] as? String == "NO_RECIPIENT_FOUND" })
        #expect(rejects.allSatisfy { ($0["reason"] as? String)?.isEmpty == false })

        // Next run (members may be inserted again): cara is sent again, ann is not.
        try writeConfig()
        let before = try fake.journal().count
        let third = try tool(["run", "users"])
        #expect(third.status == 0, "exit \(third.status): \(third.stderr)")
        #expect(try emails() == ["ann@example.org", "bob@example.org", "cara@example.org"])
        #expect(try fake.petRows(Self.list, "Lytics_User_Fields")["cara@example.org"]?["CITY"] == "Nice")
        let calls = try fake.journal().dropFirst(before).filter {
            $0["function"] as? String != "login" && $0["function"] as? String != "rateLimit"
        }
        #expect(calls.allSatisfy { $0["records"] as? Int == 1 }, "\(calls)")
    }

    @Test(arguments: ["after-request:2", "after-receipt:4", "before-request:5"])
    func crashInTheMiddleOfLoadThenResume(crashAt: String) throws {
        try writeConfig()
        let rows = (0..<450).map { String(format: "user%03d@example.org,Name%d,City%d,1,%d", $0, $0, $0, $0 % 2) }
        try audience(rows)
        let crashed = try tool(["run", "users"], crashAt: crashAt)
        #expect(crashed.status == 9, "exit \(crashed.status): \(crashed.stderr)")
        #expect(try emails().count < 450)

        let resumed = try tool(["run", "users"])
        #expect(resumed.status == 0, "exit \(resumed.status): \(resumed.stderr)")
        #expect(try emails().count == 450)
        let fields = try fake.petRows(Self.list, "Lytics_User_Fields")
        #expect(fields.count == 450)
        #expect(fields["user123@example.org"]?["CITY"] == "City123")
        let segments = try fake.petRows(Self.list, "Lytics_Segments")
        #expect(segments["user123@example.org"]?["VIP"] == "1")
        #expect(try fake.members(Self.list).count == 450)
        // 3 chunks × (list, user fields, segments); only a request cut off before its receipt goes twice.
        let requests =
            try calls("mergeListMembers") + calls("mergeProfileExtensionMembers")
        #expect(requests == (crashAt.hasPrefix("after-request") ? 10 : 9))
        // The state holds every member: a next run sends nothing.
        let before = try fake.journal().count
        #expect(try tool(["run", "users"]).status == 0)
        #expect(
            try fake.journal().dropFirst(before).allSatisfy {
                $0["function"] as? String == "login" || $0["function"] as? String == "rateLimit"
            })
    }

    @Test func exitRatioGuardStopsTheTransformUntilForced() throws {
        try writeConfig()
        try audience([
            "ann@example.org,Ann,Paris,1,0", "bob@example.org,Bob,Lyon,1,1", "cara@example.org,C,N,1,0",
            "dan@example.org,D,B,0,0",
        ])
        #expect(try tool(["run", "users"]).status == 0)
        try audience(["ann@example.org,Ann,Paris,1,0"])
        let stopped = try tool(["run", "users"])
        #expect(stopped.status == 1, "exit \(stopped.status): \(stopped.stderr)")
        let run = (try runFolders()[1] as NSString).lastPathComponent
        #expect(
            stopped.stderr.contains(
                "responsys-etl stage users extract --run \(run) && "
                    + "responsys-etl stage users transform --run \(run) --force && responsys-etl run users"),
            "\(stopped.stderr)")
        #expect(try emails().count == 4)
        #expect(try calls("deleteListMembers") == 0)

        // The snapshot that tripped the guard is gone: forcing the transform alone cannot act on it.
        let stale = try tool(["stage", "users", "transform", "--run", run, "--force"])
        #expect(stale.status == 2, "exit \(stale.status): \(stale.stderr)")
        #expect(try calls("deleteListMembers") == 0)

        let extracted = try tool(["stage", "users", "extract", "--run", run])
        #expect(extracted.status == 0, "exit \(extracted.status): \(extracted.stderr)")
        let forced = try tool(["stage", "users", "transform", "--run", run, "--force"])
        #expect(forced.status == 0, "exit \(forced.status): \(forced.stderr)")
        let loaded = try tool(["run", "users"])
        #expect(loaded.status == 0, "exit \(loaded.status): \(loaded.stderr)")
        #expect(try emails() == ["ann@example.org"])
        #expect(try runFolders().count == 2)
    }

    @Test func aSourceFixedAfterTheExitGuardTrippedIsExtractedAgain() throws {
        try writeConfig()
        let rows = (1...24).map { "member\($0)@example.org,M\($0),Paris,1,0" }
        try audience(rows)
        #expect(try tool(["run", "users"]).status == 0)
        #expect(try emails().count == 24)

        // The source breaks: a header and no rows.
        try folder.write("audience.csv", Self.header)
        let stopped = try tool(["run", "users"])
        #expect(stopped.status == 1, "exit \(stopped.status): \(stopped.stderr)")
        #expect(stopped.stderr.contains("24 of 24"), "\(stopped.stderr)")
        #expect(stopped.stderr.contains("fix it, then `responsys-etl run users`"), "\(stopped.stderr)")
        let stuck = try tool(["run", "users"])
        #expect(stuck.status == 1, "exit \(stuck.status): \(stuck.stderr)")

        // Fixed (and one member's city changed, so the source is read, not taken as unchanged): the same run
        // resumes with a fresh extract, sends the change and removes nobody.
        try audience(rows.dropLast() + ["member24@example.org,M24,Lyon,1,0"])
        let fixed = try tool(["run", "users"])
        #expect(fixed.status == 0, "exit \(fixed.status): \(fixed.stderr)")
        #expect(try runFolders().count == 2)
        #expect(try calls("deleteListMembers") == 0)
        #expect(try emails().count == 24)
        #expect(try fake.petRows(Self.list, "Lytics_User_Fields")["member24@example.org"]?["CITY"] == "Lyon")
        let transform = try runFolders()[1] + "/transform/_DONE"
        let counts = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: transform)))
        #expect(((counts as? [String: Any])?["counts"] as? [String: Int])?["exited"] == 0)
    }

    @Test func anotherListOrAccountIsRefusedUntilTheWorkflowStartsOver() throws {
        try writeConfig()
        try audience(["ann@example.org,Ann,Paris,1,0", "bob@example.org,Bob,Lyon,1,1"])
        #expect(try tool(["run", "users"]).status == 0)

        // Another list of the same account: the state was not delivered there.
        try writeConfig(list: "LIST2")
        let otherList = try tool(["run", "users"])
        #expect(otherList.status == 2, "exit \(otherList.status): \(otherList.stderr)")
        #expect(otherList.stderr.contains("LIST2") && otherList.stderr.contains("new name"), "\(otherList.stderr)")
        // `check` refuses it the same way.
        let checkOtherList = try tool(["check", "users"])
        #expect(checkOtherList.status == 2, "exit \(checkOtherList.status): \(checkOtherList.stderr)")
        #expect(
            checkOtherList.stderr.contains("LIST2") && checkOtherList.stderr.contains("new name"),
            "\(checkOtherList.stderr)")

        // Another account (another fake-responsys): refused too, and nothing reaches it.
        let other = try FakeResponsysProcess(
            arguments: [
                "--list", Self.list, "--pet", "\(Self.list)/Lytics_User_Fields:FIRST_NAME,CITY",
                "--pet", "\(Self.list)/Lytics_Segments:NEWSLETTER,VIP",
            ])
        try writeConfig(baseURL: other.baseURL)
        let otherAccount = try tool(["run", "users"])
        #expect(otherAccount.status == 2, "exit \(otherAccount.status): \(otherAccount.stderr)")
        #expect(otherAccount.stderr.contains(other.baseURL), "\(otherAccount.stderr)")
        let checkOtherAccount = try tool(["check", "users"])
        #expect(checkOtherAccount.status == 2, "exit \(checkOtherAccount.status): \(checkOtherAccount.stderr)")
        #expect(checkOtherAccount.stderr.contains(other.baseURL), "\(checkOtherAccount.stderr)")
        #expect(try other.members(Self.list).isEmpty)

        // A new workflow name has its own state: a full first delivery to the new account.
        try writeConfig(workflow: "users_other", baseURL: other.baseURL)
        let fresh = try tool(["run", "users_other"])
        #expect(fresh.status == 0, "exit \(fresh.status): \(fresh.stderr)")
        #expect(
            Set(try other.members(Self.list).compactMap { $0["EMAIL_ADDRESS_"] }) == [
                "ann@example.org", "bob@example.org",
            ])

        // Back to the original destination: the unfinished run resumes and finds nothing to send.
        try writeConfig()
        let before = try fake.journal().count
        let back = try tool(["run", "users"])
        #expect(back.status == 0, "exit \(back.status): \(back.stderr)")
        #expect(
            try fake.journal().dropFirst(before).allSatisfy {
                $0["function"] as? String == "login" || $0["function"] as? String == "rateLimit"
            })
    }

    /// `--resend-unknown` is about campaign triggers: on export-users it is refused before the run is looked at.
    @Test func resendUnknownIsRefusedOnExportUsers() throws {
        try writeConfig()
        let refused = try tool(["stage", "users", "load", "--resend-unknown"])
        #expect(refused.status == 2, "exit \(refused.status): \(refused.stderr)")
        #expect(refused.stderr.contains("export-campaign workflows only"), "\(refused.stderr)")
        #expect(!Files.exists(folder.file("staging/users/runs")))
    }

    @Test func checkConfirmsTheListAndTablesAndRefusesConfigLimits() throws {
        try writeConfig()
        let ok = try tool(["check", "users"])
        #expect(ok.status == 0, "exit \(ok.status): \(ok.stderr)")
        #expect(ok.stdout.contains("list MASTER_LIST: exists"))
        #expect(ok.stdout.contains("Lytics_Segments"))

        try writeConfig("segments_pet = \"Missing_PET\"")
        let missing = try tool(["check", "users"])
        #expect(missing.status == 2, "exit \(missing.status): \(missing.stderr)")
        #expect(missing.stderr.contains("Missing_PET"))

        let thirty = "[" + (1...30).map { "\"field_\($0)\"" }.joined(separator: ", ") + "]"
        try writeConfig(fields: thirty)
        let tooMany = try tool(["check", "users"])
        #expect(tooMany.status == 2, "exit \(tooMany.status): \(tooMany.stderr)")
        #expect(tooMany.stderr.contains("29"))

        let long = String(repeating: "a", count: 31)
        try writeConfig(fields: "[\"\(long)\"]")
        let tooLong = try tool(["check", "users"])
        #expect(tooLong.status == 2, "exit \(tooLong.status): \(tooLong.stderr)")
        #expect(tooLong.stderr.contains(long))
        // Refused before anything was sent.
        #expect(try calls("mergeListMembers") == 0)
    }

    @Test func dryRunLeavesThePayloadsAndSendsNothing() throws {
        try writeConfig()
        try audience(["ann@example.org,Ann,Paris,1,0", "bob@example.org,Bob,Lyon,1,1"])
        let dry = try tool(["run", "users", "--dry-run"])
        #expect(dry.status == 0, "exit \(dry.status): \(dry.stderr)")
        #expect(try calls("mergeListMembers") == 0)
        #expect(try calls("mergeProfileExtensionMembers") == 0)
        let run = try runFolders()[0]
        let plan = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: run + "/transform/payload/plan.json")))
                as? [String: Any])
        let requests = try #require(plan["requests"] as? [[String: Any]])
        #expect(requests.map { $0["kind"] as? String } == ["list-merge", "pet-merge", "pet-merge"])
        for request in requests {
            let body = try Data(
                contentsOf: URL(fileURLWithPath: run + "/transform/payload/" + (request["file"] as? String ?? "")))
            #expect(String(decoding: body, as: UTF8.self).contains("bob@example.org"))
        }
        #expect(!Files.exists(run + "/load"))
        // The dry run delivered nothing, so the real run sends everyone.
        let real = try tool(["run", "users"])
        #expect(real.status == 0, "exit \(real.status): \(real.stderr)")
        #expect(try emails() == ["ann@example.org", "bob@example.org"])
    }

    @Test func sqliteSourceIsQueriedWithTheRunsNow() throws {
        let database = try SQLiteDatabase(path: folder.file("users.sqlite"))
        try database.execute(
            "CREATE TABLE users (email TEXT, first_name TEXT, city TEXT, newsletter INTEGER, vip INTEGER, joined TEXT);"
                + "INSERT INTO users VALUES ('ann@example.org','Ann','Paris',1,0,'2020-01-01T00:00:00Z'),"
                + "('bob@example.org','Bob','Lyon',0,1,'2020-06-01T00:00:00Z'),"
                + "('future@example.org','Fut','Nice',1,1,'2999-01-01T00:00:00Z');")
        try folder.write(
            "audience.sql",
            "SELECT email, first_name, city, newsletter, vip FROM users WHERE joined <= :now ORDER BY email")
        try writeConfig()
        let config = try String(contentsOfFile: folder.file("responsys-etl.toml"), encoding: .utf8)
            .replacingOccurrences(
                of: "source = { type = \"file\", path = \"audience.csv\" }",
                with: "source = { type = \"sqlite\", path = \"users.sqlite\", query_file = \"audience.sql\" }")
        try folder.write("responsys-etl.toml", config)
        let result = try tool(["run", "users"])
        #expect(result.status == 0, "exit \(result.status): \(result.stderr)")
        #expect(try emails() == ["ann@example.org", "bob@example.org"])
        #expect(try fake.petRows(Self.list, "Lytics_Segments")["bob@example.org"]?["VIP"] == "1")
    }

    @Test func fourChunksInFlightDeliverEveryone() throws {
        try writeConfig(concurrency: 4)
        try audience((0..<1000).map { String(format: "user%04d@example.org,Name%d,City%d,1,0", $0, $0, $0) })
        let result = try tool(["run", "users"])
        #expect(result.status == 0, "exit \(result.status): \(result.stderr)")
        #expect(try emails().count == 1000)
        #expect(try fake.petRows(Self.list, "Lytics_User_Fields")["user0999@example.org"]?["CITY"] == "City999")
        #expect(try calls("mergeListMembers") == 5)
        // No PET merge was refused for want of its list member: each chunk's list merge went first.
        #expect(try ndjson(try runFolders()[0] + "/load/rejects.ndjson").isEmpty)
    }

    @Test func crashAfterTheStateIsWrittenThenResume() throws {
        try writeConfig()
        try audience(["ann@example.org,Ann,Paris,1,0", "bob@example.org,Bob,Lyon,1,1"])
        #expect(try tool(["run", "users"]).status == 0)

        // Cara is refused; ann leaves; then the process dies right after writing the new state.
        try writeConfig("insert_on_no_match = false")
        try audience(["bob@example.org,Bob,Nice,1,1", "cara@example.org,Cara,Nice,0,1"])
        let crashed = try tool(["run", "users"], crashAt: "after-state:1")
        #expect(crashed.status == 9, "exit \(crashed.status): \(crashed.stderr)")
        let written = try String(contentsOfFile: folder.file("staging/users/state/delivered.ndjson"), encoding: .utf8)
        let resumed = try tool(["run", "users"])
        #expect(resumed.status == 3, "exit \(resumed.status): \(resumed.stderr)")
        // Applying the same delivery again left the state as it was.
        #expect(
            try String(contentsOfFile: folder.file("staging/users/state/delivered.ndjson"), encoding: .utf8) == written)
        #expect(!written.contains("cara@example.org") && !written.contains("ann@example.org"))
        #expect(written.contains("Nice"))

        try writeConfig()
        let next = try tool(["run", "users"])
        #expect(next.status == 0, "exit \(next.status): \(next.stderr)")
        #expect(try emails() == ["bob@example.org", "cara@example.org"])
    }

    private func extractMarker(_ run: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: run + "/extract/_DONE"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func anUnchangedSourceFileIsNotReadAgainUnlessTimeBased() throws {
        try writeConfig()
        try audience(["ann@example.org,Ann,Paris,1,0", "bob@example.org,Bob,Lyon,1,1"])
        #expect(try tool(["run", "users"]).status == 0)
        let second = try tool(["run", "users"])
        #expect(second.status == 0, "exit \(second.status): \(second.stderr)")
        var marker = try extractMarker(try runFolders()[1])
        #expect((marker["notes"] as? [String: String])?["source_unchanged"] != nil)
        #expect((marker["counts"] as? [String: Int])?["members"] == 2)

        // time_based: read again although the file did not change.
        try writeConfig("time_based = true")
        #expect(try tool(["run", "users"]).status == 0)
        marker = try extractMarker(try runFolders()[2])
        #expect((marker["notes"] as? [String: String])?["source_unchanged"] == nil)
        #expect((marker["counts"] as? [String: Int])?["rows"] == 2)

        // Another file is read, and its change delivered.
        try writeConfig()
        try audience(["ann@example.org,Ann,Rome,1,0", "bob@example.org,Bob,Lyon,1,1"])
        #expect(try tool(["run", "users"]).status == 0)
        #expect(try fake.petRows(Self.list, "Lytics_User_Fields")["ann@example.org"]?["CITY"] == "Rome")
        #expect(try calls("mergeListMembers") == 1)
    }

    @Test func aMemberWhoseRowIsRejectedForBadDataIsHeldNotExited() throws {
        // No exit-ratio guard, so a wrongly exited bob would really be deleted.
        try writeConfig("max_exit_ratio = 1.0")
        try audience([
            "ann@example.org,Ann,Paris,1,0", "bob@example.org,Bob,Lyon,1,1", "cara@example.org,Cara,Nice,0,1",
        ])
        #expect(try tool(["run", "users"]).status == 0)

        // Bob's row has a bad flag (valid email): rejected, but bob is held, not exited. Cara really leaves.
        // Ann has a bad row and a good row: the good row is her data (she is in the snapshot, not held).
        try audience([
            "ann@example.org,Ann,Rome,1,0", "bob@example.org,Bob,Lyon,maybe,1", "ANN@example.org,Ann,Oslo,perhaps,0",
        ])
        let before = try fake.journal().count
        let second = try tool(["run", "users"])
        #expect(second.status == 3, "exit \(second.status): \(second.stderr)")
        let run2 = try runFolders()[1]
        let rejects = try ndjson(run2 + "/extract/rejects.ndjson")
        #expect(Set(rejects.compactMap { $0["email"] as? String }) == ["bob@example.org", "ann@example.org"])
        #expect(try emails() == ["ann@example.org", "bob@example.org"])
        #expect(try fake.petRows(Self.list, "Lytics_User_Fields")["ann@example.org"]?["CITY"] == "Rome")
        #expect(try fake.petRows(Self.list, "Lytics_Segments")["bob@example.org"]?["NEWSLETTER"] == "1")
        let deletes = try fake.journal().dropFirst(before).filter { $0["function"] as? String == "deleteListMembers" }
        #expect(deletes.map { $0["records"] as? Int } == [1], "only cara is deleted: \(deletes)")
        let transform =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: run2 + "/transform/_DONE"))) as? [String: Any]
        let counts = transform?["counts"] as? [String: Int]
        #expect(counts?["held_rejected"] == 1)
        #expect(counts?["exited"] == 1)
        let state = try ndjson(folder.file("staging/users/state/delivered.ndjson"))
        let bob = state.first { $0["email"] as? String == "bob@example.org" }
        #expect((bob?["fields"] as? [String: String])?["city"] == "Lyon", "\(state)")
        #expect(!state.contains { $0["email"] as? String == "cara@example.org" })

        // Bob's row fixed (and his city changed): delivered as a change, nothing left out, exit 0.
        try audience(["ann@example.org,Ann,Rome,1,0", "bob@example.org,Bob,Metz,1,1"])
        let third = try tool(["run", "users"])
        #expect(third.status == 0, "exit \(third.status): \(third.stderr)")
        #expect(try emails() == ["ann@example.org", "bob@example.org"])
        #expect(try fake.petRows(Self.list, "Lytics_User_Fields")["bob@example.org"]?["CITY"] == "Metz")
        #expect(try calls("deleteListMembers") == 1)
    }

    @Test func aForcedLoadOfAnOlderRunSendsNothing() throws {
        try writeConfig()
        try audience(["ann@example.org,Ann,Paris,1,0"])
        #expect(try tool(["run", "users"]).status == 0)
        try audience(["ann@example.org,Ann,Rome,1,0"])
        #expect(try tool(["run", "users"]).status == 0)
        let before = try fake.journal().count
        let old = (try runFolders()[0] as NSString).lastPathComponent
        let forced = try tool(["stage", "users", "load", "--run", old, "--force"])
        #expect(forced.status == 2, "exit \(forced.status): \(forced.stderr)")
        #expect(forced.stderr.contains("responsys-etl run users"))
        #expect(try fake.journal().count == before)
        #expect(try fake.petRows(Self.list, "Lytics_User_Fields")["ann@example.org"]?["CITY"] == "Rome")
        // Refused before its load was cleared: the old run stays finished, nothing resumes it.
        let status = try tool(["status", "users"])
        #expect(!status.stdout.contains("unfinished"), "\(status.stdout)")
    }
}
