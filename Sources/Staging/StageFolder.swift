import Core
import Foundation

/// The folder of one stage of one run: its outputs, its per-item progress records and its `_DONE` marker.
public struct StageFolder: Sendable {
    public let stage: StageName
    public let path: String
    public let runID: RunID

    public static let markerName = "_DONE"
    static let itemsFolderName = "_items"

    public var markerPath: String { path + "/" + StageFolder.markerName }
    var itemsPath: String { path + "/" + StageFolder.itemsFolderName }

    public init(stage: StageName, path: String, runID: RunID) {
        self.stage = stage
        self.path = path
        self.runID = runID
    }

    /// The absolute path of an output named relative to this folder.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Creates the folder (0700) and removes what a crashed writer left half-written.
    public func prepare() throws {
        try Files.makeDirectory(path)
        try Files.makeDirectory(itemsPath)
        AtomicFileWriter.sweepTemporaries(in: path)
        AtomicFileWriter.sweepTemporaries(in: itemsPath)
    }

    // MARK: - The marker

    public func readMarker() throws -> StageMarker? {
        try JSONFiles.read(StageMarker.self, from: markerPath)
    }

    /// Whether the stage is finished: its marker exists and every output it lists is unchanged.
    /// A marker is never trusted on its own, because someone may have edited or removed a staged file.
    public func checkMarker() throws -> MarkerCheck {
        guard let marker = try readMarker() else { return .absent }
        let changed = changedOutputs(marker.outputs)
        return changed.isEmpty ? .valid : .outputsChanged(changed)
    }

    /// Writes `_DONE` after checking that every output it will list exists with the recorded digest.
    public func writeMarker(_ marker: StageMarker) throws {
        precondition(marker.stage == stage, "marker of \(marker.stage) written into the \(stage) folder")
        let changed = changedOutputs(marker.outputs)
        guard changed.isEmpty else {
            throw ETLError(
                .corruptStaging, "stage \(stage.rawValue) of run \(runID) cannot finish: outputs changed while it ran",
                underlying: changed.joined(separator: ", "))
        }
        try JSONFiles.write(marker, to: markerPath)
    }

    public func removeMarker() throws { try Files.remove(markerPath) }

    /// The names of outputs that are missing or whose size or SHA-256 differ from the record.
    public func changedOutputs(_ outputs: [StageOutput]) -> [String] {
        outputs.compactMap { output in
            let target = file(output.name)
            guard let size = try? Files.size(target), size == output.size,
                let digest = try? Files.digest(target), digest.sha256 == output.sha256
            else { return output.name }
            return nil
        }
    }

    // MARK: - Outputs

    /// Opens a writer for an output; it appears under `name` only when committed through `publish`.
    public func createOutput(_ name: String) throws -> AtomicFileWriter {
        precondition(!name.hasPrefix("/") && !name.split(separator: "/").contains(".."), "output escapes stage")
        precondition(name != StageFolder.markerName && !name.hasPrefix(StageFolder.itemsFolderName))
        return try AtomicFileWriter(path: file(name))
    }

    /// Commits a writer made by `createOutput` and describes the published file for the marker.
    public func publish(_ writer: AtomicFileWriter, source: String? = nil) throws -> StageOutput {
        let digest = try writer.commit()
        let name = String(writer.path.dropFirst(path.count + 1))
        return StageOutput(name: name, size: writer.bytesWritten, sha256: digest, source: source)
    }

    /// Describes a file already in the folder (written by a library that publishes its own files atomically).
    public func describe(_ name: String, source: String? = nil) throws -> StageOutput {
        let digest = try Files.digest(file(name))
        return StageOutput(name: name, size: digest.size, sha256: digest.sha256, source: source)
    }

    // MARK: - Per-item progress

    /// The record of a finished item, if it has one and its outputs are unchanged.
    public func finishedItem(_ key: String) throws -> ItemRecord? {
        guard let record = try JSONFiles.read(ItemRecord.self, from: itemPath(key)) else { return nil }
        return changedOutputs(record.outputs).isEmpty ? record : nil
    }

    /// Records that an item is finished. Its outputs must already be published.
    public func recordItem(_ record: ItemRecord) throws {
        try JSONFiles.write(record, to: itemPath(record.key))
    }

    /// Every item record of this stage, in key order.
    public func items() throws -> [ItemRecord] {
        try Files.list(itemsPath).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
            .compactMap { try JSONFiles.read(ItemRecord.self, from: itemsPath + "/" + $0) }
            .sorted { $0.key < $1.key }
    }

    /// Item keys can be any text (remote names with spaces or slashes); the record's file name is its digest.
    func itemPath(_ key: String) -> String {
        itemsPath + "/" + String(SHA256.hex(Array(key.utf8)).prefix(32)) + ".json"
    }

    /// Removes everything in the stage: outputs, item records and marker.
    public func clear() throws { try Files.remove(path) }
}
