import Audience
import Core
import Foundation
import TestSupport
import Testing

@Suite struct ExternalSorterTests {
    /// Members with many duplicates (same email, other data) spread through the input.
    func sample(count: Int, seed: UInt64) -> [AudienceMember] {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        return (0..<count).map { index in
            let id = next() % UInt64(count / 2)
            return AudienceMember(
                email: "user\(id)@example.org", fields: ["n": "\(index)", "city": next() % 3 == 0 ? "" : "Köln"],
                audiences: next() % 2 == 0 ? ["a"] : ["a", "b"])
        }
    }

    /// The expected result, computed in memory: the last member of each email, sorted by email bytes.
    func inMemory(_ members: [AudienceMember]) -> [String] {
        var last: [String: AudienceMember] = [:]
        for member in members { last[member.email] = member }
        return last.values.sorted { Array($0.email.utf8).lexicographicallyPrecedes(Array($1.email.utf8)) }
            .map(\.snapshotLine)
    }

    @Test func tinyBudgetForcesManyRunsAndMatchesTheInMemorySort() throws {
        let folder = try TemporaryFolder("audience")
        let members = sample(count: 3000, seed: 7)
        let counts = try ExternalSorter.writeSortedSnapshot(
            members, to: folder.file("sorted.ndjson"), memoryBudgetBytes: 4096,
            temporaryFolder: folder.file("runs"))
        let expected = inMemory(members)
        #expect(counts.runs > 20)
        #expect(counts.members == expected.count)
        #expect(counts.duplicates == members.count - expected.count)
        #expect(try lines(folder.file("sorted.ndjson")) == expected)
        #expect(try Files.list(folder.file("runs")).isEmpty)
    }

    @Test func largeBudgetSortsInMemory() throws {
        let folder = try TemporaryFolder("audience")
        let members = sample(count: 3000, seed: 11)
        let counts = try ExternalSorter.writeSortedSnapshot(
            members, to: folder.file("sorted.ndjson"), memoryBudgetBytes: 64 << 20,
            temporaryFolder: folder.file("runs"))
        #expect(counts.runs == 0)
        #expect(try lines(folder.file("sorted.ndjson")) == inMemory(members))
    }

    @Test func emptyInputWritesAnEmptySnapshot() throws {
        let folder = try TemporaryFolder("audience")
        let counts = try ExternalSorter.writeSortedSnapshot(
            [], to: folder.file("sorted.ndjson"), memoryBudgetBytes: 4096, temporaryFolder: folder.file("runs"))
        #expect(counts == SnapshotCounts())
        #expect(try Files.size(folder.file("sorted.ndjson")) == 0)
    }
}
