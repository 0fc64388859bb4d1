import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes a file under a temporary name beside its final path (mode 0600), then publishes it with
/// fsync and rename. Until `commit` returns, the final path holds nothing new: a crash leaves only a
/// `.tmp-…` file, which no reader takes as output and `sweepTemporaries` removes.
///
/// Writes are buffered; `sha256` and `bytesWritten` describe exactly what was published.
public final class AtomicFileWriter {
    public let path: String
    public let temporaryPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var hasher = SHA256()
    public private(set) var bytesWritten: Int64 = 0
    private var finished = false
    private static let bufferLimit = 1 << 20

    /// The prefix of temporary files; anything starting with it is never an output.
    public static let temporaryPrefix = ".tmp-"

    public init(path: String) throws {
        self.path = path
        let folder = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        try Files.makeDirectory(folder.isEmpty ? "." : folder)
        temporaryPath =
            (folder.isEmpty ? "" : folder + "/") + AtomicFileWriter.temporaryPrefix + "\(getpid())-" + name
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw ETLError(.io, "cannot create \(temporaryPath)", underlying: systemErrorText(errno))
        }
        buffer.reserveCapacity(AtomicFileWriter.bufferLimit)
    }

    deinit {
        if !finished { abandon() }
    }

    public func write(_ data: Data) throws {
        data.withUnsafeBytes { append($0) }
        if buffer.count >= AtomicFileWriter.bufferLimit { try flush() }
    }

    public func write(_ text: String) throws {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
        if buffer.count >= AtomicFileWriter.bufferLimit { try flush() }
    }

    public func write(bytes: UnsafeRawBufferPointer) throws {
        append(bytes)
        if buffer.count >= AtomicFileWriter.bufferLimit { try flush() }
    }

    private func append(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bytes)
        buffer.append(contentsOf: bytes)
        bytesWritten += Int64(bytes.count)
    }

    private func flush() throws {
        try buffer.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw ETLError(.io, "cannot write \(temporaryPath)", underlying: systemErrorText(errno))
                }
                offset += written
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, syncs, closes and renames into place. Returns the SHA-256 of the published bytes.
    @discardableResult
    public func commit() throws -> String {
        precondition(!finished, "AtomicFileWriter committed twice")
        try flush()
        if fsync(fd) != 0 {
            throw ETLError(.io, "cannot flush \(temporaryPath) to disk", underlying: systemErrorText(errno))
        }
        // Closing can report a deferred write error; it is a failure of this file, not noise.
        let closed = close(fd)
        fd = -1
        if closed != 0 {
            throw ETLError(.io, "cannot close \(temporaryPath)", underlying: systemErrorText(errno))
        }
        if rename(temporaryPath, path) != 0 {
            throw ETLError(.io, "cannot rename \(temporaryPath) to \(path)", underlying: systemErrorText(errno))
        }
        finished = true
        Files.syncDirectory(
            (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent)
        return hasher.finalizeHex()
    }

    /// Deletes the temporary file; the final path is untouched.
    public func abandon() {
        if fd >= 0 { close(fd) }
        fd = -1
        unlink(temporaryPath)
        finished = true
    }

    /// Removes the temporary files a crashed writer left in `folder`.
    public static func sweepTemporaries(in folder: String) {
        for name in (try? Files.list(folder)) ?? [] where name.hasPrefix(temporaryPrefix) {
            unlink(folder + "/" + name)
        }
    }
}
