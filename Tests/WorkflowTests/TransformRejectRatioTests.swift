import Config
import Core
import Foundation
import Staging
import TestSupport
import Testing

@testable import Workflows

/// import-events' transform over `max_reject_ratio`: the error says which run's rejects to read and the exact
/// command that redoes the stage.
@Suite struct TransformRejectRatioTests {
    @Test func tooManyRejectsNameTheWorkflowRunAndRejectsFolder() throws {
        let folder = try TemporaryFolder("reject-ratio")
        let config = try ConfigLoader.parse(
            text: """
                [auth.files]
                type = "sftp"
                host = "127.0.0.1"
                username = "etl"
                private_key_file = "keys/id"
                host_key_sha256 = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"

                [workflows.clicks]
                type = "import-events"
                auth = "files"
                remote_dir = "/download"
                max_reject_ratio = 0.25
                """, path: folder.file("responsys-etl.toml"))
        let workflow = try config.workflow(named: "clicks")
        let environment = WorkflowEnvironment(config: config, environment: [:], logger: .silent)
        let stages = try WorkflowCatalog.stages(for: workflow, in: environment).filter {
            $0.name == .decrypt || $0.name == .transform
        }
        let area = WorkflowArea(stagingRoot: config.stagingDir, workflow: "clicks")
        let lock = try area.lock()
        defer { lock.release() }
        let run = try area.createRun(
            now: Date(), workflowType: "import-events", configDigest: "", stages: [.decrypt, .transform])

        // A finished decrypt stage holding one plain file: one good row, one with a broken date.
        let decrypt = run.stage(.decrypt)
        try decrypt.prepare()
        let name = "1234_CLICK_20261204_100000.txt"
        try Files.writeAtomically(
            Data("RIID,EVENT_CAPTURED_DT\n1,07-Mar-2024 14:05:09\n2,not a date\n".utf8), to: decrypt.file(name))
        try decrypt.writeMarker(
            StageMarker(
                stage: .decrypt, run: run.id.text, startedAt: Date(), finishedAt: Date(),
                outputs: [try decrypt.describe(name)], counts: [:]))

        let error = try #require(throws: ETLError.self) {
            try StageRunner(area: area, stages: stages, logger: .silent).runOne(
                .transform, of: run, force: false, options: StageOptions())
        }
        #expect(error.code == .failed)
        let remedy = try #require(error.remedy)
        let gathered = run.stage(.transform).file("rejects.ndjson")
        #expect(remedy.contains("read \(gathered) "), "\(remedy)")
        #expect(remedy.contains("`responsys-etl stage clicks transform --run \(run.id.text) --force`"), "\(remedy)")
        #expect(!remedy.contains("WORKFLOW"))
        // The file the remedy names holds the rejected row, with its line.
        let rejected = String(decoding: try Files.read(gathered), as: UTF8.self)
        #expect(rejected.contains("\"line\":3"), "\(rejected)")
    }
}
