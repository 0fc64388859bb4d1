import Core
import Foundation

/// `staging/<workflow>/`: the lock, the state that survives runs, and the runs.
public struct WorkflowArea: Sendable {
    public let name: String
    public let path: String

    public init(stagingRoot: String, workflow: String) {
        precondition(!workflow.isEmpty && !workflow.contains("/") && workflow != "..", "bad workflow name")
        self.name = workflow
        self.path = stagingRoot + "/" + workflow
    }

    public var statePath: String { path + "/state" }
    public var runsPath: String { path + "/runs" }
    public var lockPath: String { path + "/lock" }

    /// Creates the folders (0700) and takes the workflow's lock.
    public func lock() throws -> WorkflowLock {
        try Files.makeDirectory(statePath)
        try Files.makeDirectory(runsPath)
        return try WorkflowLock(path: lockPath, workflow: name)
    }

    /// The ids of every run folder, oldest first. Folders that are not run ids are ignored.
    public func runIDs() throws -> [RunID] {
        try Files.list(runsPath).compactMap(RunID.init(text:)).sorted()
    }

    public func openRun(_ id: RunID) throws -> RunFolder? {
        try RunFolder.open(path: runsPath + "/" + id.text)
    }

    public func latestRun() throws -> RunFolder? {
        for id in try runIDs().reversed() {
            if let run = try openRun(id) { return run }
        }
        return nil
    }

    /// The newest run that has not finished: `run` resumes it instead of starting another.
    public func unfinishedRun() throws -> RunFolder? {
        guard let latest = try latestRun(), !latest.record.isFinished else { return nil }
        return latest
    }

    /// Creates a run whose id and "now" are `now`. Two runs in the same second get distinct ids by
    /// moving the later one forward, so ids stay unique and ordered; `after` is a run id the new one must
    /// not precede even when its folder is gone (the run that last wrote the workflow's state).
    public func createRun(
        now: Date, workflowType: String, configDigest: String, stages: [StageName], dryRun: Bool = false,
        after: RunID? = nil
    ) throws -> RunFolder {
        var id = RunID(date: now)
        for earlier in [try runIDs().last, after].compactMap({ $0 }) where earlier >= id {
            id = RunID(date: earlier.date.addingTimeInterval(1))
        }
        let folder = runsPath + "/" + id.text
        try Files.makeDirectory(folder)
        let record = RunRecord(
            run: id, workflow: name, workflowType: workflowType, configDigest: configDigest, now: now,
            createdAt: Date(), stages: stages.map(StageRecord.init(name:)), finishedAt: nil, exitStatus: nil,
            dryRun: dryRun)
        try JSONFiles.write(record, to: folder + "/" + RunFolder.recordName)
        return RunFolder(path: folder, record: record)
    }

    /// Removes finished runs that finished before `cutoff`, never the newest run. Returns the removed ids.
    public func clean(finishedBefore cutoff: Date) throws -> [RunID] {
        let ids = try runIDs()
        var removed: [RunID] = []
        for id in ids.dropLast() {
            guard let run = try openRun(id), let finished = run.record.finishedAt, finished < cutoff else { continue }
            try Files.remove(run.path)
            removed.append(id)
        }
        return removed
    }
}
