import Core
import Foundation
import TestSupport
import Testing

@testable import Staging

@Suite struct StagingAreaTests {
    let folder: TemporaryFolder
    let area: WorkflowArea

    init() throws {
        folder = try TemporaryFolder("staging")
        area = WorkflowArea(stagingRoot: folder.path + "/staging", workflow: "events")
    }

    private func newRun(_ now: Date = Date(timeIntervalSince1970: 1_796_396_400)) throws -> RunFolder {
        _ = try area.lock()
        return try area.createRun(
            now: now, workflowType: "import-events", configDigest: "abc", stages: [.extract, .transform, .load])
    }

    @Test func runIDIsTheUTCStartTimeAndRoundTrips() throws {
        let id = RunID(date: Date(timeIntervalSince1970: 1_796_396_400))
        #expect(id.text == "20261204T150000Z")
        #expect(RunID(text: "20261204T150000Z") == id)
        #expect(RunID(text: "20261304T150000Z") == nil)
        #expect(RunID(text: "latest") == nil)
    }

    @Test func runsCreatedInTheSameSecondGetDistinctOrderedIDs() throws {
        let first = try newRun()
        let second = try area.createRun(now: first.now, workflowType: "x", configDigest: "d", stages: [.extract])
        #expect(second.id > first.id)
        #expect(try area.runIDs() == [first.id, second.id])
        #expect(second.now == first.now)
    }

    @Test func aNewRunComesAfterTheGivenRunEvenWhenItsFolderIsGone() throws {
        let now = Date(timeIntervalSince1970: 1_796_396_400)
        let later = RunID(date: now.addingTimeInterval(5))
        let run = try area.createRun(
            now: now, workflowType: "x", configDigest: "d", stages: [.extract], after: later)
        #expect(run.id > later)
        #expect(run.now == now)
    }

    @Test func foldersAre0700AndFiles0600() throws {
        let run = try newRun()
        let stage = run.stage(.extract)
        try stage.prepare()
        let output = try stage.publish(try stage.createOutput("a.csv"))
        #expect(output.size == 0)
        #expect(try mode(of: area.path) == 0o700)
        #expect(try mode(of: run.path) == 0o700)
        #expect(try mode(of: stage.path) == 0o700)
        #expect(try mode(of: stage.file("a.csv")) == 0o600)
        #expect(try mode(of: run.path + "/run.json") == 0o600)
    }

    @Test func aWriterThatCrashesBeforeRenameLeavesNoOutput() throws {
        let run = try newRun()
        let stage = run.stage(.extract)
        try stage.prepare()
        let writer = try stage.createOutput("half.csv")
        try writer.write("a,b\n1,")
        // Simulate a crash: the temporary file stays on disk, nothing is renamed.
        let temporary = writer.temporaryPath
        #expect(Files.exists(temporary))
        #expect(!Files.exists(stage.file("half.csv")))
        // The next attempt at the stage sweeps the half file away; it is never taken as output.
        try stage.prepare()
        #expect(!Files.exists(temporary))
        #expect(try Files.list(stage.path).filter { $0 != "_items" }.isEmpty)
        writer.abandon()
    }

    @Test func aMarkerWhoseOutputChangedIsDetected() throws {
        let run = try newRun()
        let stage = run.stage(.extract)
        try stage.prepare()
        let writer = try stage.createOutput("events.csv")
        try writer.write("a,b\n1,2\n")
        let output = try stage.publish(writer)
        #expect(output.sha256 == SHA256.hex(Array("a,b\n1,2\n".utf8)))
        try stage.writeMarker(marker(for: run, outputs: [output]))
        #expect(try stage.checkMarker() == .valid)

        // Same size, different bytes: caught by the digest, not only the size.
        try Data("a,b\n9,2\n".utf8).write(to: URL(fileURLWithPath: stage.file("events.csv")))
        #expect(try stage.checkMarker() == .outputsChanged(["events.csv"]))

        try Files.remove(stage.file("events.csv"))
        #expect(try stage.checkMarker() == .outputsChanged(["events.csv"]))
    }

    @Test func aMarkerCannotBeWrittenForOutputsThatDoNotMatch() throws {
        let run = try newRun()
        let stage = run.stage(.extract)
        try stage.prepare()
        let bogus = StageOutput(name: "missing.csv", size: 3, sha256: "00")
        #expect(throws: ETLError.self) { try stage.writeMarker(marker(for: run, outputs: [bogus])) }
        #expect(try stage.checkMarker() == .absent)
    }

    @Test func itemRecordsSurviveAndAreDroppedWhenTheirOutputChanges() throws {
        let run = try newRun()
        let stage = run.stage(.extract)
        try stage.prepare()
        let writer = try stage.createOutput("one.csv")
        try writer.write("x")
        let output = try stage.publish(writer, source: "remote one.csv")
        try stage.recordItem(ItemRecord(key: "remote one.csv", outputs: [output], counts: ["bytes": 1]))
        #expect(try stage.finishedItem("remote one.csv")?.counts["bytes"] == 1)
        #expect(try stage.finishedItem("other.csv") == nil)
        #expect(try stage.items().map(\.key) == ["remote one.csv"])

        try Data("y".utf8).write(to: URL(fileURLWithPath: stage.file("one.csv")))
        #expect(try stage.finishedItem("remote one.csv") == nil)
    }

    @Test func aSecondLockOnTheSameWorkflowIsRefusedWithTheHolder() throws {
        let first = try area.lock()
        do {
            _ = try area.lock()
            Issue.record("second lock was granted")
        } catch let error as ETLError {
            #expect(error.code == .lockHeld)
            #expect(error.exitStatus == .temporaryFailure)
            #expect(error.description.contains("pid=\(getpid())"))
        }
        first.release()
        let again = try area.lock()
        again.release()
    }

    @Test func invalidatingAStageClearsItAndEveryLaterStage() throws {
        let run = try newRun()
        for name in [StageName.extract, .transform, .load] {
            let stage = run.stage(name)
            try stage.prepare()
            let output = try stage.publish(try stage.createOutput("\(name).out"))
            try stage.writeMarker(marker(for: run, stage: name, outputs: [output]))
            try run.updateStage(name) { $0.state = .done }
        }
        try run.invalidate(from: .transform)
        #expect(try run.stage(.extract).checkMarker() == .valid)
        #expect(try run.stage(.transform).checkMarker() == .absent)
        #expect(try run.stage(.load).checkMarker() == .absent)
        #expect(!Files.exists(run.stage(.load).file("load.out")))
        let reopened = try #require(try area.openRun(run.id))
        #expect(reopened.record[.extract]?.state == .done)
        #expect(reopened.record[.transform]?.state == .invalidated)
        #expect(reopened.record[.load]?.state == .invalidated)
    }

    @Test func cleanRemovesOnlyOldFinishedRunsAndNeverTheNewest() throws {
        let base = Date(timeIntervalSince1970: 1_796_396_400)
        _ = try area.lock()
        var runs: [RunFolder] = []
        for day in 0..<4 {
            let run = try area.createRun(
                now: base.addingTimeInterval(Double(day) * 86_400), workflowType: "x", configDigest: "d",
                stages: [.extract])
            runs.append(run)
        }
        try runs[0].updateRecord { $0.finishedAt = base }
        // runs[1] never finished: kept for resumption whatever its age.
        try runs[2].updateRecord { $0.finishedAt = base.addingTimeInterval(2 * 86_400) }
        try runs[3].updateRecord { $0.finishedAt = base.addingTimeInterval(3 * 86_400) }
        let removed = try area.clean(finishedBefore: base.addingTimeInterval(10 * 86_400))
        #expect(removed == [runs[0].id, runs[2].id])
        #expect(try area.runIDs() == [runs[1].id, runs[3].id])
    }

    @Test func anUnreadableRunFileIsReportedNotIgnored() throws {
        let run = try newRun()
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: run.path + "/run.json"))
        #expect(throws: ETLError.self) { _ = try area.openRun(run.id) }
    }

    private func marker(for run: RunFolder, stage: StageName = .extract, outputs: [StageOutput]) -> StageMarker {
        StageMarker(
            stage: stage, run: run.id.text, startedAt: Date(), finishedAt: Date(), outputs: outputs, counts: [:])
    }

    private func mode(of path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as! NSNumber).intValue & 0o777
    }
}
