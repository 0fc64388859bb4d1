import Audience
import Core
import Foundation
import TestSupport
import Testing

@Suite struct DiffAndPayloadTests {
    let ann = AudienceMember(email: "ann@example.org", fields: ["first_name": "Ann"], audiences: ["newsletter"])
    let bob = AudienceMember(email: "bob@example.org", fields: ["first_name": "Bob", "city": "Oslo"], audiences: [])
    let cat = AudienceMember(email: "cat@example.org", fields: [:], audiences: ["newsletter", "high_value"])

    func usersOptions(onExit: ExitAction = .delete) -> ExportUsersPayloadOptions {
        var options = ExportUsersPayloadOptions(
            list: "MASTER_LIST", additionalFields: ["first_name", "city"],
            audienceMemberships: ["newsletter", "high_value"])
        options.onExit = onExit
        return options
    }

    @Test func firstRunWithExistingUsersSendsEveryone() throws {
        let folder = try TemporaryFolder("audience")
        let current = try snapshot(folder, "current.ndjson", [cat, ann, bob])
        let diff = try SnapshotDiff.run(
            current: current, previous: folder.file("state/absent.ndjson"), firstRun: .sendEveryone,
            outputFolder: folder.file("transform"))
        #expect(diff.isFirstRun)
        #expect(diff.counts.entered == 3)
        #expect(diff.counts.baseline == 0)
        let summary = try PayloadWriter.writeExportUsers(
            diff: diff, options: usersOptions(), to: folder.file("transform/payload"))
        #expect(summary.entered == 3)
        let plan = try planRequests(folder.file("transform/payload"))
        #expect(
            plan.map { $0["file"] as? String } == [
                "000001-01-list.json", "000001-02-pet-user-fields.json", "000001-03-pet-user-fields.json",
                "000001-04-pet-segments.json",
            ])
        // The summary names the same bodies as the plan, in the same order (the stage's marker lists them).
        #expect(summary.files == plan.compactMap { $0["file"] as? String })
        let list = try json(folder.file("transform/payload/000001-01-list.json"))
        #expect(fieldNames(list) == ["EMAIL_ADDRESS_"])
        #expect(records(list) == [["ann@example.org"], ["bob@example.org"], ["cat@example.org"]])
        let rule = try #require(list["mergeRule"] as? [String: Any])
        #expect(rule["insertOnNoMatch"] as? Bool == true)
        #expect(rule["updateOnMatch"] as? String == "REPLACE_ALL")
        #expect(rule["matchColumnName1"] as? String == "EMAIL_ADDRESS_")
        #expect(rule["defaultPermissionStatus"] as? String == "OPTOUT")
        #expect(rule["optinValue"] as? String == "I")

        // Ann has only a first name, Bob both fields; Cat has none and gets no user-fields row.
        let fieldsA = try json(folder.file("transform/payload/000001-02-pet-user-fields.json"))
        #expect(fieldNames(fieldsA) == ["EMAIL_ADDRESS_", "FIRST_NAME"])
        #expect(records(fieldsA) == [["ann@example.org", "Ann"]])
        #expect(fieldsA["matchColumnName1"] as? String == "EMAIL_ADDRESS")
        #expect(fieldsA["mergeRule"] == nil)
        let fieldsB = try json(folder.file("transform/payload/000001-03-pet-user-fields.json"))
        #expect(fieldNames(fieldsB) == ["EMAIL_ADDRESS_", "FIRST_NAME", "CITY"])
        #expect(records(fieldsB) == [["bob@example.org", "Bob", "Oslo"]])
        let segments = try json(folder.file("transform/payload/000001-04-pet-segments.json"))
        #expect(fieldNames(segments) == ["EMAIL_ADDRESS_", "NEWSLETTER", "HIGH_VALUE"])
        #expect(
            records(segments) == [
                ["ann@example.org", "1", "0"], ["bob@example.org", "0", "0"], ["cat@example.org", "1", "1"],
            ])
        #expect(plan[3]["path"] as? String == "/rest/api/v1.3/lists/MASTER_LIST/listExtensions/Lytics_Segments/members")
        #expect(plan[3]["emails"] as? [String] == ["ann@example.org", "bob@example.org", "cat@example.org"])
    }

    @Test func firstRunWithoutExistingUsersRecordsABaselineThatIsNeverRemoved() throws {
        let folder = try TemporaryFolder("audience")
        let first = try snapshot(folder, "first.ndjson", [ann, bob])
        let diff = try SnapshotDiff.run(
            current: first, previous: nil, firstRun: .recordBaseline, outputFolder: folder.file("run1"))
        #expect(diff.counts.entered == 0)
        #expect(diff.counts.baseline == 2)
        let summary = try PayloadWriter.writeExportUsers(diff: diff, options: usersOptions(), to: folder.file("run1/p"))
        #expect(summary.requests.isEmpty)
        _ = try DeliveredState.recordBaseline(current: first, to: folder.file("state.ndjson"))

        // Next run: Ann leaves (never delivered by us: no removal), Bob is unchanged, Cat enters.
        let second = try snapshot(folder, "second.ndjson", [bob, cat])
        let next = try SnapshotDiff.run(
            current: second, previous: folder.file("state.ndjson"), firstRun: .recordBaseline,
            outputFolder: folder.file("run2"))
        #expect(next.counts.entered == 1)
        #expect(next.counts.unchanged == 1)
        #expect(next.counts.exited == 0)
        #expect(next.counts.exitedUndelivered == 1)
        _ = try PayloadWriter.writeExportUsers(diff: next, options: usersOptions(), to: folder.file("run2/p"))
        let plan = try planRequests(folder.file("run2/p"))
        #expect(!plan.contains { $0["kind"] as? String == "list-delete" })
        #expect(plan.allSatisfy { $0["emails"] as? [String] == ["cat@example.org"] })
    }

    /// Previous delivered: Ann, Bob, Cat. Now: Ann with a new name, Bob gone, Cat with other audiences,
    /// Dan new.
    func secondRun(_ folder: TemporaryFolder, onExit: ExitAction) throws -> (DiffResult, [[String: Any]]) {
        let previous = try snapshot(folder, "previous.ndjson", [ann, bob, cat])
        var renamed = ann
        renamed.fields["first_name"] = "Anne"
        var moved = cat
        moved.audiences = ["high_value"]
        let dan = AudienceMember(email: "dan@example.org", fields: ["city": "Rome"], audiences: ["newsletter"])
        let current = try snapshot(folder, "current.ndjson", [dan, moved, renamed])
        let diff = try SnapshotDiff.run(
            current: current, previous: previous, firstRun: .sendEveryone, outputFolder: folder.file("t"))
        var options = usersOptions(onExit: onExit)
        options.maxExitRatio = 0.5
        _ = try PayloadWriter.writeExportUsers(diff: diff, options: options, to: folder.file("t/payload"))
        return (diff, try planRequests(folder.file("t/payload")))
    }

    @Test func entriesExitsAndChangesWithDelete() throws {
        let folder = try TemporaryFolder("audience")
        let (diff, plan) = try secondRun(folder, onExit: .delete)
        #expect(diff.counts.entered == 1)
        #expect(diff.counts.changed == 2)
        #expect(diff.counts.exited == 1)
        #expect(diff.counts.unchanged == 0)
        #expect(
            plan.map { $0["kind"] as? String } == [
                "list-merge", "pet-merge", "pet-merge", "pet-merge", "pet-merge", "list-delete",
            ])
        // Changed: Ann's fields only, Cat's audiences only; no list merge for changed members.
        let changedFields = try json(folder.file("t/payload/" + (plan[3]["file"] as? String ?? "")))
        #expect(records(changedFields) == [["ann@example.org", "Anne"]])
        let changedSegments = try json(folder.file("t/payload/" + (plan[4]["file"] as? String ?? "")))
        #expect(records(changedSegments) == [["cat@example.org", "0", "1"]])
        let delete = try json(folder.file("t/payload/" + (plan[5]["file"] as? String ?? "")))
        #expect(delete["queryAttribute"] as? String == "e")
        #expect(delete["ids"] as? [String] == ["bob@example.org"])
        #expect(plan[5]["path"] as? String == "/rest/api/v1.3/lists/MASTER_LIST/members?action=delete")
        // Sorted file names are the send order.
        let files = plan.compactMap { $0["file"] as? String }
        #expect(files == files.sorted())
    }

    @Test func exitsWithFlagWriteZeros() throws {
        let folder = try TemporaryFolder("audience")
        let (_, plan) = try secondRun(folder, onExit: .flag)
        #expect(!plan.contains { $0["kind"] as? String == "list-delete" })
        let last = try #require(plan.last)
        #expect(last["pet"] as? String == "Lytics_Segments")
        let body = try json(folder.file("t/payload/" + (last["file"] as? String ?? "")))
        #expect(records(body) == [["bob@example.org", "0", "0"]])
    }

    @Test func emptyValueOverwritesOnlyWhenAsked() throws {
        let folder = try TemporaryFolder("audience")
        let previous = try snapshot(folder, "previous.ndjson", [bob])
        var emptied = bob
        emptied.fields["city"] = nil
        let current = try snapshot(folder, "current.ndjson", [emptied])
        let diff = try SnapshotDiff.run(
            current: current, previous: previous, firstRun: .sendEveryone, outputFolder: folder.file("t"))
        #expect(diff.counts.changed == 1)
        _ = try PayloadWriter.writeExportUsers(diff: diff, options: usersOptions(), to: folder.file("keep"))
        let kept = try planRequests(folder.file("keep"))
        #expect(
            records(try json(folder.file("keep/" + (kept[0]["file"] as? String ?? "")))) == [
                ["bob@example.org", "Bob"]
            ])
        var overwrite = usersOptions()
        overwrite.overwriteWithEmpty = true
        _ = try PayloadWriter.writeExportUsers(diff: diff, options: overwrite, to: folder.file("wipe"))
        let wiped = try planRequests(folder.file("wipe"))
        let body = try json(folder.file("wipe/" + (wiped[0]["file"] as? String ?? "")))
        #expect(fieldNames(body) == ["EMAIL_ADDRESS_", "FIRST_NAME", "CITY"])
        #expect(records(body) == [["bob@example.org", "Bob", ""]])
    }

    @Test func exitRatioGuardStopsUnlessForced() throws {
        let folder = try TemporaryFolder("audience")
        let previous = try snapshot(folder, "previous.ndjson", [ann, bob, cat])
        let current = try snapshot(folder, "current.ndjson", [ann])
        let diff = try SnapshotDiff.run(
            current: current, previous: previous, firstRun: .sendEveryone, outputFolder: folder.file("t"))
        #expect(diff.counts.exited == 2)
        #expect {
            try PayloadWriter.writeExportUsers(diff: diff, options: usersOptions(), to: folder.file("refused"))
        } throws: { ($0 as? AudienceError)?.code == .exitRatioExceeded }
        #expect(!Files.exists(folder.file("refused/plan.json")))
        var forced = usersOptions()
        forced.force = true
        let summary = try PayloadWriter.writeExportUsers(diff: diff, options: forced, to: folder.file("forced"))
        #expect(summary.exited == 2)
        var lenient = usersOptions()
        lenient.maxExitRatio = 0.7
        _ = try PayloadWriter.writeExportUsers(diff: diff, options: lenient, to: folder.file("lenient"))
    }

    @Test func configurationLimitsAreRefused() throws {
        let folder = try TemporaryFolder("audience")
        let current = try snapshot(folder, "current.ndjson", [ann])
        let diff = try SnapshotDiff.run(
            current: current, previous: nil, firstRun: .sendEveryone, outputFolder: folder.file("t"))
        var long = usersOptions()
        long.additionalFields = [String(repeating: "x", count: 31)]
        #expect { try PayloadWriter.writeExportUsers(diff: diff, options: long, to: folder.file("p")) } throws: {
            ($0 as? AudienceError)?.code == .badConfiguration
        }
        var many = usersOptions()
        many.audienceMemberships = (1...30).map { "a\($0)" }
        #expect { try PayloadWriter.writeExportUsers(diff: diff, options: many, to: folder.file("p")) } throws: {
            ($0 as? AudienceError)?.code == .badConfiguration
        }
    }

    @Test func unsortedSnapshotIsRefused() throws {
        let folder = try TemporaryFolder("audience")
        let current = try folder.write(
            "current.ndjson", ann.snapshotLine + "\n" + AudienceMember(email: "aaa@example.org").snapshotLine + "\n")
        #expect {
            try SnapshotDiff.run(
                current: current, previous: nil, firstRun: .sendEveryone, outputFolder: folder.file("t"))
        } throws: { ($0 as? AudienceError)?.code == .badSnapshot }
    }

    @Test func deliveredStateKeepsPreviousDataOfFailedMembers() throws {
        let folder = try TemporaryFolder("audience")
        let (_, _) = try secondRun(folder, onExit: .delete)
        // Failures: Dan (entered), Ann (changed) and Bob (his removal).
        let counts = try DeliveredState.applyDelivery(
            previous: folder.file("previous.ndjson"), current: folder.file("current.ndjson"),
            failedEmails: ["dan@example.org", "ann@example.org", "bob@example.org"], to: folder.file("state.ndjson"))
        var moved = cat
        moved.audiences = ["high_value"]
        #expect(try lines(folder.file("state.ndjson")) == [ann.snapshotLine, bob.snapshotLine, moved.snapshotLine])
        #expect(counts.members == 3)
        #expect(counts.keptAfterFailure == 2)
        #expect(counts.droppedAfterFailure == 1)

        // The next run finds the same changes again.
        let retry = try SnapshotDiff.run(
            current: folder.file("current.ndjson"), previous: folder.file("state.ndjson"), firstRun: .sendEveryone,
            outputFolder: folder.file("retry"))
        #expect(retry.counts.entered == 1)
        #expect(retry.counts.changed == 1)
        #expect(retry.counts.exited == 1)
        #expect(retry.counts.unchanged == 1)

        // Without failures the state is the current snapshot.
        _ = try DeliveredState.applyDelivery(
            previous: folder.file("previous.ndjson"), current: folder.file("current.ndjson"), failedEmails: [],
            to: folder.file("clean.ndjson"))
        #expect(try lines(folder.file("clean.ndjson")) == lines(folder.file("current.ndjson")))
    }
}
