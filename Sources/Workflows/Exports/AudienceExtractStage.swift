import Audience
import Config
import Core
import Foundation
import Staging

/// The extract stage of both export workflows: the audience source → `snapshot.ndjson` (sorted by email,
/// one line per member) and `rejects.ndjson` (invalid emails, unreadable rows); any reject ends the run
/// with exit status 3.
///
/// `time_based`: each run extracts afresh — a `sqlite` source is queried with the run's now bound as
/// `:now`, a file source is read again — so a source whose answer depends on time is re-evaluated every
/// run whatever the flag says. The flag is accepted and recorded; nothing is ever skipped because a
/// source file looks unchanged.
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
        switch source {
        case .file(let path, let format, _):
            sourceName = path
            summary = try AudienceExtract.fromFile(
                path, format: format == .csv ? .csv : .ndjson, options: options,
                snapshotPath: folder.file(Self.snapshotName), rejectsPath: folder.file(Self.rejectsName),
                temporaryFolder: temporary, memoryBudgetBytes: memoryBudgetMB << 20)
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
            counts: counts, notes: ["time_based": String(timeBased)],
            exitStatus: summary.read.rejected > 0 ? .finishedWithRejects : .success)
    }
}
