import Config
import Core
import Foundation
import PGP
import SFTP
import Staging
import Warehouse

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
    static func check(_ workflow: WorkflowConfig, _ settings: ImportEventsConfig, in environment: WorkflowEnvironment)
        throws -> [String]
    {
        var lines: [String] = []
        let session = try connector(settings, environment).connect()
        lines.append(
            "sftp \(settings.sftp.host):\(settings.sftp.port): host key \(session.presentedFingerprint) verified, "
                + "logged in as \(settings.sftp.username)")
        let listing = try session.list(directory: settings.remoteDir)
        let selector = RemoteFileSelector(pattern: settings.pattern, readySuffix: settings.readySuffix)
        let matching = listing.filter { selector.pattern.matches($0.name) }.count
        lines.append("sftp \(settings.remoteDir): \(listing.count) entries, \(matching) match '\(settings.pattern)'")
        if let keyFile = settings.sftp.pgpPrivateKeyFile {
            let decryptor = try PGPKeyCheck.load(
                keyFile: keyFile, passphrase: try settings.sftp.pgpPassphrase.map(environment.secret),
                allowNoMDC: settings.sftp.allowNoMDC, home: environment.statePath(of: workflow) + "/gnupg",
                logger: environment.logger)
            lines.append("pgp key \(keyFile): \(decryptor) ready")
        }
        _ = try makeSink(settings.sink, apiKey: nil, logger: environment.logger)
        lines.append("sink: \(settings.sink) reachable")
        return lines
    }
}

/// Loads the PGP key as decrypt would, for `check`; returns the fingerprints it found.
enum PGPKeyCheck {
    static func load(keyFile: String, passphrase: String?, allowNoMDC: Bool, home: String, logger: Logger) throws
        -> String
    {
        let decryptor = try PGPDecryptor(
            homeDirectory: home, privateKeyFile: keyFile, passphrase: passphrase, allowNoMDC: allowNoMDC,
            logger: logger)
        defer { decryptor.stopAgent() }
        return decryptor.configuredFingerprints.joined(separator: ", ")
    }
}
