import Audience
import Core
import Foundation
import TestSupport

/// Lines of a text file (without the final empty line).
func lines(_ path: String) throws -> [String] {
    let text = String(decoding: try Files.read(path), as: UTF8.self)
    return text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
}

func json(_ path: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: try Files.read(path)) as? [String: Any] ?? [:]
}

/// The plan's requests.
func planRequests(_ folder: String) throws -> [[String: Any]] {
    try json(folder + "/plan.json")["requests"] as? [[String: Any]] ?? []
}

/// Writes members as a sorted snapshot (through the sorter) and returns its path.
@discardableResult
func snapshot(_ folder: TemporaryFolder, _ name: String, _ members: [AudienceMember]) throws -> String {
    let path = folder.file(name)
    _ = try ExternalSorter.writeSortedSnapshot(
        members, to: path, memoryBudgetBytes: 1 << 20, temporaryFolder: folder.file("sort-tmp"))
    return path
}

func records(_ body: [String: Any]) -> [[String]] {
    (body["recordData"] as? [String: Any])?["records"] as? [[String]] ?? []
}

func fieldNames(_ body: [String: Any]) -> [String] {
    (body["recordData"] as? [String: Any])?["fieldNames"] as? [String] ?? []
}
