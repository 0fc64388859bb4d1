import Core
import Foundation
import TestSupport
import Testing
import Warehouse
import Workflows

/// import-events end to end: the built executable against a real sshd on 127.0.0.1, files made by the
/// demo's generator, one zipped, one a PGP-encrypted zip, one with BOM and CRLF, one with bad rows, one
/// still being written; events land in a real SQLite file.
@Suite(.serialized) struct ImportEventsEndToEndTests {
    let folder: TemporaryFolder
    let server: SSHServer
    let remote: String
    let gnupg: GnuPGFixture
    let written: SampleData.Written
    let pgpFingerprint: String

    init() throws {
        folder = try TemporaryFolder("import-e2e")
        server = try SSHServer()
        remote = folder.file("remote/download")
        try Files.makeDirectory(remote)
        try Files.makeDirectory(folder.file("keys"))
        let key = try SSHServer.makeKey(type: "ed25519", at: folder.file("keys/id_ed25519"))
        try server.authorize(publicKeyOf: key)
        try server.writeKnownHosts(to: folder.file("keys/known_hosts"), hashed: true)

        gnupg = try GnuPGFixture()
        let pgpKey = try gnupg.generateKey(name: "etl", algorithm: "ed25519", passphrase: "pgp pass phrase")
        pgpFingerprint = pgpKey.fingerprint
        try FileManager.default.copyItem(atPath: pgpKey.armoredSecretKey, toPath: folder.file("keys/pgp.asc"))

        let generated = folder.file("generated")
        written = try SampleData(folder: generated, now: Date()).write()
        for name in written.files where name.hasSuffix(".txt") {
            let source = generated + "/" + name
            if name.contains("_OPEN_") {
                try Self.zip(source, to: remote + "/" + name + ".zip", member: name)
                try Data().write(to: URL(fileURLWithPath: remote + "/" + name + ".zip.ready"))
            } else if name.contains("_CLICK_") && !name.contains("_SMS_") {
                try Self.zip(source, to: folder.file(name + ".zip"), member: name)
                try gnupg.encrypt(folder.file(name + ".zip"), to: remote + "/" + name + ".gpg", recipients: [pgpKey])
                try Data().write(to: URL(fileURLWithPath: remote + "/" + name + ".gpg.ready"))
            } else {
                try FileManager.default.copyItem(atPath: source, toPath: remote + "/" + name)
                // The SMS file is "still being written": no ready file yet.
                if !name.contains("_SMS_") {
                    try Data().write(to: URL(fileURLWithPath: remote + "/" + name + ".ready"))
                }
            }
        }
        // A file that claims to be PGP but is not: rejected alone, the others still imported.
        try folder.write("remote/download/1234_SENT_20261201_000000.txt.gpg", "not a PGP message\n")
        try folder.write("remote/download/1234_SENT_20261201_000000.txt.gpg.ready", "")
        try folder.write("responsys-etl.toml", config())
    }

    private func config(readySuffix: String = "ready_suffix = \".ready\"") -> String {
        Fixtures.importEventsConfig(
            port: server.port, username: server.username, remoteDir: remote, readiness: readySuffix)
    }

    private func tool(_ arguments: [String], passphrase: String = "pgp pass phrase") throws -> ToolProcess.Result {
        try ToolProcess.run(
            "responsys-etl", arguments, in: folder.path, environment: ["TEST_PGP_PASSPHRASE": passphrase])
    }

    /// Every path under the test folder with its size and modification time.
    private func tree() throws -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: folder.path)
        var paths: [String] = []
        while let path = enumerator?.nextObject() as? String {
            let attributes = try FileManager.default.attributesOfItem(atPath: folder.file(path))
            let size = attributes[.size] as? Int ?? -1
            let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            paths.append("\(path) \(size) \(modified)")
        }
        return paths.sorted()
    }

    /// `check` reaches the server and proves the passphrase, and leaves the folder as it found it: no
    /// warehouse, no staging folder, no GnuPG home.
    @Test func checkChangesNothingAndProvesThePassphrase() throws {
        let before = try tree()
        let result = try tool(["check", "events"])
        #expect(result.status == 0, "exit \(result.status): \(result.stderr)")
        #expect(result.stdout.contains("the passphrase unlocks it"), "\(result.stdout)")
        #expect(result.stdout.contains("does not exist yet"), "\(result.stdout)")
        #expect(try tree() == before)
        #expect(!Files.exists(folder.file("data")) && !Files.exists(folder.file("staging")))

        // With a wrong passphrase check fails as a run would, naming the key and never the passphrases.
        let wrong = try tool(["check", "events"], passphrase: "not the pass phrase")
        #expect(wrong.status == 2, "exit \(wrong.status): \(wrong.stderr)")
        #expect(wrong.stderr.contains("passphrase does not unlock the PGP key"), "\(wrong.stderr)")
        #expect(wrong.stderr.contains(pgpFingerprint), "\(wrong.stderr)")
        #expect(!wrong.stderr.contains("not the pass phrase") && !wrong.stdout.contains("not the pass phrase"))
        #expect(!wrong.stderr.contains("pgp pass phrase"))
        #expect(try tree() == before)

        // An existing warehouse is opened read-only: unchanged by check.
        #expect(try tool(["run", "events"]).status == 3)
        let afterRun = try tree()
        #expect(try tool(["check", "events"]).status == 0)
        #expect(try tree() == afterRun)
    }

    /// `check` of every workflow: the first fails on its passphrase after proving the SFTP lines, which are
    /// still printed; the second is checked anyway; the exit status is the failure's.
    @Test func checkGoesOnAfterAFailingWorkflowAndKeepsWhatItProved() throws {
        // "archive" sorts before "events" and uses a copy of the auth whose passphrase variable is wrong.
        var text = config()
        let auth = try #require(text.range(of: "[auth.files]"))
        let authBlock = text[auth.lowerBound..<(try #require(text.range(of: "[workflows.events]"))).lowerBound]
        text +=
            authBlock.replacingOccurrences(of: "[auth.files]", with: "[auth.wrongpgp]")
            .replacingOccurrences(of: "TEST_PGP_PASSPHRASE", with: "TEST_PGP_WRONG")
            + "[workflows.archive]\ntype = \"import-events\"\nauth = \"wrongpgp\"\nremote_dir = \"\(remote)\"\n"
            + "pattern = \"*.txt*\"\nready_suffix = \".ready\"\n"
            + "sink = { type = \"sqlite\", path = \"data/archive.sqlite\" }\n"
        try folder.write("responsys-etl.toml", text)

        let result = try ToolProcess.run(
            "responsys-etl", ["check"], in: folder.path,
            environment: ["TEST_PGP_PASSPHRASE": "pgp pass phrase", "TEST_PGP_WRONG": "not the pass phrase"])
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(result.status == 2, "exit \(result.status): \(result.stderr)")
        #expect(result.stderr.contains("passphrase does not unlock the PGP key"), "\(result.stderr)")
        #expect(lines.first?.contains("valid (2 workflows)") == true, "\(result.stdout)")
        let archive = lines.filter { $0.hasPrefix("archive: ") }
        #expect(archive.count == 3, "\(result.stdout)")
        #expect(archive.first?.contains("host key") == true && archive.first?.contains("verified") == true)
        #expect(archive.dropFirst().first?.contains("entries") == true, "\(result.stdout)")
        #expect(archive.last?.hasPrefix("archive: failed (exit status 2") == true, "\(result.stdout)")
        #expect(lines.contains { $0.hasPrefix("events: pgp key") && $0.contains("the passphrase unlocks it") })
        #expect(lines.last == "events: ok", "\(result.stdout)")
        #expect(!result.stdout.contains("pass phrase") && !result.stderr.contains("pass phrase"))
    }

    /// SIGTERM while `check` holds the key in its temporary GnuPG home: the home (with the private key) and
    /// its gpg-agent go with the process, as after a normal end.
    @Test func aSignalDuringCheckRemovesTheTemporaryGnuPGHome() throws {
        let temporary = folder.file("tmp")
        try Files.makeDirectory(temporary)
        let tool = try RunningTool(
            "responsys-etl", ["check", "events"], in: folder.path,
            environment: ["TEST_PGP_PASSPHRASE": "pgp pass phrase", "TMPDIR": temporary])
        #expect(tool.waitForStderr(containing: "PGP key ready"))
        #expect(try Files.list(temporary).contains { $0.hasPrefix("retl-check-") })
        Thread.sleep(forTimeInterval: 0.05)
        tool.send(SIGTERM)
        let (exited, status, text) = tool.finish()

        #expect(exited && status == 143, "\(text)")
        #expect(text.contains("stopping on signal"), "\(text)")
        let left = try Files.list(temporary).filter { $0.hasPrefix("retl-check-") }
        #expect(left == [], "left: \(left.map { (try? Files.list(temporary + "/" + $0)) ?? [] })\n\(text)")
        // An agent told to stop takes a moment to go; one that was never told stays.
        var agents = Self.processes(mentioning: temporary)
        for _ in 0..<50 where !agents.isEmpty {
            Thread.sleep(forTimeInterval: 0.1)
            agents = Self.processes(mentioning: temporary)
        }
        for pid in agents { kill(pid, SIGKILL) }
        #expect(agents == [], "processes still using \(temporary)")
    }

    /// The processes whose command line names `path` (a gpg-agent started with `--homedir` below it).
    private static func processes(mentioning path: String) -> [Int32] {
        ((try? Files.list("/proc")) ?? []).compactMap { name in
            guard let pid = Int32(name),
                let line = try? Files.read("/proc/\(name)/cmdline"),
                String(decoding: line, as: UTF8.self).contains(path)
            else { return nil }
            return pid
        }
    }

    private func eventCount() throws -> Int64 {
        let database = try SQLiteDatabase(path: folder.file("data/warehouse.sqlite"))
        guard case .integer(let count) = try database.query("SELECT count(*) FROM responsys_events")[0][0] else {
            return -1
        }
        return count
    }

    @Test func importsEveryReadyFileOnceAndRejectsTheBadRows() throws {
        let first = try tool(["run", "events"])
        #expect(first.status == 3, "exit \(first.status): \(first.stderr)")
        #expect(!first.stderr.contains("pgp pass phrase"))
        #expect(try eventCount() == Int64(written.expectedEvents))

        let database = try SQLiteDatabase(path: folder.file("data/warehouse.sqlite"))
        let types = try database.query("SELECT DISTINCT event_type FROM responsys_events ORDER BY 1").map {
            $0[0].description
        }
        #expect(types == ["BOUNCE", "CLICK", "OPEN", "OPT_OUT", "SENT"])
        let bounce = try database.query(
            "SELECT account_id, channel, riid, event_captured_at, source_line FROM responsys_events "
                + "WHERE event_type = 'BOUNCE' ORDER BY source_line LIMIT 1")[0]
        #expect(bounce[0] == .integer(5678))
        #expect(bounce[1] == .text("EMAIL"))
        #expect(bounce[2] == .integer(Int64(SampleData.users[20].riid)))
        #expect(bounce[3].description.hasSuffix("Z"))
        #expect(bounce[4] == .integer(2))

        // The rejects name the file, the line and the reason.
        let runs = try Files.list(folder.file("staging/events/runs"))
        let run = folder.file("staging/events/runs/" + runs[0])
        let rejects = try String(contentsOfFile: run + "/transform/rejects.ndjson", encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(rejects.count == written.expectedRejects + 1)
        #expect(rejects.first?["file"] as? String == "1234_SENT_20261201_000000.txt.gpg")
        #expect((rejects.first?["reason"] as? String)?.contains("not an OpenPGP message") == true)
        let rows = rejects.dropFirst()
        #expect(rows.allSatisfy { ($0["file"] as? String)?.contains("_OPT_OUT_") == true })
        #expect(rows.compactMap { $0["line"] as? Int }.sorted() == [3, 5])

        // The file still being written was not taken; the others are in the ledger.
        let ledger = try String(contentsOfFile: folder.file("staging/events/state/ledger.json"), encoding: .utf8)
        #expect(!ledger.contains("_SMS_"))
        #expect(ledger.contains(".txt.gpg"))

        // A second run imports nothing new.
        let second = try tool(["run", "events"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("files=0"))
        #expect(try eventCount() == Int64(written.expectedEvents))

        // Re-running transform of the first run from staging changes nothing in the sink.
        let forced = try tool(["stage", "events", "transform", "--run", runs[0], "--force"])
        #expect(forced.status == 3, "\(forced.stderr)")
        let load = try tool(["stage", "events", "load", "--run", runs[0]])
        #expect(load.status == 3, "\(load.stderr)")
        #expect(try eventCount() == Int64(written.expectedEvents))

        let status = try tool(["status", "events", "--json"])
        #expect(status.status == 0)
        #expect(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) is [String: Any])
    }

    @Test func aSecondConcurrentRunExits75() throws {
        // Without ready files the run waits stable_seconds before picking files: time for a second start.
        try folder.write("responsys-etl.toml", config(readySuffix: "stable_seconds = 4"))
        let first = Process()
        first.executableURL = URL(fileURLWithPath: ToolProcess.path(of: "responsys-etl"))
        first.arguments = ["run", "events"]
        first.currentDirectoryURL = URL(fileURLWithPath: folder.path)
        first.environment = ["TEST_PGP_PASSPHRASE": "pgp pass phrase", "PATH": "/usr/bin:/bin"]
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        // Wait until the first run holds the lock (its run folder exists).
        let runs = folder.file("staging/events/runs")
        for _ in 0..<100 where (try? Files.list(runs))?.isEmpty ?? true { Thread.sleep(forTimeInterval: 0.05) }
        let second = try tool(["run", "events"])
        #expect(second.status == 75)
        #expect(second.stderr.contains("another run of workflow 'events' is active"))
        let status = try tool(["status", "events"])
        #expect(status.stdout.contains("active: pid \(first.processIdentifier)"))
        first.waitUntilExit()
        #expect(first.terminationStatus == 3)
    }

    /// A zip of one file, made with Python's zipfile (deflated), as Responsys Connect would send it.
    static func zip(_ source: String, to target: String, member: String) throws {
        let script =
            "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as z:\n"
            + "    z.write(sys.argv[1], sys.argv[3])\n"
        _ = try SSHServer.runTool("/usr/bin/python3", ["-c", script, source, target, member])
    }
}
