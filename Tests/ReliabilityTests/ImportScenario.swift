import Core
import Foundation
import TestSupport
import Warehouse

/// The world of an import-events reliability scenario: a real sshd on 127.0.0.1 serving a folder of event
/// files (one zipped, one PGP-encrypted, the rest plain, each with its ready file), real GnuPG and SSH keys,
/// a config for the workflow `events` with a SQLite sink, and the checks a finished import must pass.
final class ImportScenario {
    let folder: TemporaryFolder
    let server: SSHServer
    let gnupg: GnuPGFixture
    let remote: String
    private let pgpKey: GnuPGFixture.Key
    /// Every file put on the server so far.
    private(set) var files = EventFiles()
    /// Remote names (what the ledger must hold), each derived from one plain file.
    private(set) var remoteNames: [String] = []
    static let passphrase = "reliability pgp phrase"
    var environment: [String: String] { ["TEST_PGP_PASSPHRASE": Self.passphrase] }
    var runsPath: String { folder.file("staging/events/runs") }
    var databasePath: String { folder.file("data/warehouse.sqlite") }

    /// Makes `count` files of `rows(index)` rows, a quarter zipped and a quarter PGP-encrypted.
    init(label: String, count: Int, rows: (Int) -> Int, padding: Int = 0) throws {
        folder = try TemporaryFolder(label)
        server = try SSHServer()
        remote = folder.file("remote/download")
        try Files.makeDirectory(remote)
        try Files.makeDirectory(folder.file("keys"))
        let key = try SSHServer.makeKey(type: "ed25519", at: folder.file("keys/id_ed25519"))
        try server.authorize(publicKeyOf: key)
        try server.writeKnownHosts(to: folder.file("keys/known_hosts"))

        gnupg = try GnuPGFixture()
        let pgpKey = try gnupg.generateKey(name: "reliability", algorithm: "ed25519", passphrase: Self.passphrase)
        try FileManager.default.copyItem(atPath: pgpKey.armoredSecretKey, toPath: folder.file("keys/pgp.asc"))
        // The tool starts its own gpg-agent in its state folder; a SIGKILLed run leaves it behind.
        GnuPGFixture.trackHome(folder.file("staging/events/state/gnupg"))

        self.pgpKey = pgpKey
        try addFiles(count: count, rows: rows, padding: padding)
        _ = try folder.write("responsys-etl.toml", config())
    }

    private func config() -> String {
        Fixtures.importEventsConfig(
            port: server.port, username: server.username, remoteDir: remote, readiness: "ready_suffix = \".ready\"")
    }

    /// Starts `responsys-etl run events`; the logs go to `logs/<label>.out|.err`.
    func start(_ label: String) throws -> ToolRun {
        try Files.makeDirectory(folder.file("logs"))
        return try ToolRun(
            ["run", "events"], in: folder.path, environment: environment, logs: folder.file("logs/" + label))
    }

    /// Puts `count` more files on the server (the next hour's export); of every 4, the second is zipped and
    /// the third PGP-encrypted, so decrypt has real work to be killed in.
    func addFiles(count: Int, rows: (Int) -> Int, padding: Int = 0) throws {
        let generated = folder.file("generated")
        let first = files.files.count
        let written = try EventFiles.write(count: count, from: first, rows: rows, padding: padding, into: generated)
        for (offset, file) in written.files.enumerated() {
            let source = generated + "/" + file.name
            let remoteName: String
            switch (first + offset) % 4 {
            case 1:
                remoteName = file.name + ".zip"
                try Self.zip(source, to: remote + "/" + remoteName, member: file.name)
            case 2:
                remoteName = file.name + ".gpg"
                try gnupg.encrypt(source, to: remote + "/" + remoteName, recipients: [pgpKey])
            default:
                remoteName = file.name
                try FileManager.default.copyItem(atPath: source, toPath: remote + "/" + remoteName)
            }
            try Data().write(to: URL(fileURLWithPath: remote + "/" + remoteName + ".ready"))
            remoteNames.append(remoteName)
        }
        files.files += written.files
    }

    // MARK: - Checks

    /// What differs from a complete, exact import; empty when the import is right.
    func problems() throws -> [String] {
        var problems: [String] = []

        // 1. The events: each expected (source_file, source_line) exactly once, nothing else.
        let database = try SQLiteDatabase(path: databasePath)
        let totals = try database.query("SELECT count(*), count(DISTINCT event_id) FROM responsys_events")[0]
        let expected = Int64(files.expectedEvents)
        if totals[0] != .integer(expected) || totals[1] != .integer(expected) {
            problems.append("events: count \(totals[0]), distinct ids \(totals[1]), expected \(expected)")
        }
        // Per file: as many rows as distinct lines, all within 2...rows+1, so exactly the expected lines.
        let perFile = try database.query(
            """
            SELECT source_file, count(*), count(DISTINCT source_line), min(source_line), max(source_line)
            FROM responsys_events GROUP BY source_file ORDER BY source_file
            """)
        var seen: [String: [SQLiteValue]] = [:]
        for row in perFile { seen[row[0].description] = Array(row.dropFirst()) }
        for file in files.files {
            let want: [SQLiteValue] = [
                .integer(Int64(file.rows)), .integer(Int64(file.rows)), .integer(2), .integer(Int64(file.rows + 1)),
            ]
            if seen.removeValue(forKey: file.name) != want {
                problems.append("events of \(file.name): \(seen[file.name] ?? []) (count, lines, min, max)")
            }
        }
        if !seen.isEmpty { problems.append("events from unexpected files: \(seen.keys.sorted())") }

        // 2. The ledger: every remote file once, nothing else.
        let ledgerData = try Files.read(folder.file("staging/events/state/ledger.json"))
        let ledger = (try JSONSerialization.jsonObject(with: ledgerData) as? [[String: Any]]) ?? []
        let ledgerNames = ledger.compactMap { $0["name"] as? String }
        if ledgerNames.sorted() != remoteNames.sorted() {
            problems.append("ledger holds \(ledgerNames.sorted()), expected \(remoteNames.sorted())")
        }

        // 3. No temporary or partial file was ever listed as an output of a stage.
        for output in try markerOutputs() where Self.isTemporary(output) {
            problems.append("a stage marker lists the temporary file \(output)")
        }
        return problems
    }

    /// Every output name listed by any `_DONE` marker or item record of any run.
    func markerOutputs() throws -> [String] {
        var names: [String] = []
        for run in (try? Files.list(runsPath)) ?? [] {
            for stage in ["extract", "decrypt", "transform", "load"] {
                let stageFolder = runsPath + "/" + run + "/" + stage
                var records = [stageFolder + "/_DONE"]
                records += ((try? Files.list(stageFolder + "/_items")) ?? []).map { stageFolder + "/_items/" + $0 }
                for path in records where Files.exists(path) {
                    guard let object = try JSONSerialization.jsonObject(with: try Files.read(path)) as? [String: Any]
                    else { continue }
                    for output in object["outputs"] as? [[String: Any]] ?? [] {
                        if let name = output["name"] as? String { names.append(name) }
                    }
                }
            }
        }
        return names
    }

    static func isTemporary(_ name: String) -> Bool {
        name.contains(".tmp-") || name.hasSuffix(".part") || name.hasPrefix(".")
    }

    /// A zip of one file, made with Python's zipfile (deflated), as Responsys Connect would send it.
    static func zip(_ source: String, to target: String, member: String) throws {
        let script =
            "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as z:\n"
            + "    z.write(sys.argv[1], sys.argv[3])\n"
        _ = try SSHServer.runTool("/usr/bin/python3", ["-c", script, source, target, member])
    }
}
