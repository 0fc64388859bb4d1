import Audience
import Config
import Core
import Foundation
import Staging

/// The extract stage of both export workflows: the audience source → `snapshot.ndjson` (sorted by email,
/// one line per member) and `rejects.ndjson` (invalid emails, unreadable rows); any reject ends the run
/// with exit status 3.
///
/// An unchanged source file: when the file's SHA-256 (and the settings shaping the snapshot) equal the
/// fingerprint recorded in `state/source.json` by the last clean delivery, the delivered state *is* this
/// file's snapshot, so it is copied instead of read again and the diff is empty. A `sqlite` source is
/// always queried again (with the run's now bound as `:now`).
///
/// `time_based = true` turns that shortcut off: the source is re-evaluated every run even when the file's
/// digest equals the last delivered one (for sources whose meaning depends on the time of the run).
struct AudienceExtractStage: Stage {
    let name = StageName.extract
    let source: AudienceSource
    let options: AudienceSnapshotOptions
    let memoryBudgetMB: Int
    let timeBased: Bool

    static let snapshotName = "snapshot.ndjson"
    static let rejectsName = "rejects.ndjson"

    func run(_ context: StageContext) throws -> StageResult {
        let folder = context.folder
        let temporary = folder.file("_sort")
        try? Files.remove(temporary)
        try Files.makeDirectory(temporary)
        defer { try? Files.remove(temporary) }
        let summary: ExtractSummary
        let sourceName: String
        var notes = ["time_based": String(timeBased)]
        var stampBefore: String?
        switch source {
        case .file(let path, let format, _):
            sourceName = path
            stampBefore = SourceFingerprint.stamp(path)
            if !timeBased {
                let digest = try Files.digest(path)
                let fingerprint = SourceFingerprint(
                    sha256: digest.sha256, size: digest.size, settings: SourceFingerprint.settings(source, options))
                let delivered = DeliveredStateUpdate.deliveredPath(context.area)
                if SourceFingerprint.recorded(context.area) == fingerprint, Files.exists(delivered) {
                    return try unchanged(fingerprint, delivered: delivered, source: path, context: context)
                }
                notes[SourceFingerprint.noteKey] = String(
                    decoding: try JSONEncoder().encode(fingerprint), as: UTF8.self)
            }
            summary = try AudienceExtract.fromFile(
                path, format: format == .csv ? .csv : .ndjson, options: options,
                snapshotPath: folder.file(Self.snapshotName), rejectsPath: folder.file(Self.rejectsName),
                temporaryFolder: temporary, memoryBudgetBytes: memoryBudgetMB << 20)
            // A file changed while it was read: its digest does not describe the snapshot; record none.
            // Rejected rows are not in the state either: such a file is always read again.
            if SourceFingerprint.stamp(path) != stampBefore || summary.read.rejected > 0 {
                notes[SourceFingerprint.noteKey] = nil
            }
        case .sqlite(let path, let queryFile):
            sourceName = path
            summary = try AudienceExtract.fromSQLite(
                databasePath: path, queryFile: queryFile, now: context.now, options: options,
                snapshotPath: folder.file(Self.snapshotName), rejectsPath: folder.file(Self.rejectsName),
                temporaryFolder: temporary, memoryBudgetBytes: memoryBudgetMB << 20)
        }
        let counts = [
            "rows": summary.read.rows, "rejects": summary.read.rejected, "members": summary.snapshot.members,
            "duplicates": summary.snapshot.duplicates, "sort_runs": summary.snapshot.runs,
        ]
        context.logger.info(
            "audience extracted",
            [
                "source": sourceName, "rows": summary.read.rows, "members": summary.snapshot.members,
                "rejects": summary.read.rejected, "duplicates": summary.snapshot.duplicates,
            ])
        return StageResult(
            outputs: [
                try folder.describe(Self.snapshotName, source: sourceName),
                try folder.describe(Self.rejectsName, source: sourceName),
            ],
            counts: counts, notes: notes,
            exitStatus: summary.read.rejected > 0 ? .finishedWithRejects : .success)
    }

    /// The source file is the one last delivered: its snapshot is the delivered state.
    private func unchanged(
        _ fingerprint: SourceFingerprint, delivered: String, source: String, context: StageContext
    ) throws -> StageResult {
        let folder = context.folder
        let snapshot = try folder.createOutput(Self.snapshotName)
        guard let input = FileHandle(forReadingAtPath: delivered) else {
            throw ETLError(.io, "cannot open the delivered state \(delivered)")
        }
        defer { try? input.close() }
        var members = 0
        while let block = try input.read(upToCount: 1 << 20), !block.isEmpty {
            members += block.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            try snapshot.write(block)
        }
        let rejects = try folder.createOutput(Self.rejectsName)
        context.logger.info(
            "source file unchanged since the last delivery; its snapshot is the delivered state",
            ["source": source, "sha256": fingerprint.sha256])
        return StageResult(
            outputs: [try folder.publish(snapshot, source: source), try folder.publish(rejects, source: source)],
            counts: ["rows": 0, "rejects": 0, "members": members, "duplicates": 0, "sort_runs": 0],
            notes: [
                "time_based": String(timeBased), "source_unchanged": fingerprint.sha256,
                SourceFingerprint.noteKey: String(decoding: try JSONEncoder().encode(fingerprint), as: UTF8.self),
            ])
    }
}
