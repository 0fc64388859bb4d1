import CLibSSH2
import Core
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `download` fetched: the file's full size, where this attempt started, and the SHA-256 of the whole file.
public struct DownloadResult: Sendable, Equatable {
    public var bytes: Int64
    /// The length of the `.part` file this attempt resumed from (0 for a fresh download).
    public var resumedFrom: Int64
    /// Lowercase hex SHA-256 of the complete local file.
    public var sha256: String

    public init(bytes: Int64, resumedFrom: Int64, sha256: String) {
        self.bytes = bytes
        self.resumedFrom = resumedFrom
        self.sha256 = sha256
    }
}

/// An open remote file; it keeps its session alive and closes itself.
final class RemoteFile {
    let session: SFTPSession
    let handle: OpaquePointer
    let path: String

    init(session: SFTPSession, path: String) throws {
        guard let handle = retl_sftp_open(session.sftp, path, UInt(LIBSSH2_FXF_READ), 0) else {
            throw session.failure("cannot open \(path) on \(session.target)")
        }
        self.session = session
        self.handle = handle
        self.path = path
    }

    deinit { _ = retl_sftp_close(handle) }
}

extension SFTPSession {
    /// The read size that keeps libssh2 1.10's read-ahead busy: it splits one `libssh2_sftp_read` into
    /// pipelined 30 000-byte requests covering the buffer, so a large buffer means many requests in flight.
    /// Measured with bench/sftp-download.sh (see its output for the figures).
    public static let defaultReadBufferSize = 2 << 20

    /// Downloads `remotePath` to `localPath`, through `localPath + ".part"` (mode 0600).
    ///
    /// An existing `.part` is resumed from its length (a longer one than `expectedSize` is restarted). Reads
    /// continue until the server reports end of file, so a short read is never taken for the end; the total
    /// must equal `expectedSize` (the size in the listing), otherwise the `.part` is removed and `sizeMismatch`
    /// is thrown. The file is synced and renamed into place only when complete. `progress` receives
    /// (bytes so far, expected size) after every read.
    public func download(
        remotePath: String, to localPath: String, expectedSize: Int64, readBufferSize: Int = defaultReadBufferSize,
        progress: (Int64, Int64) -> Void = { _, _ in }
    ) throws -> DownloadResult {
        precondition(readBufferSize > 0 && expectedSize >= 0)
        let started = monotonicSeconds()
        let partPath = localPath + ".part"
        let local = try PartFile(path: partPath)
        let digest = FileDigest()
        var resumedFrom = try local.length()
        let ledgerPath = RangeLedger.path(forPart: partPath)
        if Files.exists(ledgerPath) {
            // A ranged download left this .part: only its finished prefix is data, the rest may be holes.
            let keep = trustedPrefix(ledgerPath: ledgerPath, partLength: resumedFrom, size: expectedSize)
            try local.truncate(to: keep)
            unlink(ledgerPath)
            resumedFrom = keep
        }
        if resumedFrom > expectedSize {
            logger.warn("partial file longer than the remote file; restarting", ["file": partPath])
            try local.truncate()
            resumedFrom = 0
        }
        if resumedFrom > 0 { try local.hashExisting(into: digest, length: resumedFrom) }

        let remote = try RemoteFile(session: self, path: remotePath)
        if resumedFrom > 0 {
            retl_sftp_seek(remote.handle, UInt64(resumedFrom))
            logger.info("resuming download", ["file": remotePath, "from": resumedFrom])
        }

        // Two threads: this one runs libssh2 (decryption, MAC, the pipelined requests), a second one writes
        // each chunk to the .part file and hashes it. Three buffers circulate between them.
        let pipeline = WriterPipeline(file: local, digest: digest, bufferSize: readBufferSize, bufferCount: 3)
        var received = resumedFrom
        var readsSinceKeepalive = 0
        var readFailure: SFTPError? = nil
        while true {
            let slot = pipeline.nextFreeSlot()
            let bytes = pipeline.buffer(slot).bindMemory(to: CChar.self)
            let count = libssh2_sftp_read(remote.handle, bytes.baseAddress, bytes.count)
            if count < 0 {
                readFailure = failure("download of \(remotePath) from \(target) failed at byte \(received)")
            }
            if count <= 0 {  // end of file: only a zero-length answer means that
                pipeline.release(slot)
                break
            }
            pipeline.submit(slot, count: count)
            received += Int64(count)
            progress(received, expectedSize)
            if pipeline.failed { break }
            readsSinceKeepalive += 1
            if readsSinceKeepalive == 64 {
                keepAlive()
                readsSinceKeepalive = 0
            }
        }
        // Everything read is on disk before anything is reported, so a resume starts from the true length.
        if let writeFailure = pipeline.finish() { throw writeFailure }
        if let readFailure { throw readFailure }

        guard received == expectedSize else {
            local.discard()
            throw SFTPError(
                .sizeMismatch,
                "\(remotePath) on \(target) has \(received) bytes, but the listing said \(expectedSize)",
                remedy: "The file changed while it was being fetched; the next run fetches it again")
        }
        try local.finish(renamingTo: localPath)
        let result = DownloadResult(bytes: received, resumedFrom: resumedFrom, sha256: digest.finalizeHex())
        logger.info(
            "downloaded",
            [
                "file": remotePath, "bytes": received, "resumed_from": resumedFrom,
                "seconds": monotonicSeconds() - started,
            ])
        return result
    }
}

/// A failure of the local side of a download (`action` names the system call's purpose), read from `errno` now.
func localFileError(_ action: String, _ path: String) -> SFTPError {
    let number = errno
    return SFTPError(
        .localIO, "\(action) the local file \(path)", underlying: systemErrorText(number),
        remedy: "Check free space and permissions of the staging folder")
}

/// The local `.part` file of a download: created 0600, appended to, then synced and renamed into place.
private final class PartFile: @unchecked Sendable {
    let path: String
    private var descriptor: Int32

    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        if descriptor < 0 { throw localFileError("cannot open", path) }
        // An older .part may have other permissions; downloaded data is readable by its owner only.
        if fchmod(descriptor, 0o600) != 0 { throw localFileError("cannot set permissions on", path) }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    func length() throws -> Int64 {
        let end = lseek(descriptor, 0, SEEK_END)
        if end < 0 { throw localFileError("cannot seek in", path) }
        return Int64(end)
    }

    func truncate() throws {
        if ftruncate(descriptor, 0) != 0 || lseek(descriptor, 0, SEEK_SET) < 0 {
            throw localFileError("cannot truncate", path)
        }
    }

    /// Shortens the file to `length` durably (before a sidecar that describes it is removed), then appends there.
    func truncate(to length: Int64) throws {
        if ftruncate(descriptor, off_t(length)) != 0 || fsync(descriptor) != 0
            || lseek(descriptor, off_t(length), SEEK_SET) < 0
        {
            throw localFileError("cannot truncate", path)
        }
    }

    /// Feeds the first `length` bytes already on disk to `digest`, so the result covers the whole file.
    func hashExisting(into digest: FileDigest, length: Int64) throws {
        let reader = open(path, O_RDONLY | O_CLOEXEC)
        if reader < 0 { throw localFileError("cannot read", path) }
        defer { close(reader) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var remaining = length
        while remaining > 0 {
            let count = read(reader, buffer.baseAddress, Int(min(Int64(buffer.count), remaining)))
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { throw localFileError("cannot read", path) }
            digest.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            remaining -= Int64(count)
        }
    }

    /// Bytes appended since writeback was last started, and where that range begins.
    private var unflushed = 0
    private var flushFrom: Int64 = -1

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw localFileError("cannot write", path)
            }
            offset += written
        }
        startWriteback(after: bytes.count)
    }

    /// The final fsync of a large file would otherwise flush it all at the end, after the network is done:
    /// writeback of every 8 MiB is started as it is written, so disk and network work at the same time
    /// (and a .part left by a crash is mostly on disk). Linux only; elsewhere fsync does it all.
    private func startWriteback(after count: Int) {
        #if os(Linux)
            if flushFrom < 0 { flushFrom = Int64(lseek(descriptor, 0, SEEK_CUR)) - Int64(count) }
            unflushed += count
            if unflushed >= 8 << 20 {
                _ = retl_start_writeback(descriptor, flushFrom, Int64(unflushed))
                flushFrom += Int64(unflushed)
                unflushed = 0
            }
        #endif
    }

    /// Syncs, closes (a close can fail and is reported), renames to `target`, syncs the folder.
    func finish(renamingTo target: String) throws {
        if fsync(descriptor) != 0 { throw localFileError("cannot sync", path) }
        let result = close(descriptor)
        descriptor = -1
        if result != 0 { throw localFileError("cannot close", path) }
        if rename(path, target) != 0 { throw localFileError("cannot rename into place", path) }
        Files.syncDirectory((target as NSString).deletingLastPathComponent)
    }

    /// Removes the file (its content is known to be wrong).
    func discard() {
        close(descriptor)
        descriptor = -1
        unlink(path)
    }
}

/// Hands read chunks to a second thread that appends them to the `.part` file and hashes them, so hashing and
/// disk writes overlap the next network read. Buffers are recycled through a semaphore.
private final class WriterPipeline: @unchecked Sendable {
    private let file: PartFile
    private let digest: FileDigest
    private var buffers: [UnsafeMutableRawBufferPointer] = []
    private var free: [Int]
    private let lock = NSLock()
    private let available: DispatchSemaphore
    private let queue = DispatchQueue(label: "responsys-etl.sftp.writer")
    private var writeError: SFTPError? = nil

    init(file: PartFile, digest: FileDigest, bufferSize: Int, bufferCount: Int) {
        self.file = file
        self.digest = digest
        for _ in 0..<bufferCount {
            buffers.append(UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16))
        }
        free = Array(buffers.indices)
        available = DispatchSemaphore(value: bufferCount)
    }

    deinit { for buffer in buffers { buffer.deallocate() } }

    /// Whether a write failed; the reader stops early.
    var failed: Bool { lock.withLock { writeError != nil } }

    /// Waits for a buffer the writer is done with and returns its slot number.
    func nextFreeSlot() -> Int {
        available.wait()
        return lock.withLock { free.removeLast() }
    }

    func buffer(_ slot: Int) -> UnsafeMutableRawBufferPointer { buffers[slot] }

    func release(_ slot: Int) {
        lock.withLock { free.append(slot) }
        available.signal()
    }

    /// Queues the first `count` bytes of `slot` for writing and hashing; the slot is released afterwards.
    func submit(_ slot: Int, count: Int) {
        queue.async {
            let chunk = UnsafeRawBufferPointer(rebasing: self.buffers[slot][0..<count])
            if !self.failed {
                do {
                    try self.file.append(chunk)
                    self.digest.update(chunk)
                } catch let error as SFTPError {
                    self.lock.withLock { self.writeError = error }
                } catch {
                    self.lock.withLock { self.writeError = SFTPError(.localIO, "\(error)") }
                }
            }
            self.release(slot)
        }
    }

    /// Waits for every submitted chunk; returns the first write error.
    func finish() -> SFTPError? {
        queue.sync {}
        return lock.withLock { writeError }
    }
}
