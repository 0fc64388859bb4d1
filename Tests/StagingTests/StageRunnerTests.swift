import Core
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Staging

/// A stage that writes one file per input item and can be told to fail after some items.
final class CountingStage: Stage, @unchecked Sendable {
    let name: StageName
    let items: [String]
    let failAfter: Int?
    let calls = Mutex(0)
    let itemsProcessed = Mutex<[String]>([])

    init(_ name: StageName, items: [String], failAfter: Int? = nil) {
        self.name = name
        self.items = items
        self.failAfter = failAfter
    }

    func run(_ context: StageContext) throws -> StageResult {
        calls.withLock { $0 += 1 }
        var outputs: [StageOutput] = []
        for (index, item) in items.enumerated() {
            if let done = try context.folder.finishedItem(item) {
                outputs += done.outputs
                continue
            }
            if let failAfter, index >= failAfter { throw ETLError(.failed, "injected failure at \(item)") }
            let writer = try context.folder.createOutput(item + ".out")
            try writer.write("\(item) at \(Timestamp.iso8601(context.now))\n")
            let output = try context.folder.publish(writer, source: item)
            try context.folder.recordItem(ItemRecord(key: item, outputs: [output]))
            itemsProcessed.withLock { $0.append(item) }
            outputs.append(output)
        }
        return StageResult(outputs: outputs, counts: ["items": outputs.count])
    }
}

/// A failure that condemns the outputs of an earlier stage.
struct StaleInputError: RedoesEarlierStages {
    var redoFrom: StageName?
}

/// A stage that fails with `StaleInputError` while `failing` is set.
final class GuardStage: Stage, @unchecked Sendable {
    let name = StageName.transform
    let failing = Mutex(true)

    func run(_ context: StageContext) throws -> StageResult {
        if failing.withLock({ $0 }) { throw StaleInputError(redoFrom: .extract) }
        return StageResult(outputs: [])
    }
}

/// A stage that refuses to run again (like a load superseded by a newer delivery).
struct RefusingRerunStage: Stage {
    let name = StageName.load

    func run(_ context: StageContext) throws -> StageResult { StageResult(outputs: []) }

    func checkRerun(of run: RunFolder, in area: WorkflowArea) throws {
        throw ETLError(.usage, "run \(run.id) cannot load again")
    }
}

@Suite struct StageRunnerTests {
    let folder: TemporaryFolder
    let area: WorkflowArea

    init() throws {
        folder = try TemporaryFolder("runner")
        area = WorkflowArea(stagingRoot: folder.path, workflow: "wf")
    }

    @Test func runsStagesInOrderAndRecordsThemInRunJSON() throws {
        let lock = try area.lock()
        defer { lock.release() }
        let run = try area.createRun(now: Date(), workflowType: "t", configDigest: "d", stages: [.extract, .load])
        let runner = StageRunner(
            area: area, stages: [CountingStage(.extract, items: ["a", "b"]), CountingStage(.load, items: ["c"])],
            logger: .silent)
        #expect(try runner.runAll(run) == .success)
        let record = try #require(try area.openRun(run.id)).record
        #expect(record.isFinished)
        #expect(record[.extract]?.state == .done)
        #expect(record[.extract]?.counts == ["items": 2])
        #expect(record[.load]?.durationSeconds != nil)
        #expect(try run.stage(.load).checkMarker() == .valid)
    }

    @Test func aResumedRunRedoesOnlyUnfinishedItemsAndSkipsFinishedStages() throws {
        let lock = try area.lock()
        defer { lock.release() }
        let run = try area.createRun(now: Date(), workflowType: "t", configDigest: "d", stages: [.extract, .load])
        let extract = CountingStage(.extract, items: ["a"])
        let failing = CountingStage(.load, items: ["1", "2", "3", "4"], failAfter: 2)
        #expect(throws: ETLError.self) {
            try StageRunner(area: area, stages: [extract, failing], logger: .silent).runAll(run)
        }
        let failed = try #require(try area.openRun(run.id)).record
        #expect(failed[.load]?.state == .failed)
        #expect(failed[.load]?.error?.contains("injected failure at 3") == true)
        #expect(!failed.isFinished)

        let healthy = CountingStage(.load, items: ["1", "2", "3", "4"])
        let resumed = try #require(try area.unfinishedRun())
        #expect(try StageRunner(area: area, stages: [extract, healthy], logger: .silent).runAll(resumed) == .success)
        #expect(extract.calls.withLock { $0 } == 1)
        #expect(healthy.itemsProcessed.withLock { $0 } == ["3", "4"])
        #expect(try area.unfinishedRun() == nil)
    }

    @Test func forcingAStageRerunsItAndInvalidatesLaterStages() throws {
        let lock = try area.lock()
        defer { lock.release() }
        let run = try area.createRun(
            now: Date(), workflowType: "t", configDigest: "d", stages: [.extract, .transform, .load])
        let stages = [
            CountingStage(.extract, items: ["a"]), CountingStage(.transform, items: ["b"]),
            CountingStage(.load, items: ["c"]),
        ]
        let runner = StageRunner(area: area, stages: stages, logger: .silent)
        _ = try runner.runAll(run)
        _ = try runner.runOne(.transform, of: run, force: true, options: StageOptions())
        #expect(stages[1].calls.withLock { $0 } == 2)
        #expect(try run.stage(.load).checkMarker() == .absent)
        #expect(run.record[.load]?.state == .invalidated)
        #expect(!run.record.isFinished)
        _ = try runner.runOne(.load, of: run, force: false, options: StageOptions())
        #expect(run.record.isFinished)
    }

    @Test func aFailureThatCondemnsAnEarlierStageClearsItSoTheResumedRunRedoesIt() throws {
        let lock = try area.lock()
        defer { lock.release() }
        let run = try area.createRun(
            now: Date(), workflowType: "t", configDigest: "d", stages: [.extract, .transform])
        let extract = CountingStage(.extract, items: ["a"])
        let guarded = GuardStage()
        let runner = StageRunner(area: area, stages: [extract, guarded], logger: .silent)
        #expect(throws: StaleInputError.self) { try runner.runAll(run) }
        #expect(try run.stage(.extract).checkMarker() == .absent)
        let failed = try #require(try area.openRun(run.id)).record
        #expect(failed[.extract]?.state == .invalidated)
        #expect(failed[.transform]?.state == .failed)

        guarded.failing.withLock { $0 = false }
        let resumed = try #require(try area.unfinishedRun())
        #expect(resumed.id == run.id)
        #expect(try runner.runAll(resumed) == .success)
        #expect(extract.calls.withLock { $0 } == 2)
        #expect(extract.itemsProcessed.withLock { $0 } == ["a", "a"])
    }

    @Test func aStageWhoseEarlierStageIsUnfinishedIsRefused() throws {
        let lock = try area.lock()
        defer { lock.release() }
        let run = try area.createRun(now: Date(), workflowType: "t", configDigest: "d", stages: [.extract, .load])
        let runner = StageRunner(
            area: area, stages: [CountingStage(.extract, items: ["a"]), CountingStage(.load, items: ["b"])],
            logger: .silent)
        do {
            _ = try runner.runOne(.load, of: run, force: false, options: StageOptions())
            Issue.record("load ran before extract")
        } catch let error as ETLError {
            #expect(error.code == .usage)
        }
    }

    @Test func aChangedOutputMakesTheStageRunAgainWithTheSameNow() throws {
        let lock = try area.lock()
        defer { lock.release() }
        let now = Date(timeIntervalSince1970: 1_796_396_400)
        let run = try area.createRun(now: now, workflowType: "t", configDigest: "d", stages: [.extract, .load])
        let extract = CountingStage(.extract, items: ["a"])
        let load = CountingStage(.load, items: ["b"])
        let runner = StageRunner(area: area, stages: [extract, load], logger: .silent)
        _ = try runner.runAll(run)
        let original = try Files.read(run.stage(.extract).file("a.out"))
        try Data("tampered\n".utf8).write(to: URL(fileURLWithPath: run.stage(.extract).file("a.out")))
        try run.updateRecord { $0.finishedAt = nil }
        _ = try runner.runAll(run)
        #expect(extract.calls.withLock { $0 } == 2)
        #expect(load.calls.withLock { $0 } == 2)
        #expect(try Files.read(run.stage(.extract).file("a.out")) == original)
    }

    @Test func aForcedStageRefusedByALaterStageLeavesTheFinishedRunAsItWas() throws {
        let lock = try area.lock()
        defer { lock.release() }
        let run = try area.createRun(now: Date(), workflowType: "t", configDigest: "d", stages: [.extract, .load])
        let runner = StageRunner(
            area: area, stages: [CountingStage(.extract, items: ["a"]), RefusingRerunStage()], logger: .silent)
        #expect(try runner.runAll(run) == .success)
        #expect(throws: ETLError.self) {
            _ = try runner.runOne(.extract, of: run, force: true, options: StageOptions())
        }
        let reopened = try #require(try area.openRun(run.id))
        #expect(reopened.record.isFinished)
        #expect(reopened.record.stages.allSatisfy { $0.state == .done })
        #expect(try run.stage(.extract).checkMarker() == .valid)
        #expect(try run.stage(.load).checkMarker() == .valid)
    }
}
