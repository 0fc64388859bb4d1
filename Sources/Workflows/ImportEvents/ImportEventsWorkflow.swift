import Config
import Core
import Foundation
import PGP
import SFTP
import Staging
import Warehouse

#if canImport(Glibc)
    import Glibc
#endif

/// import-events: extract (SFTP) → decrypt (PGP, archives) → transform (CSV → NDJSON) → load (sink).
enum ImportEventsWorkflow {
    static func stages(_ workflow: WorkflowConfig, _ settings: ImportEventsConfig, in environment: WorkflowEnvironment)
        throws -> [any Stage]
    {
        let state = environment.statePath(of: workflow)
        let connector = try connector(settings, environment)
        let ledger = ImportLedger(statePath: state)
        let pgpPassphrase = try settings.sftp.pgpPassphrase.map(environment.secret)
        let sinkLogger = environment.logger
        let sink = settings.sink
        let apiKey = try { () throws -> String? in
            if case .http(let http) = sink { return try environment.secret(http.apiKey) }
            return nil
        }()
        return [
            ExtractStage(settings: settings, connector: connector, ledger: ledger),
            DecryptStage(settings: settings, pgpPassphrase: pgpPassphrase, gnupgHome: state + "/gnupg"),
            TransformStage(settings: settings),
            LoadStage(
                settings: settings, makeSink: { try makeSink(sink, apiKey: apiKey, logger: sinkLogger) },
                connector: connector, ledger: ledger),
        ]
    }

    static func connector(_ settings: ImportEventsConfig, _ environment: WorkflowEnvironment) throws -> SFTPConnector {
        SFTPConnector(
            settings: settings.sftp, passphrase: try settings.sftp.privateKeyPassphrase.map(environment.secret),
            logger: environment.logger)
    }

    static func makeSink(_ sink: SinkConfig, apiKey: String?, logger: Logger) throws -> any EventSink {
        switch sink {
        case .sqlite(let path):
            try Files.makeDirectory((path as NSString).deletingLastPathComponent)
            return try SQLiteEventSink(database: SQLiteDatabase(path: path))
        case .ndjson(let dir):
            return try NDJSONFolderSink(folder: dir)
        case .http(let http):
            return try HTTPEventSink(settings: http, apiKey: apiKey ?? "", logger: logger)
        }
    }

    /// `check`: connects, verifies the host key, authenticates, lists the folder, loads the PGP key.
    static func check(
        _ workflow: WorkflowConfig, _ settings: ImportEventsConfig, in environment: WorkflowEnvironment,
        report: (String) -> Void
    ) throws {
        let session = try connector(settings, environment).connect()
        report(
            "sftp \(settings.sftp.host):\(settings.sftp.port): host key \(session.presentedFingerprint) verified, "
                + "logged in as \(settings.sftp.username)")
        let listing = try session.list(directory: settings.remoteDir)
        let selector = RemoteFileSelector(pattern: settings.pattern, readySuffix: settings.readySuffix)
        let matching = listing.filter { selector.pattern.matches($0.name) }.count
        report("sftp \(settings.remoteDir): \(listing.count) entries, \(matching) match '\(settings.pattern)'")
        if let keyFile = settings.sftp.pgpPrivateKeyFile {
            let decryptor = try PGPKeyCheck.load(
                keyFile: keyFile, passphrase: try settings.sftp.pgpPassphrase.map(environment.secret),
                allowNoMDC: settings.sftp.allowNoMDC, logger: environment.logger)
            report("pgp key \(keyFile): \(decryptor) ready, the passphrase unlocks it")
        }
        report("sink: " + (try SinkCheck.check(settings.sink)))
    }
}

/// Loads the PGP key as decrypt would, for `check`, in a temporary GnuPG home removed afterwards (the
/// workflow's own home is left as it is), and decrypts a message made for it there, so a wrong passphrase
/// shows now. Returns the fingerprints it found.
enum PGPKeyCheck {
    static func load(keyFile: String, passphrase: String?, allowNoMDC: Bool, logger: Logger) throws -> String {
        var template = Array(
            (NSTemporaryDirectory() as NSString).appendingPathComponent("retl-check-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else {
            throw ETLError(
                .io, "cannot create a temporary GnuPG home in \(NSTemporaryDirectory())",
                underlying: systemErrorText(errno))
        }
        let home = String(cString: created)
        // The agent goes too, also when the key did not load. A signal ends the process without running this
        // defer, so the signal thread runs the same cleanup (twice is harmless).
        let removeHome: @Sendable () -> Void = {
            try? PGPDecryptor.stopAgent(homeDirectory: home)
            // From the signal thread, gpg may still be at work in the home: a file that comes or goes during
            // the removal makes it fail, so it is tried again.
            for _ in 0..<50 where Files.exists(home) {
                if (try? Files.remove(home)) == nil { usleep(10_000) }
            }
        }
        let registration = ExitCleanup.register(removeHome)
        defer {
            removeHome()
            ExitCleanup.unregister(registration)
        }
        let decryptor = try PGPDecryptor(
            homeDirectory: home, privateKeyFile: keyFile, passphrase: passphrase, allowNoMDC: allowNoMDC,
            logger: logger)
        try decryptor.verifyPassphrase()
        return decryptor.configuredFingerprints.joined(separator: ", ")
    }
}

/// What `check` can say about a sink without creating or changing anything.
enum SinkCheck {
    static func check(_ sink: SinkConfig) throws -> String {
        switch sink {
        case .sqlite(let path):
            if Files.exists(path) {
                // Not opened: even a read-only open may leave -wal/-shm files behind. The header and the
                // permissions say enough.
                let handle = try? FileHandle(forReadingFrom: URL(fileURLWithPath: path))
                let header = try? handle?.read(upToCount: 16)
                try? handle?.close()
                guard header == Data("SQLite format 3\0".utf8), access(path, R_OK | W_OK) == 0 else {
                    throw ETLError(
                        .config, "the sink \(path) is not an SQLite database this user can read and write",
                        remedy: "point sink.path at the warehouse file, or at a new file the first run will create")
                }
                return "sqlite \(path): an SQLite database, writable"
            }
            return "sqlite \(path): " + (try creatable(path))
        case .ndjson(let dir):
            return "ndjson \(dir): " + (Files.isDirectory(dir) ? try writable(dir) : try creatable(dir))
        case .http(let http):
            return "\(http.url): not contacted by check"
        }
    }

    /// A file or folder that does not exist yet: the nearest existing folder above it must be writable.
    private static func creatable(_ path: String) throws -> String {
        var parent = (path as NSString).deletingLastPathComponent
        while !parent.isEmpty && !Files.exists(parent) { parent = (parent as NSString).deletingLastPathComponent }
        let existing = parent.isEmpty ? "." : parent
        _ = try writable(existing)
        return "does not exist yet; the first run creates it in \(existing)"
    }

    private static func writable(_ folder: String) throws -> String {
        guard Files.isDirectory(folder), access(folder, W_OK | X_OK) == 0 else {
            throw ETLError(
                .config, "the sink folder \(folder) is not a writable folder",
                underlying: Files.isDirectory(folder) ? systemErrorText(errno) : nil,
                remedy: "create it, or give the user running responsys-etl write access to it")
        }
        return "writable"
    }
}
