import Foundation

/// Progress inside a stage: one record per finished item (a downloaded file, a decrypted file, a sent
/// chunk). A stage resumed after a crash skips the items that have a record whose outputs still match.
public struct ItemRecord: Codable, Sendable, Equatable {
    /// What the item is, unique within the stage (a remote file name, a chunk file name).
    public var key: String
    public var outputs: [StageOutput]
    public var counts: [String: Int]
    public var notes: [String: String]
    public var finishedAt: Date

    public init(
        key: String, outputs: [StageOutput], counts: [String: Int] = [:], notes: [String: String] = [:],
        finishedAt: Date = Date()
    ) {
        self.key = key
        self.outputs = outputs
        self.counts = counts
        self.notes = notes
        self.finishedAt = finishedAt
    }
}
