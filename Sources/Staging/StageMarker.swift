import Core
import Foundation

/// One published output of a stage, as its marker records it.
public struct StageOutput: Codable, Sendable, Equatable {
    /// The path relative to the stage folder.
    public var name: String
    public var size: Int64
    public var sha256: String
    /// The input it came from (a remote file name, an input file of the previous stage).
    public var source: String?

    public init(name: String, size: Int64, sha256: String, source: String? = nil) {
        self.name = name
        self.size = size
        self.sha256 = sha256
        self.source = source
    }
}

/// The `_DONE` file: a stage is finished when this exists and every output it lists still has the size
/// and SHA-256 it had when the stage finished. It is written last, after every output is published.
public struct StageMarker: Codable, Sendable {
    public var stage: StageName
    public var run: String
    public var startedAt: Date
    public var finishedAt: Date
    public var outputs: [StageOutput]
    public var counts: [String: Int]
    /// Facts about the stage worth keeping (signature status, server answers…). Never secrets.
    public var notes: [String: String]
    /// 0, or 3 when the stage finished with rejected records or outcomes it could not confirm.
    public var exitStatus: Int32

    public init(
        stage: StageName, run: String, startedAt: Date, finishedAt: Date, outputs: [StageOutput],
        counts: [String: Int], notes: [String: String] = [:], exitStatus: Int32 = 0
    ) {
        self.exitStatus = exitStatus
        self.stage = stage
        self.run = run
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.outputs = outputs
        self.counts = counts
        self.notes = notes
    }
}

/// What checking a marker against the files found.
public enum MarkerCheck: Sendable, Equatable {
    case absent
    case valid
    /// The marker lists an output that is missing or changed since: the stage must run again.
    case outputsChanged([String])
}
