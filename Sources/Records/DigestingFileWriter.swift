import Core
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// `O_DIRECT` of Linux, which Glibc's Swift overlay does not export (it needs `_GNU_SOURCE`); the value is
/// part of each architecture's ABI. 0 elsewhere: no direct I/O.
#if os(Linux) && arch(x86_64)
    private let directIOFlag: Int32 = 0o040000
#elseif os(Linux) && arch(arm64)
    private let directIOFlag: Int32 = 0o200000
#else
    private let directIOFlag: Int32 = 0
#endif

/// Where the transform hands its output bytes: an `AtomicFileWriter`, or a `DigestingFileWriter`.
public protocol ByteOutput: AnyObject {
    func write(bytes: UnsafeRawBufferPointer) throws
}

extension AtomicFileWriter: ByteOutput {}

/// Publishes a file like `AtomicFileWriter` (a `.tmp-` name beside the target, mode 0600, fsync, rename,
/// folder sync), built for outputs of gigabytes:
///
/// - the SHA-256 is computed with libcrypto (CPU SHA extensions), not the pure-Swift `Core.SHA256`;
/// - digesting and writing happen on a second thread while the caller produces the next block;
/// - the file is written with `O_DIRECT` in aligned 1 MB blocks where the file system allows it, so gigabytes
///   of output neither fill the page cache with dirty pages (and stall on writeback) nor leave a long
///   `fsync` for the end. Where `O_DIRECT` is refused (tmpfs), it writes through the page cache.
///
/// Memory stays bounded: at most `queueDepth` blocks wait. A failure of the writing thread is thrown by the
/// next `write` or by `commit`.
public final class DigestingFileWriter: ByteOutput {
    public let path: String
    public let temporaryPath: String
    private let worker: Worker
    private var finished = false
    /// The block being filled by `write`, and how much of it is used.
    private var current: UnsafeMutableRawBufferPointer?
    private var currentCount = 0
    /// Blocks the caller fills; also the unit of `O_DIRECT` writes (a multiple of the 4096-byte alignment).
    static let blockSize = 1 << 20
    static let alignment = 4096
    /// Blocks waiting to be written, at most.
    static let queueDepth = 4

    /// The state shared with the writing thread, guarded by `condition`.
    private final class Worker: @unchecked Sendable {
        let condition = NSCondition()
        /// Blocks to write, each with the number of its bytes in use.
        var pending: [(block: UnsafeMutableRawBufferPointer, count: Int)] = []
        var spare: [UnsafeMutableRawBufferPointer] = []
        var allocated = 0
        var closing = false
        var stopped = false
        var failure: ETLError?
        var bytesWritten: Int64 = 0
        let fd: Int32
        var direct: Bool
        let temporaryPath: String
        var hasher = SHA256()

        init(fd: Int32, direct: Bool, temporaryPath: String) {
            self.fd = fd
            self.direct = direct
            self.temporaryPath = temporaryPath
        }

        func run() {
            while true {
                condition.lock()
                while pending.isEmpty && !closing { condition.wait() }
                if pending.isEmpty {
                    stopped = true
                    condition.broadcast()
                    condition.unlock()
                    return
                }
                let (block, count) = pending.removeFirst()
                let failed = failure != nil
                condition.unlock()

                if !failed { process(UnsafeRawBufferPointer(rebasing: block[0..<count])) }

                condition.lock()
                spare.append(block)
                condition.broadcast()
                condition.unlock()
            }
        }

        private func fail(_ error: ETLError) {
            condition.lock()
            failure = error
            condition.unlock()
        }

        private func process(_ block: UnsafeRawBufferPointer) {
            hasher.update(block)
            guard let base = block.baseAddress else { return }
            // Only the last block can be partial; O_DIRECT needs aligned lengths, so it is written buffered.
            if direct && block.count % DigestingFileWriter.alignment != 0 {
                let flags = fcntl(fd, F_GETFL)
                if flags < 0 || fcntl(fd, F_SETFL, flags & ~directIOFlag) != 0 {
                    return fail(
                        ETLError(
                            .io, "cannot change how \(temporaryPath) is written", underlying: systemErrorText(errno)))
                }
                direct = false
            }
            var offset = 0
            while offset < block.count {
                let written = Glibc.write(fd, base + offset, block.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return fail(ETLError(.io, "cannot write \(temporaryPath)", underlying: systemErrorText(errno)))
                }
                offset += written
            }
            condition.lock()
            bytesWritten += Int64(block.count)
            condition.unlock()
        }
    }

    public init(path: String) throws {
        self.path = path
        let folder = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        try Files.makeDirectory(folder.isEmpty ? "." : folder)
        temporaryPath = (folder.isEmpty ? "" : folder + "/") + AtomicFileWriter.temporaryPrefix + "\(getpid())-" + name
        let flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC
        var direct = directIOFlag != 0
        var fd = direct ? open(temporaryPath, flags | directIOFlag, 0o600) : -1
        if fd < 0 && (!direct || errno == EINVAL) {
            direct = false
            fd = open(temporaryPath, flags, 0o600)
        }
        guard fd >= 0 else {
            throw ETLError(.io, "cannot create \(temporaryPath)", underlying: systemErrorText(errno))
        }
        worker = Worker(fd: fd, direct: direct, temporaryPath: temporaryPath)
        let worker = self.worker
        let thread = Thread { worker.run() }
        thread.name = "digesting-writer"
        thread.start()
    }

    deinit {
        if !finished { abandon() }
        if let current { current.deallocate() }
        for block in worker.spare { block.deallocate() }
    }

    /// The bytes handed to the writer so far.
    public private(set) var bytesWritten: Int64 = 0

    public func write(bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished, "DigestingFileWriter written after commit or abandon")
        guard var source = bytes.baseAddress, bytes.count > 0 else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let block = try currentBlock()
            let take = min(remaining, DigestingFileWriter.blockSize - currentCount)
            (block.baseAddress! + currentCount).copyMemory(from: source, byteCount: take)
            currentCount += take
            source += take
            remaining -= take
            if currentCount == DigestingFileWriter.blockSize { try handOver() }
        }
        bytesWritten += Int64(bytes.count)
    }

    /// The block being filled, taking a free one (waiting for the thread if all are queued).
    private func currentBlock() throws -> UnsafeMutableRawBufferPointer {
        if let current { return current }
        worker.condition.lock()
        defer { worker.condition.unlock() }
        while worker.spare.isEmpty && worker.allocated >= DigestingFileWriter.queueDepth + 1
            && worker.failure == nil
        {
            worker.condition.wait()
        }
        if let failure = worker.failure { throw failure }
        let block: UnsafeMutableRawBufferPointer
        if worker.spare.isEmpty {
            block = .allocate(byteCount: DigestingFileWriter.blockSize, alignment: DigestingFileWriter.alignment)
            worker.allocated += 1
        } else {
            block = worker.spare.removeLast()
        }
        current = block
        currentCount = 0
        return block
    }

    /// Queues the current block for the thread.
    private func handOver() throws {
        guard let block = current else { return }
        current = nil
        worker.condition.lock()
        defer { worker.condition.unlock() }
        if let failure = worker.failure {
            worker.spare.append(block)
            throw failure
        }
        worker.pending.append((block, currentCount))
        currentCount = 0
        worker.condition.broadcast()
    }

    /// Waits for the writing thread to finish the queued blocks and stop.
    private func drain() {
        worker.condition.lock()
        worker.closing = true
        worker.condition.broadcast()
        while !worker.stopped { worker.condition.wait() }
        worker.condition.unlock()
    }

    /// Waits for the writes, syncs, closes and renames into place; returns the SHA-256 (hex) of the file.
    @discardableResult
    public func commit() throws -> String {
        precondition(!finished, "DigestingFileWriter committed twice")
        if currentCount > 0 {
            do {
                try handOver()
            } catch {
                abandon()
                throw error
            }
        }
        drain()
        if let failure = worker.failure {
            abandon()
            throw failure
        }
        let fd = worker.fd
        if fsync(fd) != 0 {
            let error = ETLError(.io, "cannot flush \(temporaryPath) to disk", underlying: systemErrorText(errno))
            abandon()
            throw error
        }
        finished = true
        if close(fd) != 0 {
            let error = ETLError(.io, "cannot close \(temporaryPath)", underlying: systemErrorText(errno))
            unlink(temporaryPath)
            throw error
        }
        if rename(temporaryPath, path) != 0 {
            let error = ETLError(.io, "cannot rename \(temporaryPath) to \(path)", underlying: systemErrorText(errno))
            unlink(temporaryPath)
            throw error
        }
        let folder = (path as NSString).deletingLastPathComponent
        Files.syncDirectory(folder.isEmpty ? "." : folder)
        return worker.hasher.finalizeHex()
    }

    /// Stops the thread and deletes the temporary file; the final path is untouched.
    public func abandon() {
        guard !finished else { return }
        finished = true
        drain()
        close(worker.fd)
        unlink(temporaryPath)
    }
}
