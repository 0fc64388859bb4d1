import Foundation

/// The state of one stage as `run.json` records it.
public enum StageState: String, Codable, Sendable {
    case pending, running, done, failed, invalidated
}

public struct StageRecord: Codable, Sendable, Equatable {
    public var name: StageName
    public var state: StageState
    public var startedAt: Date?
    public var finishedAt: Date?
    public var durationSeconds: Double?
    public var counts: [String: Int]
    /// The last failure's message, already free of secrets.
    public var error: String?
    public var attempts: Int

    public init(name: StageName) {
        self.name = name
        self.state = .pending
        self.counts = [:]
        self.attempts = 0
    }
}

/// `run.json`: what a run is and where it stands. The run's "now" is fixed here once, so every stage and
/// every re-run of a stage sees the same time.
public struct RunRecord: Codable, Sendable {
    public var run: RunID
    public var workflow: String
    public var workflowType: String
    public var configDigest: String
    public var now: Date
    public var createdAt: Date
    public var stages: [StageRecord]
    /// Set when every stage is done; a finished run is never resumed, only re-run stage by stage.
    public var finishedAt: Date?
    /// The exit status the run finished with (0, or 3 when records were rejected).
    public var exitStatus: Int32?
    public var dryRun: Bool

    public var isFinished: Bool { finishedAt != nil }

    public subscript(stage: StageName) -> StageRecord? {
        stages.first { $0.name == stage }
    }

    mutating func update(_ stage: StageName, _ change: (inout StageRecord) -> Void) {
        guard let index = stages.firstIndex(where: { $0.name == stage }) else {
            preconditionFailure("run \(run) has no stage \(stage)")
        }
        change(&stages[index])
    }
}
