import CGPGME
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Runs one gpgme decryption with our own I/O loop (gpgme's "user I/O callbacks").
///
/// Why: gpgme's own loop moves the message and the plaintext through its data objects 4 KiB at a
/// time, and each 4 KiB passes through its trace helpers, which scan the bytes even with tracing off;
/// with the extra wake-ups that made decryption two to three times slower than `gpg --decrypt`.
///
/// How: gpgme still starts gpg, parses every status line, answers the passphrase inquiry and decides
/// the result. Only the two bulk streams are moved by this loop, with 1 MiB reads and writes, through
/// pipes enlarged to 1 MiB: the ciphertext from the input file into gpg's input pipe, and the
/// plaintext from gpg's output pipe into the output file. Which pipes those are is learned when gpgme
/// signals the start: the only outbound descriptor is the input, and the last inbound one registered
/// is the output (status and diagnostics come first). The data objects gpgme holds for those streams
/// are stand-ins; if gpgme ever writes plaintext to its stand-in, the guess was wrong, `mismatch` is
/// set, and the caller decrypts again without the fast path (`fast` nil), where gpgme moves all data.
final class EventLoop {
    private enum Role { case gpgme, input, output }

    private final class Registration {
        let fd: Int32
        let inbound: Bool
        let handler: gpgme_io_cb_t
        let handlerValue: UnsafeMutableRawPointer?
        var active = true
        var role = Role.gpgme

        init(fd: Int32, inbound: Bool, handler: gpgme_io_cb_t, handlerValue: UnsafeMutableRawPointer?) {
            self.fd = fd
            self.inbound = inbound
            self.handler = handler
            self.handlerValue = handlerValue
        }
    }

    /// The files the fast path reads from and writes to; nil to let gpgme move all data.
    private let fast: (input: Int32, output: Int32)?
    private var context: gpgme_ctx_t?
    private var registrations: [Registration] = []
    private var done = false
    private var result: gpgme_error_t = 0
    /// The fast path could not tell which pipes carry the data; decrypt again without it.
    private(set) var mismatch = false
    /// The errno of a failed read of the input or write of the output file.
    private(set) var fileFailure: (errno: Int32, writing: Bool)?

    /// Ciphertext read from the input file and not yet taken by gpg (`pendingStart..<pendingEnd`).
    private let inputBlock: UnsafeMutableRawBufferPointer
    /// Plaintext on its way from gpg's pipe to the output file.
    private let outputBlock: UnsafeMutableRawBufferPointer
    private var pendingStart = 0
    private var pendingEnd = 0
    private static let blockSize = 1 << 20
    private static let pipeSize: Int32 = 1 << 20
    /// How many handler calls one wake-up may make on one gpgme descriptor before the others get a turn.
    private static let burst = 64
    /// Below this many bytes moved in one wake-up, the loop pauses before polling again.
    private static let coalesceBelow = 256 << 10

    /// Tests set `pretendMismatch` to walk the caller's start-over path.
    private let pretendMismatch: Bool

    init(fast: (input: Int32, output: Int32)?, pretendMismatch: Bool = false) {
        self.fast = fast
        self.pretendMismatch = pretendMismatch
        inputBlock = UnsafeMutableRawBufferPointer.allocate(byteCount: EventLoop.blockSize, alignment: 64)
        outputBlock = UnsafeMutableRawBufferPointer.allocate(byteCount: EventLoop.blockSize, alignment: 64)
    }

    deinit {
        inputBlock.deallocate()
        outputBlock.deallocate()
    }

    /// Installs this loop on `context`; call before starting the operation.
    func install(on context: gpgme_ctx_t) {
        self.context = context
        var callbacks = gpgme_io_cbs(
            add: { loopPointer, fd, direction, handler, handlerValue, tag in
                guard let loopPointer, let handler else { return retl_gpgme_error(GPG_ERR_INV_VALUE.rawValue) }
                let loop = Unmanaged<EventLoop>.fromOpaque(loopPointer).takeUnretainedValue()
                let registration = Registration(
                    fd: fd, inbound: direction != 0, handler: handler, handlerValue: handlerValue)
                loop.registrations.append(registration)
                // Bigger pipes: gpg writes (and we read) in fewer, larger steps. Refusal is harmless.
                _ = retl_gpgme_set_pipe_size(fd, EventLoop.pipeSize)
                tag?.pointee = Unmanaged.passUnretained(registration).toOpaque()
                return 0
            },
            add_priv: Unmanaged.passUnretained(self).toOpaque(),
            remove: { tag in
                guard let tag else { return }
                Unmanaged<Registration>.fromOpaque(tag).takeUnretainedValue().active = false
            },
            event: { loopPointer, type, typeData in
                guard let loopPointer else { return }
                let loop = Unmanaged<EventLoop>.fromOpaque(loopPointer).takeUnretainedValue()
                if type == GPGME_EVENT_START {
                    loop.assignRoles()
                } else if type == GPGME_EVENT_DONE {
                    loop.done = true
                    if let data = typeData?.assumingMemoryBound(to: gpgme_io_event_done_data.self) {
                        loop.result = data.pointee.err != 0 ? data.pointee.err : data.pointee.op_err
                    }
                }
            },
            event_priv: Unmanaged.passUnretained(self).toOpaque())
        gpgme_set_io_cbs(context, &callbacks)
    }

    /// At the start gpgme has registered status, diagnostics and the two data pipes, in that order.
    private func assignRoles() {
        guard fast != nil else { return }
        let outbound = registrations.filter { !$0.inbound }
        let inbound = registrations.filter(\.inbound)
        guard !pretendMismatch, outbound.count == 1, inbound.count >= 2, let output = inbound.last else {
            mismatch = true
            return
        }
        outbound[0].role = .input
        output.role = .output
        // Our writes into gpg's input must never block while gpg waits for us to read.
        let flags = fcntl(outbound[0].fd, F_GETFL)
        if flags < 0 || fcntl(outbound[0].fd, F_SETFL, flags | O_NONBLOCK) != 0 { mismatch = true }
    }

    /// Runs until gpgme reports the operation done; returns the operation's error value (0 on success).
    func run() -> gpgme_error_t {
        // The pipes are not as expected: stop gpg before any data moved; the caller starts over.
        if mismatch, let context {
            gpgme_cancel(context)
            return result
        }
        while !done {
            registrations.removeAll { !$0.active }
            if registrations.isEmpty { break }
            let current = registrations
            var descriptors = current.map {
                pollfd(fd: $0.fd, events: Int16($0.inbound ? POLLIN : POLLOUT), revents: 0)
            }
            let ready = poll(&descriptors, nfds_t(descriptors.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return gpgme_error_from_errno(errno)
            }
            var moved = 0
            for (registration, descriptor) in zip(current, descriptors) where descriptor.revents != 0 {
                guard registration.active, !done else { continue }
                switch registration.role {
                case .input: moved += feedInput(registration)
                case .output: moved += drainOutput(registration)
                case .gpgme: callGPGME(registration)
                }
            }
            // Small steps mean gpg and this loop are handing pages back and forth; pausing a
            // millisecond lets the 1 MiB pipes fill (or empty) so the next wake-up moves a lot.
            // gpg never waits on this: a full pipe takes several milliseconds to empty.
            if fast != nil && moved > 0 && moved < EventLoop.coalesceBelow && !done {
                usleep(1000)
            }
        }
        return result
    }

    /// Calls gpgme's handler, again while the descriptor stays ready.
    private func callGPGME(_ registration: Registration) {
        var calls = 0
        repeat {
            _ = registration.handler(registration.handlerValue, registration.fd)
            calls += 1
        } while !done && registration.active && calls < EventLoop.burst && stillReady(registration)
    }

    /// Bytes waiting in an inbound pipe, or room in an outbound one.
    private func stillReady(_ registration: Registration) -> Bool {
        if registration.inbound {
            var available: Int32 = 0
            return ioctl(registration.fd, UInt(FIONREAD), &available) == 0 && available > 0
        }
        var descriptor = pollfd(fd: registration.fd, events: Int16(POLLOUT), revents: 0)
        return poll(&descriptor, 1, 0) == 1 && descriptor.revents & Int16(POLLOUT) != 0
    }

    /// Moves ciphertext from the input file into gpg until the pipe is full; at the end of the file,
    /// lets gpgme close the pipe (its stand-in data object reports end-of-data).
    @discardableResult
    private func feedInput(_ registration: Registration) -> Int {
        guard let fast else { return 0 }
        var moved = 0
        while true {
            // In the kernel from file to pipe when the system allows it (nothing is pending then).
            if canSpliceInput && pendingStart == pendingEnd {
                let count = retl_gpgme_splice(fast.input, registration.fd, UInt(EventLoop.blockSize), 1)
                if count > 0 {
                    moved += count
                    continue
                }
                if count == 0 {
                    callGPGME(registration)
                    return moved
                }
                if errno == EINTR { continue }
                if errno == EAGAIN { return moved }
                if errno == EINVAL || errno == ENOSYS {
                    canSpliceInput = false
                    continue
                }
                if errno == EPIPE {
                    // gpg stopped reading (it failed or finished early): gpgme's handler reports it.
                    callGPGME(registration)
                    return moved
                }
                fileFailure = (errno, false)
                giveUpAfterFileFailure()
                return moved
            }
            if pendingStart == pendingEnd {
                let count = read(fast.input, inputBlock.baseAddress, inputBlock.count)
                if count < 0 {
                    if errno == EINTR { continue }
                    fileFailure = (errno, false)
                    giveUpAfterFileFailure()
                    return moved
                }
                if count == 0 {
                    callGPGME(registration)
                    return moved
                }
                pendingStart = 0
                pendingEnd = count
            }
            let written = write(registration.fd, inputBlock.baseAddress! + pendingStart, pendingEnd - pendingStart)
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { return moved }
                // gpg stopped reading (it failed or finished early): gpgme's handler sees and reports it.
                callGPGME(registration)
                return moved
            }
            pendingStart += written
            moved += written
        }
    }

    /// Moves plaintext from gpg's pipe into the output file while there is some; at the end of the
    /// stream, lets gpgme see it and close the pipe.
    @discardableResult
    private func drainOutput(_ registration: Registration) -> Int {
        guard let fast else { return 0 }
        var moved = 0
        for _ in 0..<16 {
            // In the kernel from pipe to file when the system allows it; read and write otherwise.
            var count = canSplice ? retl_gpgme_splice(registration.fd, fast.output, UInt(EventLoop.blockSize), 1) : -1
            if count < 0 && canSplice && (errno == EINVAL || errno == ENOSYS) { canSplice = false }
            if count < 0 && !canSplice {
                count = read(registration.fd, outputBlock.baseAddress, outputBlock.count)
                if count > 0 && !writeOutput(count, to: fast.output) { return moved }
            } else if count < 0 && errno != EAGAIN && errno != EINTR {
                // The file refused the bytes (disk full…): splice reports the file's error.
                fileFailure = (errno, true)
                giveUpAfterFileFailure()
                return moved
            }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return moved }
                callGPGME(registration)
                return moved
            }
            if count == 0 {
                callGPGME(registration)
                return moved
            }
            moved += count
            var available: Int32 = 0
            if ioctl(registration.fd, UInt(FIONREAD), &available) != 0 || available == 0 { return moved }
        }
        return moved
    }

    private var canSplice = true
    private var canSpliceInput = true

    private func writeOutput(_ count: Int, to output: Int32) -> Bool {
        var offset = 0
        while offset < count {
            let written = write(output, outputBlock.baseAddress! + offset, count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                fileFailure = (errno, true)
                giveUpAfterFileFailure()
                return false
            }
            offset += written
        }
        return true
    }

    private func giveUpAfterFileFailure() {
        if let context { gpgme_cancel(context) }
    }
}
