import Config
import Core
import Foundation
import SFTP
import Staging
import Warehouse

/// import-events, stage 4: loads every NDJSON file into the sink (idempotently), then records the remote
/// files in the ledger, then applies `after_import` on the server to the files that were imported. The ledger
/// is written only after the sink holds every event, so a crash before it makes the next run load the same
/// files again, which the sink absorbs without duplicates. A file rejected as a whole is never deleted or
/// moved: the server keeps the one copy that survives `clean`.
struct LoadStage: Stage {
    let name = StageName.load
    let settings: ImportEventsConfig
    let makeSink: @Sendable () throws -> any EventSink
    let connector: SFTPConnector
    let ledger: ImportLedger

    func run(_ context: StageContext) throws -> StageResult {
        guard let transform = context.input, let transformed = try transform.readMarker() else {
            preconditionFailure("the runner starts load only after transform finished")
        }
        let extract = context.run.stage(.extract)
        guard let downloaded = try extract.readMarker() else {
            throw ETLError(.corruptStaging, "the extract marker of run \(context.run.id) is missing")
        }

        // 1. Events into the sink, file by file.
        var counts = ["inserted": 0, "already_present": 0, "files": 0]
        var sink: (any EventSink)?
        for file in transformed.outputs where Self.isEvents(file.name) {
            let key = "load:" + file.name
            if let done = try context.folder.finishedItem(key) {
                counts.merge(done.counts, uniquingKeysWith: +)
                continue
            }
            if sink == nil { sink = try makeSink() }
            let source = ((file.source ?? file.name) as NSString).lastPathComponent
            let loaded = try sink!.load(ndjsonFile: transform.file(file.name), sourceName: source)
            let itemCounts = ["inserted": loaded.inserted, "already_present": loaded.alreadyPresent, "files": 1]
            try context.folder.recordItem(ItemRecord(key: key, outputs: [], counts: itemCounts))
            context.logger.info(
                "loaded", ["file": file.name, "inserted": loaded.inserted, "already_present": loaded.alreadyPresent])
            counts.merge(itemCounts, uniquingKeysWith: +)
        }

        // 2. The ledger: these remote files are imported.
        let items = try extract.items()
        let importedAt = Timestamp.iso8601(Date())
        try ledger.add(
            items.compactMap { item in
                guard let output = item.outputs.first, let mtime = item.notes["remote_mtime"].flatMap(Int64.init)
                else { return nil }
                return LedgerEntry(
                    name: item.key, size: output.size, mtime: mtime, importedAt: importedAt,
                    runID: context.run.id.text)
            })

        // 3. after_import on the server, once per imported file.
        let outcome = try applyAfterImport(to: downloaded, context: context)
        counts["after_import_failed"] = outcome.failed
        counts["after_import_kept"] = outcome.kept

        // A receipt of what the sink answered, the one output of this stage.
        let receipt = try context.folder.createOutput("receipt.json")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try receipt.write(try encoder.encode(counts))
        return StageResult(outputs: [try context.folder.publish(receipt)], counts: counts)
    }

    static func isEvents(_ name: String) -> Bool {
        name.hasSuffix(TransformStage.eventsSuffix) && !name.hasSuffix(TransformStage.fileRejectsSuffix)
            && name != TransformStage.rejectsName
    }

    /// Returns how many files the action failed for, and how many it left alone because they were not
    /// imported. Failures are logged, not fatal: their events are stored and the ledger keeps them from being
    /// imported twice.
    private func applyAfterImport(to downloaded: StageMarker, context: StageContext) throws -> (
        failed: Int, kept: Int
    ) {
        let action: AfterImportAction
        switch settings.afterImport {
        case .keep: return (0, 0)
        case .delete: action = .delete
        case .move(let folder): action = .move(toDirectory: folder)
        }
        let files = downloaded.outputs.map(\.name).filter { $0 != ExtractStage.selectionName }
        let rejected = try rejectedDownloads(files, context: context)
        var failures = 0
        var kept = 0
        var session: SFTPSession?
        for file in files {
            if let reason = rejected[file] {
                kept += 1
                context.logger.warn(
                    "file not imported; after_import skipped, the file stays on the server",
                    ["file": file, "action": "\(action)", "reason": reason])
                continue
            }
            let key = "after_import:" + file
            if try context.folder.finishedItem(key) != nil { continue }
            do {
                if session == nil { session = try connector.connect() }
                try action.apply(to: SFTPSession.join(settings.remoteDir, file), session: session!)
                try context.folder.recordItem(ItemRecord(key: key, outputs: [], notes: ["action": "\(action)"]))
            } catch let error as DiagnosedError {
                failures += 1
                context.logger.warn(
                    "after_import failed; the file stays on the server and in the ledger",
                    ["file": file, "action": "\(action)", "error": error.description])
            }
        }
        return (failures, kept)
    }

    /// The downloads that were not imported, with the reason: rejected by decrypt (not PGP, another key, an
    /// unsafe archive), holding a file that transform rejected as a whole, or one whose every row was
    /// rejected. A download without a decrypt or transform record counts as not imported.
    private func rejectedDownloads(_ names: [String], context: StageContext) throws -> [String: String] {
        let decrypt = context.run.stage(.decrypt)
        let transform = context.run.stage(.transform)
        var rejected: [String: String] = [:]
        downloads: for name in names {
            guard let item = try decrypt.finishedItem(name) else {
                rejected[name] = "no decrypt record"
                continue
            }
            if let reason = item.notes[DecryptStage.rejectedNote] {
                rejected[name] = reason
                continue
            }
            for plain in item.outputs {
                guard let transformed = try transform.finishedItem(plain.name) else {
                    rejected[name] = "\(plain.name) has no transform record"
                    continue downloads
                }
                if transformed.counts["files_rejected", default: 0] > 0 {
                    rejected[name] = transformed.notes[DecryptStage.rejectedNote] ?? "\(plain.name) was rejected"
                    continue downloads
                }
                if transformed.counts["rows", default: 0] > 0 && transformed.counts["events", default: 0] == 0 {
                    rejected[name] = "every row of \(plain.name) was rejected"
                    continue downloads
                }
            }
        }
        return rejected
    }
}
