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

/// How a large file is fetched over several SSH connections at once, each reading its own byte range.
///
/// libssh2 1.10 spends about twice the CPU of OpenSSH on decryption (it calls the cipher once per 16-byte
/// block), so one connection is CPU-bound on one core; two connections use two.
public struct ParallelDownload: Sendable {
    /// Connections in all, counting the session `download` is called on (at least 1).
    public var connections: Int
    /// Files smaller than this are fetched over the one session, through the sequential path.
    public var threshold: Int64
    /// Opens one more authenticated session to the same server (e.g. `SFTPConnector.connect`).
    public var connect: @Sendable () throws -> SFTPSession

    public static let defaultThreshold: Int64 = 64 << 20

    public init(
        connections: Int = 2, threshold: Int64 = defaultThreshold,
        connect: @escaping @Sendable () throws -> SFTPSession
    ) {
        self.connections = max(1, connections)
        self.threshold = threshold
        self.connect = connect
    }
}

extension SFTPSession {
    /// Downloads `remotePath` to `localPath` like `download(remotePath:to:expectedSize:readBufferSize:progress:)`,
    /// but a file of at least `parallel.threshold` bytes is split into `parallel.connections` byte ranges, each
    /// read over its own session (this one and sessions from `parallel.connect`) into one preallocated `.part`.
    ///
    /// Resume: the sidecar `NAME.part.ranges` records each range's start, end and bytes done. It is rewritten
    /// atomically only after the bytes it counts were synced, so after a crash a resume trusts no byte that was
    /// not written. A `.part` left by the sequential path is resumed as a finished prefix. The SHA-256 is computed
    /// over the finished file. If an extra session cannot be opened, its range is read over this session.
    /// `progress` is called on the calling thread.
    public func download(
        remotePath: String, to localPath: String, expectedSize: Int64, readBufferSize: Int = defaultReadBufferSize,
        parallel: ParallelDownload, progress: (Int64, Int64) -> Void = { _, _ in }
    ) throws -> DownloadResult {
        guard parallel.connections > 1 && expectedSize >= parallel.threshold && expectedSize > 0 else {
            return try download(
                remotePath: remotePath, to: localPath, expectedSize: expectedSize, readBufferSize: readBufferSize,
                progress: progress)
        }
        precondition(readBufferSize > 0)
        let started = monotonicSeconds()
        let partPath = localPath + ".part"
        let part = try RangedPartFile(path: partPath, size: expectedSize, rangeCount: parallel.connections)
        if part.resumedFrom > 0 {
            logger.info("resuming download", ["file": remotePath, "from": part.resumedFrom, "ranges": part.rangeCount])
        }

        // The SHA-256 follows the finished prefix as it grows, so little is left to hash at the end.
        let digest = FollowingDigest(part: part)
        defer { digest.stop() }
        // Range 0 runs here, on this session; each other range on a thread with a session of its own.
        let group = DispatchGroup()
        let fallback = LockedList<Int>()
        let connect = parallel.connect
        let loggerCopy = logger
        for index in 1..<part.rangeCount where !part.isFinishedBeforeTheEnd(index) {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                let session: SFTPSession
                do {
                    session = try connect()
                } catch {
                    loggerCopy.warn(
                        "cannot open another session; its range is read over the first one",
                        ["file": remotePath, "error": "\(error)"])
                    fallback.append(index)
                    return
                }
                part.run(range: index, remotePath: remotePath, session: session, bufferSize: readBufferSize) {}
            }
        }
        part.run(range: 0, remotePath: remotePath, session: self, bufferSize: readBufferSize) {
            progress(part.received, expectedSize)
        }
        while group.wait(timeout: .now() + 0.25) == .timedOut { progress(part.received, expectedSize) }
        for index in fallback.items.sorted() where part.firstError == nil {
            part.run(range: index, remotePath: remotePath, session: self, bufferSize: readBufferSize) {
                progress(part.received, expectedSize)
            }
        }

        if let error = part.firstError {
            if error.code == .sizeMismatch {
                part.discard()
            } else {
                part.checkpoint()
            }
            throw error
        }
        let sha256 = try part.finish(renamingTo: localPath, digest: digest.result)
        progress(expectedSize, expectedSize)
        logger.info(
            "downloaded",
            [
                "file": remotePath, "bytes": expectedSize, "resumed_from": part.resumedFrom,
                "ranges": part.rangeCount, "seconds": monotonicSeconds() - started,
            ])
        return DownloadResult(bytes: expectedSize, resumedFrom: part.resumedFrom, sha256: sha256)
    }
}

/// One byte range of a ranged download: `[start, end)`, of which the first `done` bytes are on disk.
struct ByteRange: Codable, Equatable {
    var start: Int64
    var end: Int64
    var done: Int64

    var length: Int64 { end - start }
}

/// The sidecar `NAME.part.ranges`: the file size and the progress of each range.
struct RangeLedger: Codable, Equatable {
    var size: Int64
    var ranges: [ByteRange]

    static func path(forPart partPath: String) -> String { partPath + ".ranges" }

    /// Ranges of nearly equal length covering `size` bytes, with the first `prefix` bytes already done.
    static func fresh(size: Int64, count: Int, prefix: Int64) -> RangeLedger {
        let count = Int64(max(1, count))
        var ranges: [ByteRange] = []
        for index in 0..<count {
            let start = size * index / count
            let end = size * (index + 1) / count
            ranges.append(ByteRange(start: start, end: end, done: min(max(prefix - start, 0), end - start)))
        }
        return RangeLedger(size: size, ranges: ranges)
    }

    /// The ledger at `path` when it is readable JSON; nil otherwise.
    static func load(_ path: String) -> RangeLedger? {
        guard let data = try? Files.read(path) else { return nil }
        return try? JSONDecoder().decode(RangeLedger.self, from: data)
    }

    /// Whether the ledger describes a file of `size` bytes: ranges in order, contiguous, covering it all.
    func fits(size expected: Int64) -> Bool {
        guard size == expected, !ranges.isEmpty, ranges.first?.start == 0, ranges.last?.end == size else {
            return false
        }
        for (index, range) in ranges.enumerated() {
            if range.start > range.end || range.done < 0 || range.done > range.length { return false }
            if index > 0 && ranges[index - 1].end != range.start { return false }
        }
        return true
    }

    /// The ledger with no range counting bytes beyond `length`, the length of the `.part` on disk.
    func clamped(toFileLength length: Int64) -> RangeLedger {
        var copy = self
        for index in copy.ranges.indices {
            let range = copy.ranges[index]
            copy.ranges[index].done = min(range.done, max(length - range.start, 0))
        }
        return copy
    }

    /// How many bytes from the start of the file are done without a gap.
    var contiguousPrefix: Int64 {
        var prefix: Int64 = 0
        for range in ranges {
            guard range.start == prefix else { break }
            prefix += range.done
            if range.done < range.length { break }
        }
        return prefix
    }

    var doneBytes: Int64 { ranges.reduce(0) { $0 + $1.done } }

    func save(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try Files.writeAtomically(try encoder.encode(self), to: path)
    }
}

/// The sequential path's answer to a `.part` left by a ranged download: only its finished prefix is trusted.
/// Returns the length to keep, after which the caller truncates the `.part` and removes the sidecar.
func trustedPrefix(ledgerPath: String, partLength: Int64, size: Int64) -> Int64 {
    guard let ledger = RangeLedger.load(ledgerPath), ledger.fits(size: size) else { return 0 }
    return min(ledger.clamped(toFileLength: partLength).contiguousPrefix, partLength)
}

/// Hashes a ranged download's `.part` from its start on a thread of its own, reading (from the page cache)
/// only bytes that are written, as the finished prefix grows.
private final class FollowingDigest: @unchecked Sendable {
    private let part: RangedPartFile
    private let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var stopped = false
    private var hasher = SHA256()
    private var failure: SFTPError? = nil

    init(part: RangedPartFile) {
        self.part = part
        Thread.detachNewThread { [self] in
            run()
            finished.signal()
        }
    }

    /// Ends the thread early (the download failed); `result` must not be called afterwards.
    func stop() { lock.withLock { stopped = true } }

    /// Waits until the whole file is hashed; the lowercase hex SHA-256.
    func result() throws -> String {
        finished.wait()
        finished.signal()
        if let failure { throw failure }
        return hasher.finalizeHex()
    }

    private func run() {
        let reader = open(part.path, O_RDONLY | O_CLOEXEC)
        guard reader >= 0 else {
            failure = SFTPError(.localIO, "cannot read back \(part.path)", underlying: systemErrorText(errno))
            return
        }
        defer { close(reader) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var hashed: Int64 = 0
        while hashed < part.size {
            if lock.withLock({ stopped }) { return }
            let frontier = part.finishedPrefix
            if frontier <= hashed {
                usleep(5_000)
                continue
            }
            let count = pread(
                reader, buffer.baseAddress, Int(min(Int64(buffer.count), frontier - hashed)), off_t(hashed))
            if count < 0 && errno == EINTR { continue }
            if count <= 0 {
                failure = SFTPError(.localIO, "cannot read back \(part.path)", underlying: systemErrorText(errno))
                return
            }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            hashed += Int64(count)
        }
    }
}

/// A small list several threads append to.
private final class LockedList<Element: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Element] = []
    func append(_ element: Element) { lock.withLock { storage.append(element) } }
    var items: [Element] { lock.withLock { storage } }
}

/// The `.part` of a ranged download, written with `pwrite` by one thread per range, and its sidecar.
private final class RangedPartFile: @unchecked Sendable {
    let path: String
    let ledgerPath: String
    let size: Int64
    let resumedFrom: Int64
    private var descriptor: Int32
    private let lock = NSLock()
    private var ledger: RangeLedger
    private var error: SFTPError? = nil
    private var sinceCheckpoint: Int64 = 0
    /// Serialises checkpoints, so an older snapshot never overwrites a newer one.
    private let checkpointLock = NSLock()

    /// Bytes of progress between two checkpoints (a sync of the `.part`, then the sidecar).
    static let checkpointInterval: Int64 = 64 << 20

    init(path: String, size: Int64, rangeCount: Int) throws {
        self.path = path
        self.size = size
        ledgerPath = RangeLedger.path(forPart: path)
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if descriptor < 0 { throw localFileError("cannot open", path) }
        var ledger: RangeLedger
        do {
            if fchmod(descriptor, 0o600) != 0 { throw localFileError("cannot set permissions on", path) }
            var status = stat()
            if fstat(descriptor, &status) != 0 { throw localFileError("cannot read the size of", path) }
            let length = Int64(status.st_size)
            if let saved = RangeLedger.load(ledgerPath), saved.fits(size: size) {
                // Bytes the sidecar counts beyond the file's length were never written (a crash before the
                // file was extended); they are read again.
                ledger = saved.clamped(toFileLength: length)
            } else {
                // No usable sidecar. Without one, a .part is the sequential path's: a finished prefix. With a
                // stale or damaged one, nothing in the .part can be trusted.
                let prefix = Files.exists(ledgerPath) || length > size ? 0 : length
                if prefix < length && ftruncate(descriptor, off_t(prefix)) != 0 {
                    throw localFileError("cannot truncate", path)
                }
                ledger = RangeLedger.fresh(size: size, count: rangeCount, prefix: prefix)
                if prefix > 0 && fsync(descriptor) != 0 { throw localFileError("cannot sync", path) }
                // The sidecar exists before the file grows, so a grown .part is never mistaken for a prefix.
                try ledger.save(to: ledgerPath)
            }
            if length != size && ftruncate(descriptor, off_t(size)) != 0 {
                throw localFileError("cannot preallocate", path)
            }
        } catch {
            close(descriptor)
            throw error
        }
        self.ledger = ledger
        resumedFrom = ledger.doneBytes
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    var rangeCount: Int { lock.withLock { ledger.ranges.count } }
    /// Bytes from the start of the file that are written, without a gap.
    var finishedPrefix: Int64 { lock.withLock { ledger.contiguousPrefix } }
    var received: Int64 { lock.withLock { ledger.doneBytes } }
    var firstError: SFTPError? { lock.withLock { error } }

    func isFinishedBeforeTheEnd(_ index: Int) -> Bool {
        lock.withLock { ledger.ranges[index].done == ledger.ranges[index].length && index < ledger.ranges.count - 1 }
    }

    /// Reads range `index` over `session` to its end (the last range also checks that the file ends there).
    /// A failure is recorded for the caller, and stops the other ranges at their next read.
    func run(range index: Int, remotePath: String, session: SFTPSession, bufferSize: Int, afterRead: () -> Void) {
        do {
            try read(range: index, remotePath: remotePath, session: session, bufferSize: bufferSize, afterRead)
        } catch let failure as SFTPError {
            lock.withLock { if error == nil { error = failure } }
        } catch {
            lock.withLock { if self.error == nil { self.error = SFTPError(.localIO, "\(error)") } }
        }
    }

    private func read(
        range index: Int, remotePath: String, session: SFTPSession, bufferSize: Int, _ afterRead: () -> Void
    ) throws {
        let (range, isLast) = lock.withLock { (ledger.ranges[index], index == ledger.ranges.count - 1) }
        var offset = range.start + range.done
        if offset == range.end && !isLast { return }
        let remote = try RemoteFile(session: session, path: remotePath)
        if offset > 0 { retl_sftp_seek(remote.handle, UInt64(offset)) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)
        defer { buffer.deallocate() }
        let bytes = buffer.bindMemory(to: CChar.self)
        var writebackFrom = offset
        var reads = 0
        while offset < range.end {
            if firstError != nil { return }
            let want = Int(min(Int64(bufferSize), range.end - offset))
            let count = libssh2_sftp_read(remote.handle, bytes.baseAddress, want)
            if count < 0 {
                throw session.failure("download of \(remotePath) from \(session.target) failed at byte \(offset)")
            }
            if count == 0 { throw sizeMismatch(remotePath, session, endedAt: offset) }
            try write(UnsafeRawBufferPointer(start: buffer.baseAddress, count: count), at: offset)
            offset += Int64(count)
            #if os(Linux)
                // Writeback starts as data arrives, so the final sync finds little left to do.
                if offset - writebackFrom >= 8 << 20 {
                    _ = retl_start_writeback(descriptor, writebackFrom, offset - writebackFrom)
                    writebackFrom = offset
                }
            #endif
            if advance(index, by: Int64(count)) { checkpoint() }
            afterRead()
            reads += 1
            if reads % 64 == 0 { session.keepAlive() }
        }
        if isLast {
            // The listing's size must be the file's size: a read past it must find the end.
            let count = libssh2_sftp_read(remote.handle, bytes.baseAddress, 1)
            if count < 0 {
                throw session.failure("download of \(remotePath) from \(session.target) failed at byte \(offset)")
            }
            if count > 0 {
                throw SFTPError(
                    .sizeMismatch, "\(remotePath) on \(session.target) is longer than the listing's \(size) bytes",
                    remedy: "The file changed while it was being fetched; the next run fetches it again")
            }
        }
    }

    private func sizeMismatch(_ remotePath: String, _ session: SFTPSession, endedAt offset: Int64) -> SFTPError {
        SFTPError(
            .sizeMismatch, "\(remotePath) on \(session.target) has \(offset) bytes, but the listing said \(size)",
            remedy: "The file changed while it was being fetched; the next run fetches it again")
    }

    private func write(_ bytes: UnsafeRawBufferPointer, at start: Int64) throws {
        var written = 0
        while written < bytes.count {
            let result = pwrite(
                descriptor, bytes.baseAddress! + written, bytes.count - written, off_t(start) + off_t(written))
            if result < 0 {
                if errno == EINTR { continue }
                throw localFileError("cannot write", path)
            }
            written += result
        }
    }

    /// Counts `count` written bytes for range `index`; true when a checkpoint is due.
    private func advance(_ index: Int, by count: Int64) -> Bool {
        lock.withLock {
            ledger.ranges[index].done += count
            sinceCheckpoint += count
            if sinceCheckpoint < Self.checkpointInterval { return false }
            sinceCheckpoint = 0
            return true
        }
    }

    /// Records progress durably: the counts are taken, the bytes they cover are synced, then the sidecar is
    /// replaced. A failure here only loses progress (the older sidecar stays), so it is not an error.
    func checkpoint() {
        checkpointLock.withLock {
            let snapshot = lock.withLock { ledger }
            guard fdatasync(descriptor) == 0 else { return }
            try? snapshot.save(to: ledgerPath)
        }
    }

    /// Syncs the finished file, waits for its SHA-256 from `digest`, renames it into place and removes the
    /// sidecar. Returns the SHA-256.
    func finish(renamingTo target: String, digest finalDigest: () throws -> String) throws -> String {
        if fsync(descriptor) != 0 { throw localFileError("cannot sync", path) }
        let result = close(descriptor)
        descriptor = -1
        if result != 0 { throw localFileError("cannot close", path) }
        let digest = try finalDigest()
        if rename(path, target) != 0 { throw localFileError("cannot rename into place", path) }
        let folder = (target as NSString).deletingLastPathComponent
        Files.syncDirectory(folder)
        unlink(ledgerPath)
        Files.syncDirectory(folder)
        return digest
    }

    /// Removes the file and its sidecar (the content is known to be wrong).
    func discard() {
        close(descriptor)
        descriptor = -1
        unlink(ledgerPath)
        unlink(path)
    }
}
