import Core

/// Writes `rejects.ndjson`: one JSON object per row that could not be read or normalized,
/// `{"file":…,"line":…,"byte_offset":…,"reason":…,"raw":…}` (`byte_offset` only when known).
/// Published atomically by `commit`; one writer may collect the rejects of several files.
public final class RejectsWriter {
    public let file: AtomicFileWriter
    public private(set) var count = 0

    public init(path: String) throws {
        file = try AtomicFileWriter(path: path)
    }

    public var path: String { file.path }

    public func write(file name: String, line: Int, byteOffset: Int64?, reason: String, raw: String) throws {
        var text = "{\"file\":" + JSONText.quote(name) + ",\"line\":" + String(line)
        if let byteOffset { text += ",\"byte_offset\":" + String(byteOffset) }
        text += ",\"reason\":" + JSONText.quote(reason) + ",\"raw\":" + JSONText.quote(raw) + "}\n"
        try file.write(text)
        count += 1
    }

    /// Publishes the file (also when empty, so its absence never means "not written"); returns its SHA-256.
    @discardableResult
    public func commit() throws -> String {
        try file.commit()
    }

    public func abandon() {
        file.abandon()
    }
}
