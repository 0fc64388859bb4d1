import Config
import Core
import Foundation
import SFTP
import Staging

/// import-events, stage 1: picks the remote files to import and downloads each into `extract/`.
///
/// The pick is written to `selection.json` before any download, so a resumed stage finishes the same
/// set of files instead of picking again from a folder that may have changed.
struct ExtractStage: Stage {
    let name = StageName.extract
    let settings: ImportEventsConfig
    let connector: SFTPConnector
    let ledger: ImportLedger

    static let selectionName = "selection.json"

    func run(_ context: StageContext) throws -> StageResult {
        let log = context.logger
        var session: SFTPSession?
        func connected() throws -> SFTPSession {
            if let session { return session }
            let opened = try connector.connect()
            session = opened
            return opened
        }

        var selection = try loadOrPickSelection(context, session: connected)
        var outputs: [StageOutput] = []
        var bytes: Int64 = 0
        let progress = Progress(
            label: "downloading", unit: .bytes, total: selection.files.reduce(0) { $0 + $1.size })
        defer { progress.finish() }
        for (index, picked) in selection.files.enumerated() {
            if let done = try context.folder.finishedItem(picked.name) {
                outputs += done.outputs
                progress.advance(by: picked.size)
                continue
            }
            let remotePath = SFTPSession.join(settings.remoteDir, picked.name)
            // A partial download belongs to the version of the file that was picked. If the server now holds
            // another version, resuming would join the two: start that file over and import the new version.
            let current = try connected().stat(path: remotePath)
            if current.size != picked.size || current.mtime != picked.mtime {
                log.warn(
                    "remote file changed since it was picked; downloading it again from the start",
                    [
                        "file": picked.name, "size": "\(picked.size)->\(current.size)",
                        "mtime": "\(picked.mtime)->\(current.mtime)",
                    ])
                try Files.remove(context.folder.file(picked.name) + ".part")
                try Files.remove(context.folder.file(picked.name) + ".part.ranges")
                selection.files[index] = ExtractSelection.File(
                    name: picked.name, size: current.size, mtime: current.mtime)
                try writeSelection(selection, in: context.folder)
            }
            let file = selection.files[index]
            // A large file is read in two ranges over two connections (libssh2 is CPU-bound on one core).
            let connector = connector
            let result = try connected().download(
                remotePath: remotePath, to: context.folder.file(file.name), expectedSize: file.size,
                parallel: ParallelDownload { try connector.connect() }
            ) { _, _ in }
            progress.advance(by: result.bytes - result.resumedFrom)
            let output = StageOutput(name: file.name, size: result.bytes, sha256: result.sha256, source: remotePath)
            try context.folder.recordItem(
                ItemRecord(
                    key: file.name, outputs: [output], counts: ["bytes": Int(result.bytes)],
                    notes: ["remote_mtime": String(file.mtime), "resumed_from": String(result.resumedFrom)]))
            log.info("downloaded", ["file": file.name, "bytes": result.bytes, "resumed_from": result.resumedFrom])
            bytes += result.bytes
            outputs.append(output)
        }
        let selectionOutput = try context.folder.describe(ExtractStage.selectionName)
        return StageResult(
            outputs: outputs + [selectionOutput],
            counts: [
                "files": selection.files.count, "bytes": Int(outputs.reduce(0) { $0 + $1.size }),
                "skipped_imported": selection.skippedImported, "skipped_not_ready": selection.skippedNotReady,
            ])
    }

    /// The files this run imports: from `selection.json` when the stage already picked them.
    private func loadOrPickSelection(_ context: StageContext, session: () throws -> SFTPSession) throws
        -> ExtractSelection
    {
        let path = context.folder.file(ExtractStage.selectionName)
        if Files.exists(path) {
            return try JSONDecoder().decode(ExtractSelection.self, from: try Files.read(path))
        }
        let selector = RemoteFileSelector(pattern: settings.pattern, readySuffix: settings.readySuffix)
        let connection = try session()
        var earlier: [RemoteEntry]?
        if selector.needsEarlierListing {
            // Without a ready file, a file is taken only when it did not change over stable_seconds.
            earlier = try connection.list(directory: settings.remoteDir)
            context.logger.info(
                "waiting to see which files are still being written", ["seconds": settings.stableSeconds])
            Thread.sleep(forTimeInterval: Double(settings.stableSeconds))
        }
        let listing = try connection.list(directory: settings.remoteDir)
        let picked = selector.select(listing, earlier: earlier, ledger: try ledger.entries())
        for skipped in picked.skipped where skipped.reason != .alreadyImported {
            context.logger.info("not taken", ["file": skipped.entry.name, "reason": skipped.reason.rawValue])
        }
        let selection = ExtractSelection(
            files: try picked.taken.map { entry in
                guard LocalName.isSafe(entry.name) else {
                    throw ETLError(
                        .failed, "remote file name \(entry.name.debugDescription) cannot be stored safely",
                        remedy: "rename it on the server or narrow `pattern`")
                }
                return ExtractSelection.File(name: entry.name, size: entry.size, mtime: entry.mtime)
            },
            skippedImported: picked.skipped.filter { $0.reason == .alreadyImported }.count,
            skippedNotReady: picked.skipped.filter { $0.reason != .alreadyImported }.count)
        try writeSelection(selection, in: context.folder)
        context.logger.info("files picked", ["files": selection.files.count, "listed": listing.count])
        return selection
    }
}

private func writeSelection(_ selection: ExtractSelection, in folder: StageFolder) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let writer = try folder.createOutput(ExtractStage.selectionName)
    try writer.write(try encoder.encode(selection))
    try writer.commit()
}

/// `extract/selection.json`: the remote files a run imports, fixed when first picked (a file that changes
/// on the server before its download finishes is updated to the version actually downloaded).
struct ExtractSelection: Codable {
    struct File: Codable {
        var name: String
        var size: Int64
        var mtime: Int64
    }
    var files: [File]
    var skippedImported: Int
    var skippedNotReady: Int
}

/// Remote names become local file names; only plain names that cannot escape the folder are accepted.
enum LocalName {
    static func isSafe(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("/") && !name.contains("\0") && name != "." && name != ".."
            && !name.hasPrefix(".") && !name.hasPrefix("_") && !name.hasSuffix(".part")
            && !name.hasSuffix(".part.ranges")
    }
}
