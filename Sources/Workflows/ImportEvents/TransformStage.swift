import Config
import Core
import Foundation
import Records
import Staging

/// import-events, stage 3: each plain CSV file becomes `<name>.ndjson` (one event per line) and
/// `<name>.rejects.ndjson`; when all are done, the rejects are gathered into `rejects.ndjson`.
struct TransformStage: Stage {
    let name = StageName.transform
    let settings: ImportEventsConfig

    static let rejectsName = "rejects.ndjson"
    static let eventsSuffix = ".ndjson"
    static let fileRejectsSuffix = ".rejects.ndjson"

    var options: TransformOptions {
        TransformOptions(
            delimiter: settings.delimiter?.byte, encoding: settings.encoding.recordsEncoding,
            sourceTimeZoneOffsetSeconds: settings.sourceTimezone?.seconds ?? 0, stream: settings.stream)
    }

    func run(_ context: StageContext) throws -> StageResult {
        guard let input = context.input, let marker = try input.readMarker() else {
            preconditionFailure("the runner starts transform only after the stage before it finished")
        }
        var outputs: [StageOutput] = []
        var totals = ["rows": 0, "events": 0, "rejects": 0, "blank_lines": 0, "files": 0, "files_rejected": 0]
        for plain in marker.outputs where plain.name != DecryptStage.rejectsName {
            if let done = try context.folder.finishedItem(plain.name) {
                outputs += done.outputs
                totals.merge(done.counts, uniquingKeysWith: +)
                continue
            }
            let (described, counts, notes) = try transform(plain, from: input, in: context)
            try context.folder.recordItem(
                ItemRecord(key: plain.name, outputs: described, counts: counts, notes: notes))
            outputs += described
            totals.merge(counts, uniquingKeysWith: +)
        }
        // Gathered first, so a failed ratio check can point at one file holding every rejected row.
        let combined = try gatherRejects(outputs, decrypted: input, in: context.folder)
        try checkRejectRatio(totals, in: context)
        outputs.append(combined)
        let rejected = totals["rejects", default: 0] + totals["files_rejected", default: 0]
        return StageResult(
            outputs: outputs, counts: totals, exitStatus: rejected > 0 ? .finishedWithRejects : .success)
    }

    /// Transforms one file; a file that cannot be read at all is rejected whole, with the reason (in the
    /// notes, under `DecryptStage.rejectedNote`, for load to leave it on the server).
    private func transform(_ plain: StageOutput, from input: StageFolder, in context: StageContext) throws
        -> ([StageOutput], [String: Int], [String: String])
    {
        let stem = plain.name
        let rejectsName = stem + TransformStage.fileRejectsSuffix
        let eventsName = stem + TransformStage.eventsSuffix
        let rejects = try RejectsWriter(path: context.folder.file(rejectsName))
        do {
            let result = try EventTransformer.transform(
                input: input.file(plain.name), sourceName: Self.sourceName(of: plain),
                outputPath: context.folder.file(eventsName),
                rejects: rejects, options: options)
            try rejects.commit()
            for rename in result.counts.renamedColumns {
                context.logger.warn("column renamed", ["file": plain.name, "column": "\(rename)"])
            }
            context.logger.info(
                "transformed",
                [
                    "file": plain.name, "rows": result.counts.rows, "events": result.counts.events,
                    "rejects": result.counts.rejects, "blank_lines": result.counts.blankLines,
                ])
            return (
                [
                    try context.folder.describe(eventsName, source: plain.name),
                    try context.folder.describe(rejectsName, source: plain.name),
                ],
                [
                    "rows": result.counts.rows, "events": result.counts.events, "rejects": result.counts.rejects,
                    "blank_lines": result.counts.blankLines, "files": 1,
                ],
                [:]
            )
        } catch let error as DiagnosedError where Self.rejectsWholeFile(error) {
            try rejects.write(file: plain.name, line: 0, byteOffset: nil, reason: error.description, raw: "")
            try rejects.commit()
            context.logger.warn("file rejected", ["file": plain.name, "reason": error.description])
            return (
                [try context.folder.describe(rejectsName, source: plain.name)], ["files_rejected": 1],
                [DecryptStage.rejectedNote: error.description]
            )
        }
    }

    /// The name events carry as `_source_file`: the plain file's own name (`1234_CLICK_….txt`), whose shape
    /// gives account, channel and event type.
    static func sourceName(of plain: StageOutput) -> String {
        (plain.name as NSString).lastPathComponent
    }

    /// Format problems reject the file; I/O and disk problems fail the stage so it can be retried.
    static func rejectsWholeFile(_ error: DiagnosedError) -> Bool {
        error is TransformError || error is CSVError
    }

    /// Fails the stage when more rows than `max_reject_ratio` allows were rejected, naming the run's gathered
    /// rejects file and the command that redoes the stage.
    private func checkRejectRatio(_ totals: [String: Int], in context: StageContext) throws {
        guard let limit = settings.maxRejectRatio else { return }
        let rows = totals["rows", default: 0]
        let rejected = totals["rejects", default: 0]
        guard rows > 0, Double(rejected) / Double(rows) > limit else { return }
        throw ETLError(
            .failed,
            "\(rejected) of \(rows) rows were rejected, above max_reject_ratio = \(limit)",
            remedy: "read \(context.folder.file(TransformStage.rejectsName)) (each rejected row with its file, line "
                + "and reason); fix the files or the config, "
                + "then `responsys-etl stage \(context.area.name) transform --run \(context.run.id) --force`")
    }

    /// `rejects.ndjson`: the files decrypt rejected, then every file's rejected rows, in file order, so one
    /// file answers "what was rejected".
    private func gatherRejects(_ outputs: [StageOutput], decrypted: StageFolder, in folder: StageFolder) throws
        -> StageOutput
    {
        let writer = try folder.createOutput(TransformStage.rejectsName)
        if Files.exists(decrypted.file(DecryptStage.rejectsName)) {
            try writer.write(try Files.read(decrypted.file(DecryptStage.rejectsName)))
        }
        for output in outputs where output.name.hasSuffix(TransformStage.fileRejectsSuffix) {
            try writer.write(try Files.read(folder.file(output.name)))
        }
        return try folder.publish(writer)
    }
}

extension EncodingName {
    /// The same policy in the reader's terms; the two enums share their raw values (the config spellings).
    var recordsEncoding: TextEncoding {
        guard let encoding = TextEncoding(rawValue: rawValue) else {
            preconditionFailure("config encoding \(rawValue) has no reader equivalent")
        }
        return encoding
    }
}
