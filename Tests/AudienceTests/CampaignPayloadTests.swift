import Audience
import Core
import Foundation
import TestSupport
import Testing

@Suite struct CampaignPayloadTests {
    @Test func fourHundredFiftyEntrantsMakeThreeChunks() throws {
        let folder = try TemporaryFolder("audience")
        let members = (0..<450).map {
            AudienceMember(email: String(format: "user%03d@example.org", $0), fields: ["first_name": "N\($0)"])
        }
        let current = try snapshot(folder, "current.ndjson", members)
        let diff = try SnapshotDiff.run(
            current: current, previous: nil, firstRun: .sendEveryone, outputFolder: folder.file("t"))
        let summary = try CampaignPayloadWriter.write(
            diff: diff,
            options: CampaignPayloadOptions(campaign: "WELCOME", list: "MASTER_LIST", additionalFields: ["first_name"]),
            to: folder.file("t/payload"))
        #expect(summary.chunks == 3)
        #expect(summary.requests[.mergeTrigger] == 3)
        let plan = try planRequests(folder.file("t/payload"))
        let triggers = plan.filter { $0["kind"] as? String == "merge-trigger" }
        #expect(triggers.map { $0["records"] as? Int } == [200, 200, 50])
        #expect(triggers.allSatisfy { $0["path"] as? String == "/rest/api/v1.3/campaigns/WELCOME/email" })
        // Each chunk: list merge, then PET, then trigger.
        #expect(
            plan.map { $0["kind"] as? String }
                == Array(repeating: ["list-merge", "pet-merge", "merge-trigger"], count: 3).flatMap { $0 })
        let allEmails = triggers.flatMap { $0["emails"] as? [String] ?? [] }
        #expect(allEmails == members.map(\.email))
    }

    @Test func nonASCIIFirstNameIsEscapedInOptionalDataAndIntactInThePET() throws {
        let folder = try TemporaryFolder("audience")
        let renee = AudienceMember(email: "renee@example.org", fields: ["first_name": "Renée 😀"])
        let current = try snapshot(folder, "current.ndjson", [renee])
        let diff = try SnapshotDiff.run(
            current: current, previous: nil, firstRun: .sendEveryone, outputFolder: folder.file("t"))
        var options = CampaignPayloadOptions(campaign: "WELCOME", list: "MASTER_LIST", additionalFields: ["first_name"])
        options.mergeRule.defaultPermissionStatus = "OPTIN"
        _ = try CampaignPayloadWriter.write(diff: diff, options: options, to: folder.file("p"))
        let plan = try planRequests(folder.file("p"))
        let triggerFile = folder.file("p/" + (plan[2]["file"] as? String ?? ""))
        let raw = try Files.read(triggerFile)
        #expect(raw.allSatisfy { $0 < 0x80 })
        #expect(String(decoding: raw, as: UTF8.self).contains(#""value":"Ren\u00e9e \ud83d\ude00""#))
        let trigger = try json(triggerFile)
        let data = try #require(trigger["mergeTriggerRecordData"] as? [String: Any])
        #expect(data["fieldNames"] as? [String] == ["EMAIL_ADDRESS_"])
        let record = try #require((data["mergeTriggerRecords"] as? [[String: Any]])?.first)
        #expect(record["fieldValues"] as? [String] == ["renee@example.org"])
        let optional = try #require(record["optionalData"] as? [[String: String]])
        #expect(optional == [["name": "FIRST_NAME", "value": "Renée 😀"]])
        #expect((trigger["mergeRule"] as? [String: Any])?["defaultPermissionStatus"] as? String == "OPTIN")
        let pet = try json(folder.file("p/" + (plan[1]["file"] as? String ?? "")))
        #expect(records(pet) == [["renee@example.org", "Renée 😀"]])
    }

    @Test func backFillOffSendsNothingOnTheFirstRunThenOnlyNewMembers() throws {
        let folder = try TemporaryFolder("audience")
        let ann = AudienceMember(email: "ann@example.org")
        let bob = AudienceMember(email: "bob@example.org")
        let first = try snapshot(folder, "first.ndjson", [ann])
        let options = CampaignPayloadOptions(campaign: "WELCOME", list: "MASTER_LIST")
        let diff = try SnapshotDiff.run(
            current: first, previous: nil, firstRun: .recordBaseline, outputFolder: folder.file("r1"))
        let summary = try CampaignPayloadWriter.write(diff: diff, options: options, to: folder.file("r1/p"))
        #expect(summary.requests.isEmpty)
        _ = try DeliveredState.recordBaseline(current: first, to: folder.file("state.ndjson"))
        let second = try snapshot(folder, "second.ndjson", [ann, bob])
        let next = try SnapshotDiff.run(
            current: second, previous: folder.file("state.ndjson"), firstRun: .recordBaseline,
            outputFolder: folder.file("r2"))
        _ = try CampaignPayloadWriter.write(diff: next, options: options, to: folder.file("r2/p"))
        let plan = try planRequests(folder.file("r2/p"))
        #expect(
            plan.filter { $0["kind"] as? String == "merge-trigger" }.map { $0["emails"] as? [String] } == [
                ["bob@example.org"]
            ])
    }
}
