import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// File-system operations with the permissions and durability rules of DESIGN.md: folders 0700,
/// files 0600, outputs written under a temporary name, synced, then renamed into place.
public enum Files {
    /// Creates `path` and its missing parents with mode 0700. An existing folder keeps its mode.
    public static func makeDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { return }
            throw ETLError(.io, "cannot create folder \(path): a file of that name exists")
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try makeDirectory(parent) }
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw ETLError(.io, "cannot create folder \(path)", underlying: systemErrorText(errno))
        }
    }

    public static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    public static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// The size of a file, or nil when it does not exist. Other failures (permissions) throw.
    public static func size(_ path: String) throws -> Int64? {
        var info = stat()
        if stat(path, &info) != 0 {
            if errno == ENOENT { return nil }
            throw ETLError(.io, "cannot read the size of \(path)", underlying: systemErrorText(errno))
        }
        return Int64(info.st_size)
    }

    public static func read(_ path: String) throws -> Data {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            if !exists(path) { throw ETLError(.notFound, "\(path) does not exist") }
            throw ETLError(.io, "cannot open \(path) for reading", underlying: systemErrorText(errno))
        }
        defer { try? handle.close() }
        do {
            return try handle.readToEnd() ?? Data()
        } catch {
            throw ETLError(.io, "cannot read \(path)", underlying: "\(error)")
        }
    }

    /// Writes `data` to `path` atomically: a reader sees the old file or the whole new one, never a part.
    public static func writeAtomically(_ data: Data, to path: String) throws {
        let writer = try AtomicFileWriter(path: path)
        do {
            try writer.write(data)
            try writer.commit()
        } catch {
            writer.abandon()
            throw error
        }
    }

    /// The SHA-256 and size of a file, read in large blocks.
    public static func digest(_ path: String) throws -> (sha256: String, size: Int64) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw ETLError(.notFound, "\(path) does not exist") }
            throw ETLError(.io, "cannot open \(path)", underlying: systemErrorText(errno))
        }
        defer { close(fd) }
        var hasher = SHA256()
        var total: Int64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw ETLError(.io, "cannot read \(path)", underlying: systemErrorText(errno))
            }
            if count == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            total += Int64(count)
        }
        return (hasher.finalizeHex(), total)
    }

    /// Flushes a folder's entries (a rename inside it) to disk.
    public static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Removes a file or a folder tree; a missing path is not an error.
    public static func remove(_ path: String) throws {
        guard exists(path) || (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil else { return }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw ETLError(.io, "cannot remove \(path)", underlying: "\(error)")
        }
    }

    /// The names in a folder, sorted; an absent folder has none.
    public static func list(_ path: String) throws -> [String] {
        guard isDirectory(path) else { return [] }
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        } catch {
            throw ETLError(.io, "cannot list \(path)", underlying: "\(error)")
        }
    }
}
