import Core
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Publishes a file unchanged under a new name, atomically.
enum PassThrough {
    /// Hard links `source` to a temporary name beside `target`, then renames it over `target`; copies
    /// instead when the two are on different file systems (or links are not allowed). With `move`,
    /// renames `source` itself (for intermediate files the caller owns). Returns the size.
    static func publish(_ source: String, as target: String, move: Bool) throws -> Int64 {
        guard let size = try Files.size(source) else {
            throw ETLError(.notFound, "\(source) does not exist")
        }
        if move {
            if rename(source, target) != 0 {
                throw ETLError(.io, "cannot rename \(source) to \(target)", underlying: systemErrorText(errno))
            }
            return size
        }
        let folder = (target as NSString).deletingLastPathComponent
        let temporary =
            folder + "/" + AtomicFileWriter.temporaryPrefix + "\(getpid())-link-"
            + (target as NSString).lastPathComponent
        unlink(temporary)
        if link(source, temporary) == 0 {
            if rename(temporary, target) != 0 {
                let reason = systemErrorText(errno)
                unlink(temporary)
                throw ETLError(.io, "cannot rename \(temporary) to \(target)", underlying: reason)
            }
            return size
        }
        guard [EXDEV, EPERM, EMLINK, ENOTSUP].contains(errno) else {
            throw ETLError(.io, "cannot link \(source) to \(temporary)", underlying: systemErrorText(errno))
        }
        return try copy(source, to: target)
    }

    private static func copy(_ source: String, to target: String) throws -> Int64 {
        let fd = open(source, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ETLError(.io, "cannot open \(source)", underlying: systemErrorText(errno)) }
        defer { close(fd) }
        let writer = try AtomicFileWriter(path: target)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        do {
            while true {
                let count = read(fd, buffer.baseAddress, buffer.count)
                if count < 0 {
                    if errno == EINTR { continue }
                    throw ETLError(.io, "cannot read \(source)", underlying: systemErrorText(errno))
                }
                if count == 0 { break }
                try writer.write(bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            }
            try writer.commit()
        } catch {
            writer.abandon()
            throw error
        }
        return writer.bytesWritten
    }
}
