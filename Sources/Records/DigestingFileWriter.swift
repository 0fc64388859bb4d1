import Core
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where `NDJSONWriter` hands its bytes: an `AtomicFileWriter`, or a `DigestingFileWriter`.
public protocol ByteOutput: AnyObject {
    func write(bytes: UnsafeRawBufferPointer) throws
}

extension AtomicFileWriter: ByteOutput {}

/// Publishes a file like `AtomicFileWriter` (a `.tmp-` name beside the target, mode 0600, fsync, rename,
/// folder sync) but digests it with libcrypto's SHA-256, and digests and writes on a second thread while
/// the caller produces the next block: the transform writes gigabytes, and digesting them inline with the
/// pure-Swift `Core.SHA256` would dominate its run time.
///
/// `write` copies the block into one of a few buffers (at most `queueDepth` blocks wait), so memory stays
/// bounded. A failure of the writing thread is thrown by the next `write` or by `commit`.
public final class DigestingFileWriter: ByteOutput {
    public let path: String
    public let temporaryPath: String
    private let worker: Worker
    private var finished = false

    /// The state shared with the writing thread, guarded by `condition`.
    private final class Worker: @unchecked Sendable {
        let condition = NSCondition()
        /// Blocks to write, each with the number of its bytes in use.
        var pending: [(block: UnsafeMutableRawBufferPointer, count: Int)] = []
        var spare: [UnsafeMutableRawBufferPointer] = []
        var closing = false
        var stopped = false
        var failure: ETLError?
        var bytesWritten: Int64 = 0
        let fd: Int32
        let temporaryPath: String
        let hasher: CryptoSHA256

        init(fd: Int32, temporaryPath: String, hasher: CryptoSHA256) {
            self.fd = fd
            self.temporaryPath = temporaryPath
            self.hasher = hasher
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

        private func process(_ block: UnsafeRawBufferPointer) {
            hasher.update(block)
            guard let base = block.baseAddress else { return }
            var offset = 0
            while offset < block.count {
                let written = Glibc.write(fd, base + offset, block.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    let error = ETLError(.io, "cannot write \(temporaryPath)", underlying: systemErrorText(errno))
                    condition.lock()
                    failure = error
                    condition.unlock()
                    return
                }
                offset += written
            }
            condition.lock()
            bytesWritten += Int64(block.count)
            condition.unlock()
        }
    }

    /// Blocks waiting to be written, at most.
    private static let queueDepth = 3

    public init(path: String) throws {
        self.path = path
        let folder = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        try Files.makeDirectory(folder.isEmpty ? "." : folder)
        temporaryPath = (folder.isEmpty ? "" : folder + "/") + AtomicFileWriter.temporaryPrefix + "\(getpid())-" + name
        let hasher = try CryptoSHA256()
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw ETLError(.io, "cannot create \(temporaryPath)", underlying: systemErrorText(errno))
        }
        hasher.begin()
        worker = Worker(fd: fd, temporaryPath: temporaryPath, hasher: hasher)
        let worker = self.worker
        let thread = Thread { worker.run() }
        thread.name = "digesting-writer"
        thread.start()
    }

    deinit {
        if !finished { abandon() }
        for block in worker.spare { block.deallocate() }
    }

    /// The bytes handed to the file so far (written by the thread or waiting).
    public var bytesWritten: Int64 {
        worker.condition.lock()
        defer { worker.condition.unlock() }
        return worker.bytesWritten + Int64(worker.pending.reduce(0) { $0 + $1.count })
    }

    public func write(bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished, "DigestingFileWriter written after commit or abandon")
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        worker.condition.lock()
        defer { worker.condition.unlock() }
        while worker.pending.count >= DigestingFileWriter.queueDepth && worker.failure == nil {
            worker.condition.wait()
        }
        if let failure = worker.failure { throw failure }
        let block: UnsafeMutableRawBufferPointer
        if let index = worker.spare.firstIndex(where: { $0.count >= bytes.count }) {
            block = worker.spare.remove(at: index)
        } else {
            block = .allocate(byteCount: max(bytes.count, 1 << 20), alignment: 64)
        }
        block.baseAddress!.copyMemory(from: base, byteCount: bytes.count)
        worker.pending.append((block, bytes.count))
        worker.condition.broadcast()
    }

    /// Waits for the writing thread to finish the queued blocks.
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
        worker.hasher.finish()
        return worker.hasher.hex()
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
