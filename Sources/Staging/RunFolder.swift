import Core
import Foundation

/// One run's folder, `staging/<workflow>/runs/<run-id>/`, with its `run.json` and stage folders.
public final class RunFolder: @unchecked Sendable {
    public let path: String
    public private(set) var record: RunRecord
    private let lock = NSLock()

    public static let recordName = "run.json"

    init(path: String, record: RunRecord) {
        self.path = path
        self.record = record
    }

    /// Opens an existing run; nil when the folder has no `run.json` (a run that crashed while being created).
    static func open(path: String) throws -> RunFolder? {
        guard let record = try JSONFiles.read(RunRecord.self, from: path + "/" + recordName) else { return nil }
        return RunFolder(path: path, record: record)
    }

    public var id: RunID { record.run }
    public var now: Date { record.now }

    public func stage(_ name: StageName) -> StageFolder {
        StageFolder(stage: name, path: path + "/" + name.rawValue, runID: record.run)
    }

    /// Changes `run.json` and writes it atomically.
    public func updateRecord(_ change: (inout RunRecord) -> Void) throws {
        try lock.withLock {
            var copy = record
            change(&copy)
            try JSONFiles.write(copy, to: path + "/" + RunFolder.recordName)
            record = copy
        }
    }

    func updateStage(_ stage: StageName, _ change: @escaping (inout StageRecord) -> Void) throws {
        try updateRecord { $0.update(stage, change) }
    }

    /// Clears `stage` and every stage after it, so a forced stage never leaves later stages built on
    /// outputs that no longer exist.
    public func invalidate(from stage: StageName) throws {
        let affected = record.stages.map(\.name).filter { $0 >= stage }
        for name in affected {
            try self.stage(name).clear()
        }
        try updateRecord { record in
            record.finishedAt = nil
            record.exitStatus = nil
            for name in affected {
                record.update(name) { stageRecord in
                    stageRecord.state = stageRecord.state == .pending ? .pending : .invalidated
                    stageRecord.counts = [:]
                    stageRecord.error = nil
                }
            }
        }
    }
}
