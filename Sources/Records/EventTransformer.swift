import Core

/// What one transformed file produced.
public struct TransformCounts: Sendable, Equatable {
    /// Data rows read (the header and blank lines not counted).
    public var rows: Int
    /// Blank lines skipped (they hold no data; counted so that no line goes unaccounted for).
    public var blankLines: Int
    /// Events written.
    public var events: Int
    /// Rows written to the rejects.
    public var rejects: Int
    /// Columns renamed because their name was empty, repeated, or a key the transform adds.
    public var renamedColumns: [CSVHeader.Rename]

    public init(
        rows: Int = 0, events: Int = 0, rejects: Int = 0, blankLines: Int = 0, renamedColumns: [CSVHeader.Rename] = []
    ) {
        self.rows = rows
        self.blankLines = blankLines
        self.events = events
        self.rejects = rejects
        self.renamedColumns = renamedColumns
    }
}

/// The transform of `import-events`: one Responsys event file (CSV) → NDJSON events + rejects.
public enum EventTransformer {
    /// Output is handed to the file in blocks of about this size.
    static let flushSize = 1 << 20

    /// Streams `input` into `output` (one event per line, see `EventNormalizer`); rows that cannot be read or
    /// normalized go to `rejects`. `output` is written but not committed: the caller commits it (and the
    /// rejects) when it has decided the file is good.
    ///
    /// Throws `TransformError.unrecognizedFileName` when `sourceName` is not an event file name,
    /// `TransformError.noEventHeader` when the first row names none of `EventNormalizer.identifyingKeys` (a
    /// file without its header would otherwise lose its first row as the header and load the rest as
    /// garbage), and `CSVError` when the file cannot be read at all (missing header, I/O, a runaway quote).
    public static func transform(
        input: String, sourceName: String, output: any ByteOutput, rejects: RejectsWriter,
        options: TransformOptions = TransformOptions()
    ) throws -> TransformCounts {
        let fileName = try EventFileName.parse(sourceName)
        let reader = try CSVReader(
            path: input, options: CSVOptions(delimiter: options.delimiter, encoding: options.encoding))
        let named = reader.header.originalNames.map(EventNormalizer.snakeCase)
        guard named.contains(where: EventNormalizer.identifyingKeys.contains) else {
            throw TransformError(
                .noEventHeader,
                "\(sourceName): no header row with CED columns: first line (line \(reader.headerLine)) looks like "
                    + "data, or the file is not a Responsys event file",
                remedy: "event files start with a header naming their columns (RIID, EVENT_CAPTURED_DT, "
                    + "ACCOUNT_ID…); have the Connect job export the header, or narrow `pattern`")
        }
        let normalizer = try EventNormalizer(
            fileName: fileName, sourceName: sourceName, header: reader.header, options: options)
        var buffer = JSONBytes(capacity: flushSize + (64 << 10))
        var counts = TransformCounts(renamedColumns: normalizer.renames)
        while true {
            let next: CSVRow?
            do {
                next = try reader.nextRow()
            } catch let error as CSVError where error.code == .rowTooLong {
                // The rows before it are good and stay; what follows cannot be split into rows reliably (an
                // unclosed quote is the usual cause), so the rest of the file is one reject, never dropped.
                try rejects.write(
                    file: sourceName, line: reader.line, byteOffset: nil,
                    reason: error.description + "; the file was not read past this line", raw: "")
                counts.rejects += 1
                break
            }
            guard let row = next else { break }
            counts.rows += 1
            if let reason = normalizer.append(row, to: &buffer) {
                try rejects.write(
                    file: sourceName, line: row.line, byteOffset: row.byteOffset, reason: reason, raw: row.rawText)
                counts.rejects += 1
            } else {
                buffer.append(byte: 0x0A)
                counts.events += 1
                if buffer.count >= flushSize {
                    try output.write(bytes: buffer.bytes)
                    buffer.removeAll()
                }
            }
        }
        if buffer.count > 0 { try output.write(bytes: buffer.bytes) }
        counts.blankLines = reader.blankLines
        return counts
    }

    /// Like the other `transform`, writing to `outputPath` through a `DigestingFileWriter` (the fast path) and
    /// publishing it atomically when done.
    /// Returns the counts and the SHA-256 of the published file. On failure nothing appears at `outputPath`.
    public static func transform(
        input: String, sourceName: String, outputPath: String, rejects: RejectsWriter,
        options: TransformOptions = TransformOptions()
    ) throws -> (counts: TransformCounts, sha256: String) {
        let output = try DigestingFileWriter(path: outputPath)
        do {
            let counts = try transform(
                input: input, sourceName: sourceName, output: output, rejects: rejects, options: options)
            return (counts, try output.commit())
        } catch {
            output.abandon()
            throw error
        }
    }
}
