import Audience
import Core
import Foundation
import TestSupport
import Testing

/// A row rejected for bad data beside a valid email holds its member: not exited, previous state kept.
@Suite struct HeldMembersTests {
    let options = AudienceSnapshotOptions(additionalFields: ["city"], audienceMemberships: ["newsletter"])

    @Test func rejectsNameTheEmailOnlyWhenItWasValid() throws {
        let folder = try TemporaryFolder("audience")
        let csv = try folder.write(
            "users.csv", "email,city,newsletter\nBob@Example.org ,Lyon,maybe\nbad@,Paris,1\nann@example.org,Rome,1\n")
        let ndjson = try folder.write(
            "users.ndjson",
            "{\"email\":\"Bob@Example.org\",\"city\":\"Lyon\",\"newsletter\":\"maybe\"}\n"
                + "{\"email\":\"bad@\",\"newsletter\":true}\n{\"email\":\"cat@example.org\",\"city\":[1]}\n"
                + "{\"email\":\"ann@example.org\",\"city\":\"Rome\",\"newsletter\":true}\n")
        // The row with the invalid email is line 3 of the CSV (after the header), line 2 of the NDJSON.
        for (source, expected, badLine) in [
            (csv, ["bob@example.org"], 3), (ndjson, ["bob@example.org", "cat@example.org"], 2),
        ] {
            let rejects = folder.file((source as NSString).lastPathComponent + ".rejects")
            let summary = try AudienceExtract.fromFile(
                source, options: options, snapshotPath: folder.file("snapshot.ndjson"), rejectsPath: rejects,
                temporaryFolder: folder.path)
            #expect(summary.read.rejected == expected.count + 1)
            #expect(try HeldMembers.read(rejectsPath: rejects) == Set(expected))
            let written = try lines(rejects)
            #expect(written.filter { $0.contains("\"email\":") }.count == expected.count)
            #expect(written.contains { $0.contains("\"line\":\(badLine),") && !$0.contains("\"email\"") })
        }
        #expect(try HeldMembers.read(rejectsPath: folder.file("absent.ndjson")).isEmpty)
    }

    @Test func heldMembersAreNotExitedAndKeepTheirPreviousLine() throws {
        let folder = try TemporaryFolder("audience")
        let ann = AudienceMember(email: "ann@example.org", fields: ["city": "Paris"], audiences: ["newsletter"])
        let bob = AudienceMember(email: "bob@example.org", fields: ["city": "Lyon"], audiences: [])
        let cat = AudienceMember(email: "cat@example.org", fields: [:], audiences: ["newsletter"])
        let previous = try snapshot(folder, "previous.ndjson", [ann, bob, cat])
        let current = try snapshot(folder, "current.ndjson", [ann])
        // Bob is held; cat really left; dan is held but was never delivered (nothing to keep).
        let held: Set<String> = ["bob@example.org", "dan@example.org"]
        let diff = try SnapshotDiff.run(
            current: current, previous: previous, firstRun: .sendEveryone, outputFolder: folder.file("diff"),
            held: held)
        #expect(diff.counts.exited == 1)
        #expect(diff.counts.heldRejected == 1)
        #expect(try lines(diff.exitedPath) == [cat.snapshotLine])
        let counts = try DeliveredState.applyDelivery(
            previous: previous, current: current, failedEmails: [], held: held, to: folder.file("state.ndjson"))
        #expect(try lines(folder.file("state.ndjson")) == [ann.snapshotLine, bob.snapshotLine])
        #expect(counts.keptHeld == 1)
        #expect(counts.members == 2)

        // Bob's row fixed with new data: an ordinary change against the kept line.
        var fixed = bob
        fixed.fields["city"] = "Metz"
        let next = try SnapshotDiff.run(
            current: try snapshot(folder, "next.ndjson", [ann, fixed]), previous: folder.file("state.ndjson"),
            firstRun: .sendEveryone, outputFolder: folder.file("next"))
        #expect(next.counts.changed == 1)
        #expect(next.counts.exited == 0)
        #expect(next.counts.entered == 0)
    }
}
