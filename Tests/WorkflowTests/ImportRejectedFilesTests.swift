import Config
import Core
import Foundation
import Staging
import TestSupport
import Testing
import Warehouse

@testable import Workflows

/// import-events against a real sshd with `after_import = "delete"`: only the files that were imported are
/// deleted on the server; a file rejected as a whole stays there, since `clean` later removes the run's copy.
@Suite(.serialized) struct ImportRejectedFilesTests {
    static let header =
        "EVENT_TYPE_ID,ACCOUNT_ID,LIST_ID,RIID,CUSTOMER_ID,EVENT_CAPTURED_DT,EVENT_STORED_DT,CAMPAIGN_ID,LAUNCH_ID,EMAIL"
    static let row = "1,1234,55501,70000100,c-1,09-Aug-2024 00:00:01,09-Aug-2024 00:00:02,9911,440022,a@example.org"

    let folder: TemporaryFolder
    let server: SSHServer
    let gnupg: GnuPGFixture
    let configured: GnuPGFixture.Key
    let other: GnuPGFixture.Key

    init() throws {
        folder = try TemporaryFolder("import-rejected")
        server = try SSHServer()
        try Files.makeDirectory(folder.file("remote"))
        try Files.makeDirectory(folder.file("keys"))
        let key = try SSHServer.makeKey(type: "ed25519", at: folder.file("keys/id_ed25519"))
        try server.authorize(publicKeyOf: key)
        try server.writeKnownHosts(to: folder.file("keys/known_hosts"))
        gnupg = try GnuPGFixture()
        configured = try gnupg.generateKey(name: "etl", algorithm: "ed25519", passphrase: "pgp pass phrase")
        other = try gnupg.generateKey(name: "other", algorithm: "ed25519", passphrase: nil)
        try FileManager.default.copyItem(atPath: configured.armoredSecretKey, toPath: folder.file("keys/pgp.asc"))
    }

    /// Runs every stage of one run in process; returns its exit status, the run and the log lines.
    private func run(afterImport: String) throws -> (status: Core.ExitStatus, run: RunFolder, log: [String]) {
        let text = Fixtures.importEventsConfig(
            port: server.port, username: server.username, remoteDir: folder.file("remote"),
            readiness: "stable_seconds = 0\nafter_import = \"\(afterImport)\"")
        let config = try ConfigLoader.parse(text: text, path: folder.file("responsys-etl.toml"))
        let workflow = try config.workflow(named: "events")
        let sink = MemoryLogSink()
        let logger = Logger(level: .info, sink: sink)
        let environment = WorkflowEnvironment(
            config: config, environment: ["TEST_PGP_PASSPHRASE": "pgp pass phrase"], logger: logger)
        let stages = try WorkflowCatalog.stages(for: workflow, in: environment)
        let area = WorkflowArea(stagingRoot: config.stagingDir, workflow: "events")
        let lock = try area.lock()
        defer { lock.release() }
        let run = try area.createRun(
            now: Date(), workflowType: "import-events", configDigest: "", stages: stages.map(\.name))
        let status = try StageRunner(area: area, stages: stages, logger: logger).runAll(run)
        return (status, run, sink.lines)
    }

    @Test func deleteRemovesOnlyTheImportedFilesAndKeepsTheRejectedOnes() throws {
        let good = "1234_SENT_20240809_000001.txt"
        let wrongKey = "1234_SENT_20240809_000002.txt.gpg"
        let badHeader = "1234_OPEN_20240809_000001.txt"
        let allRowsRejected = "1234_CLICK_20240809_000001.txt"
        try folder.write("remote/" + good, Self.header + "\n" + Self.row + "\n")
        try folder.write("plain.txt", Self.header + "\n" + Self.row + "\n")
        try gnupg.encrypt(folder.file("plain.txt"), to: folder.file("remote/" + wrongKey), recipients: [other])
        // A header that cannot be read (invalid UTF-8) rejects the file in transform.
        try Data(Array("RIID,E".utf8) + [0xFF] + Array("MAIL\n1,a@example.org\n".utf8)).write(
            to: URL(fileURLWithPath: folder.file("remote/" + badHeader)))
        try folder.write("remote/" + allRowsRejected, Self.header + "\nx," + String(Self.row.dropFirst(2)) + "\n")

        let result = try run(afterImport: "delete")

        #expect(result.status == .finishedWithRejects)
        let remaining = try Files.list(folder.file("remote")).sorted()
        #expect(remaining == [allRowsRejected, badHeader, wrongKey].sorted())
        let load = try #require(try result.run.stage(.load).readMarker())
        #expect(load.counts["after_import_kept"] == 3)
        #expect(load.counts["after_import_failed"] == 0)
        let kept = result.log.filter { $0.contains("the file stays on the server") }
        #expect(kept.count == 3)
        #expect(kept.contains { $0.contains(wrongKey) && $0.contains("not the configured key") })
        #expect(kept.contains { $0.contains(badHeader) && $0.contains("header") })
        #expect(kept.contains { $0.contains(allRowsRejected) && $0.contains("every row") })
        // All of them are in the ledger: the kept copies are what operating.md's fixes start from.
        let ledger = try String(contentsOfFile: folder.file("staging/events/state/ledger.json"), encoding: .utf8)
        for name in [good, wrongKey, badHeader, allRowsRejected] { #expect(ledger.contains(name)) }
    }

    @Test func aFileWithoutItsHeaderIsRejectedWholeAndNothingOfItIsLoaded() throws {
        let good = "1234_OPEN_20240809_000001.txt"
        let headerless = "1234_SENT_20240809_000001.txt"
        try folder.write("remote/" + good, Self.header + "\n\n" + Self.row + "\n")
        let rows = (0..<23).map { Self.row.replacingOccurrences(of: "70000100", with: String(70_000_100 + $0)) }
        try folder.write("remote/" + headerless, rows.joined(separator: "\n") + "\n")

        let result = try run(afterImport: "delete")

        #expect(result.status == .finishedWithRejects)
        let transform = try #require(try result.run.stage(.transform).readMarker())
        #expect(transform.counts["files_rejected"] == 1)
        #expect(transform.counts["events"] == 1)
        #expect(transform.counts["blank_lines"] == 1)
        let rejects = try String(contentsOfFile: result.run.stage(.transform).file("rejects.ndjson"), encoding: .utf8)
        #expect(rejects.contains(headerless) && rejects.contains("no header row with CED columns"))
        let database = try SQLiteDatabase(path: folder.file("data/warehouse.sqlite"))
        #expect(
            try database.query("SELECT count(*), min(source_file) FROM responsys_events")[0] == [
                .integer(1), .text(good),
            ])
        #expect(try Files.list(folder.file("remote")) == [headerless])
    }

    @Test func moveLeavesTheRejectedFileInPlace() throws {
        let good = "1234_SENT_20240809_000001.txt"
        let wrongKey = "1234_SENT_20240809_000002.txt.gpg"
        try folder.write("remote/" + good, Self.header + "\n" + Self.row + "\n")
        try folder.write("plain.txt", Self.header + "\n" + Self.row + "\n")
        try gnupg.encrypt(folder.file("plain.txt"), to: folder.file("remote/" + wrongKey), recipients: [other])

        let result = try run(afterImport: "move:" + folder.file("archive"))

        #expect(result.status == .finishedWithRejects)
        #expect(try Files.list(folder.file("remote")) == [wrongKey])
        #expect(try Files.list(folder.file("archive")) == [good])
    }
}
