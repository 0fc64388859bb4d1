import CZlib
import Core
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Something that fills a buffer with bytes: a plain file, or a gzip stream over one.
protocol ByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes; 0 means the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A file opened for reading with `read(2)`; closed in `deinit`.
final class FileByteSource: ByteSource {
    let path: String
    private var fd: Int32

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let number = errno
            throw AudienceError(
                .io, "cannot open \(path)", underlying: systemErrorText(number),
                remedy: number == ENOENT ? "check the path in the workflow's source" : nil)
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw AudienceError(.io, "cannot read \(path)", underlying: systemErrorText(errno))
        }
    }
}

/// Inflates a gzip file (one or several concatenated members) as it is read, with zlib.
final class GzipByteSource: ByteSource {
    private let file: FileByteSource
    private var stream = z_stream()
    private let input: UnsafeMutableRawBufferPointer
    private var finished = false
    private var sawData = false

    init(path: String) throws {
        file = try FileByteSource(path: path)
        input = .allocate(byteCount: 1 << 20, alignment: 16)
        // 15 + 32: a window of 32 KiB, and zlib detects the gzip header itself.
        let status = retl_inflate_init2(&stream, 15 + 32)
        guard status == Z_OK else {
            input.deallocate()
            throw AudienceError(.badCompression, "cannot start gzip decoding of \(path)", underlying: zlibText(status))
        }
    }

    deinit {
        inflateEnd(&stream)
        input.deallocate()
    }

    private func zlibText(_ status: Int32) -> String {
        if let message = stream.msg { return String(cString: message) }
        return "zlib status \(status)"
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !finished, let base = buffer.baseAddress else { return 0 }
        stream.next_out = base.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(min(buffer.count, Int(UInt32.max)))
        while stream.avail_out > 0 {
            if stream.avail_in == 0 {
                let count = try file.read(into: input)
                if count == 0 {
                    // The end of the file must be the end of a gzip member, or the file was cut short.
                    if sawData {
                        throw AudienceError(
                            .badCompression, "\(file.path) ends in the middle of its gzip data",
                            remedy: "the file is truncated; fetch or export it again")
                    }
                    finished = true
                    break
                }
                stream.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_in = uInt(count)
            }
            sawData = true
            let status = inflate(&stream, Z_NO_FLUSH)
            if status == Z_STREAM_END {
                // Another gzip member may follow (concatenated files are valid gzip).
                sawData = false
                inflateReset(&stream)
                continue
            }
            guard status == Z_OK || status == Z_BUF_ERROR else {
                throw AudienceError(
                    .badCompression, "\(file.path) is not valid gzip data", underlying: zlibText(status),
                    remedy: "check that the file is gzip-compressed, or drop the .gz suffix")
            }
        }
        return buffer.count - Int(stream.avail_out)
    }
}

/// Opens `path` for reading, inflating it when its name ends in `.gz`.
func openByteSource(_ path: String) throws -> ByteSource {
    path.hasSuffix(".gz") ? try GzipByteSource(path: path) : try FileByteSource(path: path)
}

/// Hands out the lines of a byte source one at a time, without the line break (LF or CRLF).
/// A line is valid until the next call; the buffer grows for lines longer than it.
final class LineReader {
    private let source: ByteSource
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var atEnd = false
    /// The 1-based number of the line last returned.
    private(set) var lineNumber = 0

    init(source: ByteSource, bufferSize: Int = 1 << 20) {
        self.source = source
        buffer = .allocate(byteCount: bufferSize, alignment: 16)
    }

    convenience init(path: String, bufferSize: Int = 1 << 20) throws {
        self.init(source: try openByteSource(path), bufferSize: bufferSize)
    }

    deinit { buffer.deallocate() }

    func next() throws -> UnsafeRawBufferPointer? {
        // `scanned` bytes after `start` are known to hold no line break.
        var scanned = 0
        while true {
            let from = start + scanned
            if from < end, let found = memchr(buffer.baseAddress! + from, 0x0A, end - from) {
                let newline = buffer.baseAddress!.distance(to: found)
                var lineEnd = newline
                if lineEnd > start && buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                let line = UnsafeRawBufferPointer(rebasing: buffer[start..<lineEnd])
                start = newline + 1
                lineNumber += 1
                return line
            }
            scanned = end - start
            if atEnd {
                guard start < end else { return nil }
                var lineEnd = end
                if buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                let line = UnsafeRawBufferPointer(rebasing: buffer[start..<lineEnd])
                start = end
                lineNumber += 1
                return line
            }
            try refill()
        }
    }

    /// Moves the unread part to the front (growing the buffer when a line fills it) and reads more.
    private func refill() throws {
        let pending = end - start
        if start > 0 {
            if pending > 0 { memmove(buffer.baseAddress!, buffer.baseAddress! + start, pending) }
            start = 0
            end = pending
        }
        if end == buffer.count {
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 16)
            bigger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: end)
            buffer.deallocate()
            buffer = bigger
        }
        let count = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
        if count == 0 { atEnd = true }
        end += count
    }
}

/// A buffered writer to a file. With `atomic`, it writes a temporary name beside `path` and publishes
/// with fsync and rename in `commit`; a writer dropped without `commit` removes what it wrote.
/// (No digest is kept while writing: the sorted snapshot is large and its digest is taken once, by the
/// marker.)
final class ByteFileWriter {
    let path: String
    private let writingPath: String
    private let atomic: Bool
    private let durable: Bool
    private var fd: Int32
    private var buffer: UnsafeMutableRawBufferPointer
    private var used = 0
    private var finished = false
    private(set) var bytesWritten: Int64 = 0
    /// Bytes already handed to the kernel's writeback (see `startWriteback`).
    private var writebackStarted: Int64 = 0
    private var flushedBytes: Int64 = 0

    /// - Parameter durable: with `atomic`, fsync before the rename. A caller writing many small files
    ///   passes false and syncs the file system once before publishing what refers to them.
    init(path: String, atomic: Bool = true, durable: Bool = true, bufferSize: Int = 1 << 20) throws {
        self.path = path
        self.atomic = atomic
        self.durable = durable
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try Files.makeDirectory(folder) }
        writingPath =
            atomic
            ? (folder.isEmpty ? "" : folder + "/") + AtomicFileWriter.temporaryPrefix + "\(getpid())-"
                + (path as NSString).lastPathComponent
            : path
        fd = open(writingPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw AudienceError(.io, "cannot create \(writingPath)", underlying: systemErrorText(errno))
        }
        buffer = .allocate(byteCount: bufferSize, alignment: 16)
    }

    deinit {
        buffer.deallocate()
        if !finished {
            if fd >= 0 { close(fd) }
            unlink(writingPath)
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        if used + bytes.count > buffer.count {
            try flush()
            if bytes.count > buffer.count {
                try writeAll(bytes)
                return
            }
        }
        (buffer.baseAddress! + used).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        used += bytes.count
        bytesWritten += Int64(bytes.count)
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    func writeByte(_ byte: UInt8) throws {
        if used == buffer.count { try flush() }
        buffer[used] = byte
        used += 1
        bytesWritten += 1
    }

    private func flush() throws {
        guard used > 0 else { return }
        let pending = UnsafeRawBufferPointer(rebasing: buffer[0..<used])
        used = 0
        try writeAll(pending, counted: true)
        startWriteback()
    }

    /// For a durable file, asks the kernel to start writing every 16 MiB written so far, so the final
    /// fsync of a large file (the sorted snapshot) waits for the tail only, not for the whole file.
    private func startWriteback() {
        guard atomic && durable, flushedBytes - writebackStarted >= 16 << 20,
            let syncRange = ByteFileWriter.syncFileRange
        else { return }
        _ = syncRange(fd, writebackStarted, flushedBytes - writebackStarted, 2)  // SYNC_FILE_RANGE_WRITE
        writebackStarted = flushedBytes
    }

    /// `sync_file_range(2)`, looked up at run time (Glibc declares it only under `_GNU_SOURCE`); nil
    /// where the C library lacks it, and then the final fsync does all the work.
    static let syncFileRange: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32)? = {
        // A null handle is RTLD_DEFAULT on glibc.
        guard let symbol = dlsym(nil, "sync_file_range") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32).self)
    }()

    private func writeAll(_ bytes: UnsafeRawBufferPointer, counted: Bool = false) throws {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw AudienceError(.io, "cannot write \(writingPath)", underlying: systemErrorText(errno))
            }
            offset += written
        }
        flushedBytes += Int64(bytes.count)
        if !counted { bytesWritten += Int64(bytes.count) }
    }

    /// Flushes and closes; with `atomic`, syncs and renames into place.
    func commit() throws {
        precondition(!finished, "ByteFileWriter committed twice")
        try flush()
        if atomic && durable && fsync(fd) != 0 {
            throw AudienceError(.io, "cannot flush \(writingPath) to disk", underlying: systemErrorText(errno))
        }
        let closed = close(fd)
        fd = -1
        if closed != 0 {
            throw AudienceError(.io, "cannot close \(writingPath)", underlying: systemErrorText(errno))
        }
        if atomic {
            if rename(writingPath, path) != 0 {
                throw AudienceError(
                    .io, "cannot rename \(writingPath) to \(path)", underlying: systemErrorText(errno))
            }
            if durable {
                let folder = (path as NSString).deletingLastPathComponent
                Files.syncDirectory(folder.isEmpty ? "." : folder)
            }
        }
        finished = true
    }
}
