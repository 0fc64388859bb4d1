import Config
import Core
import Foundation
import Staging
import TestSupport
import Testing

@testable import Workflows

/// The extract stage against a real sshd: a partial download is never resumed onto another version.
@Suite struct ExtractResumeTests {
    @Test func aFileReplacedOnTheServerIsDownloadedAgainNotJoined() throws {
        let folder = try TemporaryFolder("extract-resume")
        let server = try SSHServer()
        try Files.makeDirectory(folder.file("keys"))
        try Files.makeDirectory(folder.file("remote"))
        let key = try SSHServer.makeKey(type: "ed25519", at: folder.file("keys/id"))
        try server.authorize(publicKeyOf: key)
        try server.writeKnownHosts(to: folder.file("keys/known_hosts"))

        let name = "1234_SENT_20261204_100000.txt"
        let first = String(repeating: "a", count: 100_000)
        let second = String(repeating: "b", count: 100_000)
        try folder.write("remote/\(name)", first)
        let picked = try FileManager.default.attributesOfItem(atPath: folder.file("remote/\(name)"))
        let pickedMtime = Int64((picked[.modificationDate] as! Date).timeIntervalSince1970)

        let config = try ConfigLoader.parse(
            text: """
                [auth.files]
                type = "sftp"
                host = "127.0.0.1"
                port = \(server.port)
                username = "\(server.username)"
                private_key_file = "keys/id"
                known_hosts_file = "keys/known_hosts"

                [workflows.events]
                type = "import-events"
                auth = "files"
                remote_dir = "\(folder.file("remote"))"
                stable_seconds = 0
                """, path: folder.file("responsys-etl.toml"))
        let workflow = try config.workflow(named: "events")
        let environment = WorkflowEnvironment(config: config, environment: [:], logger: .silent)
        let stages = try WorkflowCatalog.stages(for: workflow, in: environment)
        let area = WorkflowArea(stagingRoot: config.stagingDir, workflow: "events")
        let lock = try area.lock()
        defer { lock.release() }
        let run = try area.createRun(now: Date(), workflowType: "import-events", configDigest: "", stages: [.extract])

        // A crash left the first version picked and half downloaded; then the server got a new version.
        let extract = run.stage(.extract)
        try extract.prepare()
        let selection = ExtractSelection(
            files: [.init(name: name, size: 100_000, mtime: pickedMtime)], skippedImported: 0, skippedNotReady: 0)
        try Files.writeAtomically(try JSONEncoder().encode(selection), to: extract.file(ExtractStage.selectionName))
        try Files.writeAtomically(Data(first.prefix(40_000).utf8), to: extract.file(name + ".part"))
        try folder.write("remote/\(name)", second)
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: Double(pickedMtime + 60))],
            ofItemAtPath: folder.file("remote/\(name)"))

        _ = try StageRunner(area: area, stages: [stages[0]], logger: .silent).runOne(
            .extract, of: run, force: false, options: StageOptions())
        #expect(try String(contentsOfFile: extract.file(name), encoding: .utf8) == second)
        #expect(try extract.finishedItem(name)?.notes["remote_mtime"] == String(pickedMtime + 60))
    }
}
