import CGPGME
import Core
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A gpgme data object over a file descriptor, with a 1 MiB buffer of our own.
///
/// gpgme moves data between gpg and a data object 4 KiB at a time; over plain fd data that costs one
/// `read` or `write` on the file per 4 KiB. Serving those small requests from a large buffer cuts the
/// file-side system calls by 256 and keeps memory fixed, whatever the file size.
final class BufferedFileData {
    private let fd: Int32
    private let buffer: UnsafeMutableRawBufferPointer
    /// Reading: the valid bytes are `start..<end`. Writing: `end` bytes are pending.
    private var start = 0
    private var end = 0
    /// The first `errno` a file call failed with, for the error message.
    private(set) var failure: Int32?
    private let callbacks: UnsafeMutablePointer<gpgme_data_cbs>
    private(set) var handle: gpgme_data_t?
    /// A stand-in (fd -1) for a stream `EventLoop` moves itself: reads give end-of-data, and a write
    /// means gpgme sent the stream here after all, which `touched` records and the operation fails on.
    private let isStandIn: Bool
    private(set) var touched = false

    /// A stand-in data object for a stream the event loop's fast path carries (see `EventLoop`).
    convenience init(standInForWriting forWriting: Bool) throws {
        try self.init(fd: -1, forWriting: forWriting, bufferSize: 16)
    }

    /// Wraps `fd` for reading (`forWriting` false) or writing. The caller keeps the fd open and closes it.
    init(fd: Int32, forWriting: Bool, bufferSize: Int = 1 << 20) throws {
        self.fd = fd
        isStandIn = fd < 0
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)
        callbacks = UnsafeMutablePointer<gpgme_data_cbs>.allocate(capacity: 1)
        callbacks.initialize(
            to: gpgme_data_cbs(
                read: forWriting
                    ? nil
                    : { hook, destination, size in
                        guard let hook, let destination else { return -1 }
                        let data = Unmanaged<BufferedFileData>.fromOpaque(hook).takeUnretainedValue()
                        return data.read(into: destination, size: size)
                    },
                write: forWriting
                    ? { hook, source, size in
                        guard let hook, let source else { return -1 }
                        let data = Unmanaged<BufferedFileData>.fromOpaque(hook).takeUnretainedValue()
                        return data.write(from: source, size: size)
                    }
                    : nil,
                seek: nil,
                release: nil))
        var created: gpgme_data_t?
        let error = gpgme_data_new_from_cbs(&created, callbacks, Unmanaged.passUnretained(self).toOpaque())
        if error != 0 {
            callbacks.deallocate()
            buffer.deallocate()
            try GPGME.check(error, .engine, "cannot create a gpgme data object")
        }
        handle = created
    }

    deinit {
        gpgme_data_release(handle)
        callbacks.deallocate()
        buffer.deallocate()
    }

    private func read(into destination: UnsafeMutableRawPointer, size: Int) -> Int {
        if isStandIn { return 0 }
        if start == end {
            start = 0
            end = 0
            while true {
                let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count < 0 {
                    failure = errno
                    return -1
                }
                end = count
                break
            }
            if end == 0 { return 0 }
        }
        let count = min(size, end - start)
        destination.copyMemory(from: buffer.baseAddress! + start, byteCount: count)
        start += count
        return count
    }

    private func write(from source: UnsafeRawPointer, size: Int) -> Int {
        if isStandIn {
            touched = true
            errno = EIO
            return -1
        }
        if end + size > buffer.count {
            guard flushPending() else { return -1 }
        }
        if size > buffer.count {
            return writeAll(source, size) ? size : -1
        }
        (buffer.baseAddress! + end).copyMemory(from: source, byteCount: size)
        end += size
        return size
    }

    /// Writes the buffered bytes to the file; false (with `failure` set) when the file refused them.
    @discardableResult
    func flushPending() -> Bool {
        guard end > 0 else { return true }
        let ok = writeAll(buffer.baseAddress!, end)
        end = 0
        return ok
    }

    private func writeAll(_ source: UnsafeRawPointer, _ size: Int) -> Bool {
        var offset = 0
        while offset < size {
            let written = Glibc.write(fd, source + offset, size - offset)
            if written < 0 {
                if errno == EINTR { continue }
                failure = errno
                return false
            }
            offset += written
        }
        return true
    }
}
