import Core
import Foundation
import TestSupport
import Testing

@testable import Audience

@Suite struct ParallelExtractTests {
    /// The parallel NDJSON path, with blocks far smaller than lines and several workers, gives exactly
    /// what the sequential reader gives: same members (the last duplicate wins), same rejects, in order.
    @Test func smallBlocksMatchTheSequentialRead() throws {
        let folder = try TemporaryFolder("audience")
        var text = ""
        for index in 0..<2000 {
            switch index % 97 {
            case 0: text += "\n"
            case 1: text += "{\"email\":\"broken\(index)\"}\n"
            case 2: text += "not json \(index)\r\n"
            default:
                let id = (index * 7919) % 700
                let email = index % 5 == 0 ? " USER\(id)@Example.org" : "user\(id)@example.org"
                text += "{\"email\":\"\(email)\",\"first_name\":\"N\(index)\",\"audiences\":[\"a\"]}\r\n"
            }
        }
        text += "{\"email\":\"last@example.org\"}"
        let source = try folder.write("users.ndjson", text)
        let options = AudienceSnapshotOptions(additionalFields: ["first_name"], audienceMemberships: ["a", "b"])
        let reader = AudienceSnapshotReader(options: options)

        var sequentialRejects: [SnapshotReject] = []
        var members: [AudienceMember] = []
        let sequentialCounts = try reader.readFile(
            source, member: { members.append($0) }, reject: { sequentialRejects.append($0) })
        _ = try ExternalSorter.writeSortedSnapshot(
            members, to: folder.file("sequential.ndjson"), memoryBudgetBytes: 1 << 20,
            temporaryFolder: folder.file("tmp1"))

        let sorter = try ExternalSorter(memoryBudgetBytes: 8192, temporaryFolder: folder.file("tmp2"))
        var parallelRejects: [SnapshotReject] = []
        let parallelCounts = try reader.readNDJSONParallel(
            source, sorter: sorter, encoder: SnapshotEncoder(options: options),
            reject: { parallelRejects.append($0) }, workers: 3, blockSize: 100)
        let counts = try sorter.finish(to: folder.file("parallel.ndjson"))

        #expect(parallelCounts == sequentialCounts)
        #expect(parallelRejects == sequentialRejects)
        #expect(parallelRejects.count == 42)
        #expect(counts.runs > 1)
        #expect(try lines(folder.file("parallel.ndjson")) == lines(folder.file("sequential.ndjson")))
        #expect(try lines(folder.file("parallel.ndjson")).count == 701)
    }
}
