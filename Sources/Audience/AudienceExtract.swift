import Core
import Foundation

/// What the extract of an audience did.
public struct ExtractSummary: Sendable, Equatable {
    public var read: SnapshotReadCounts
    public var snapshot: SnapshotCounts
}

/// The extract stage's work: read the source, reject bad rows, write the snapshot sorted by email.
public enum AudienceExtract {
    /// The default memory budget of the external sort: lines and index held before a run is spilled.
    public static let defaultMemoryBudget = 64 << 20

    /// Reads the file source at `sourcePath` into a sorted snapshot at `snapshotPath`, writing rejected
    /// rows to `rejectsPath` (NDJSON, `{"line":…,"reason":…}`; written even when empty). Runs of the
    /// sort go to `temporaryFolder` and are removed.
    public static func fromFile(
        _ sourcePath: String, format: SnapshotFileFormat? = nil, options: AudienceSnapshotOptions,
        snapshotPath: String, rejectsPath: String, temporaryFolder: String,
        memoryBudgetBytes: Int = defaultMemoryBudget
    ) throws -> ExtractSummary {
        let reader = AudienceSnapshotReader(options: options)
        let encoder = SnapshotEncoder(options: options)
        let sorter = try ExternalSorter(memoryBudgetBytes: memoryBudgetBytes, temporaryFolder: temporaryFolder)
        let rejects = try ByteFileWriter(path: rejectsPath)
        let chosen = try format ?? SnapshotFileFormat.guess(path: sourcePath) ?? reader.sniff(sourcePath)
        let read: SnapshotReadCounts
        if chosen == .ndjson {
            read = try reader.readNDJSONParallel(
                sourcePath, sorter: sorter, encoder: encoder, reject: { try rejects.write($0.jsonLine + "\n") })
        } else {
            read = try reader.readFile(
                sourcePath, format: chosen, row: { try sorter.add(row: $0, encoder: encoder) },
                reject: { try rejects.write($0.jsonLine + "\n") })
        }
        let snapshot = try sorter.finish(to: snapshotPath)
        try rejects.commit()
        return ExtractSummary(read: read, snapshot: snapshot)
    }

    /// Runs the audience query of a `sqlite` source into a sorted snapshot (see `fromFile`).
    public static func fromSQLite(
        databasePath: String, queryFile: String, now: Date, options: AudienceSnapshotOptions,
        snapshotPath: String, rejectsPath: String, temporaryFolder: String,
        memoryBudgetBytes: Int = defaultMemoryBudget
    ) throws -> ExtractSummary {
        let reader = AudienceSnapshotReader(options: options)
        let encoder = SnapshotEncoder(options: options)
        let sorter = try ExternalSorter(memoryBudgetBytes: memoryBudgetBytes, temporaryFolder: temporaryFolder)
        let rejects = try ByteFileWriter(path: rejectsPath)
        let read = try reader.readSQLite(
            databasePath: databasePath, queryFile: queryFile, now: now,
            row: { try sorter.add(row: $0, encoder: encoder) }, reject: { try rejects.write($0.jsonLine + "\n") })
        let snapshot = try sorter.finish(to: snapshotPath)
        try rejects.commit()
        return ExtractSummary(read: read, snapshot: snapshot)
    }
}
