import Core
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Inflates a gzip file on a thread of its own into a local socket, so a reader that takes a file
/// descriptor (`Records.CSVReader`) can read the plain text as a stream, never holding the whole file.
///
/// A socket pair rather than a pipe: writes use `MSG_NOSIGNAL`, so a reader that stops early makes the
/// feeder stop with EPIPE instead of raising SIGPIPE in the process.
final class GzipFeeder: @unchecked Sendable {
    /// The descriptor to read the inflated bytes from; owned by the caller once taken.
    let readDescriptor: Int32
    private let writeDescriptor: Int32
    private let source: GzipByteSource
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var failure: Error?

    init(path: String) throws {
        source = try GzipByteSource(path: path)
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw AudienceError(
                .io, "cannot create a socket pair to inflate \(path)", underlying: systemErrorText(errno))
        }
        readDescriptor = pair[0]
        writeDescriptor = pair[1]
        let thread = Thread { [self] in
            feed()
            close(writeDescriptor)
            done.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func feed() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        do {
            while true {
                let count = try source.read(into: buffer)
                if count == 0 { return }
                var offset = 0
                while offset < count {
                    let sent = send(writeDescriptor, buffer.baseAddress! + offset, count - offset, Int32(MSG_NOSIGNAL))
                    if sent < 0 {
                        if errno == EINTR { continue }
                        // EPIPE: the reader stopped; its own outcome decides what happens.
                        if errno == EPIPE { return }
                        throw AudienceError(
                            .io, "cannot pass inflated data to the reader", underlying: systemErrorText(errno))
                    }
                    offset += sent
                }
            }
        } catch {
            lock.withLock { failure = error }
        }
    }

    /// Waits for the feeder to end and throws its failure (a damaged gzip file), if any. Call after the
    /// reader has read to the end, or after closing `readDescriptor`.
    func finish() throws {
        done.wait()
        if let failure = lock.withLock({ failure }) { throw failure }
    }
}
