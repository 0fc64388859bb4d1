import CLibSSH2
import Core

/// One entry of a remote folder. Symlinks are resolved with a `stat`, so `size`, `mtime` and `isRegular`
/// describe what a download would fetch; `isSymlink` records that the name was a link.
public struct RemoteEntry: Sendable, Equatable, Hashable {
    /// The name inside the folder (decoded from the server's UTF-8 bytes).
    public var name: String
    public var size: Int64
    /// Modification time, seconds since 1970 UTC (SFTP v3 has whole seconds).
    public var mtime: Int64
    public var isRegular: Bool
    public var isSymlink: Bool

    public init(name: String, size: Int64, mtime: Int64, isRegular: Bool = true, isSymlink: Bool = false) {
        self.name = name
        self.size = size
        self.mtime = mtime
        self.isRegular = isRegular
        self.isSymlink = isSymlink
    }
}

extension SFTPSession {
    /// Lists `directory`, without `.` and `..`, sorted by name. Names that are not valid UTF-8 are logged and
    /// left out (they could not be named in a config pattern or a ledger).
    public func list(directory: String) throws -> [RemoteEntry] {
        guard let handle = retl_sftp_opendir(sftp, directory) else {
            throw failure("cannot open the remote folder \(directory) on \(target)")
        }
        defer { _ = retl_sftp_close(handle) }

        var entries: [RemoteEntry] = []
        var links: [Int] = []
        var nameBuffer = [CChar](repeating: 0, count: 4096)
        while true {
            var attributes = LIBSSH2_SFTP_ATTRIBUTES()
            let length = nameBuffer.withUnsafeMutableBufferPointer {
                retl_sftp_readdir(handle, $0.baseAddress!, $0.count, nil, 0, &attributes)
            }
            if length < 0 { throw failure("cannot read the remote folder \(directory) on \(target)") }
            if length == 0 { break }
            let bytes = nameBuffer[0..<Int(length)].map { UInt8(bitPattern: $0) }
            if bytes == [0x2E] || bytes == [0x2E, 0x2E] { continue }
            guard let name = String(validating: bytes, as: UTF8.self) else {
                logger.warn(
                    "remote name is not UTF-8; skipped",
                    ["folder": directory, "bytes": bytes.map { String($0, radix: 16) }.joined(separator: " ")])
                continue
            }
            let entry = Self.entry(name: name, attributes: attributes)
            if entry.isSymlink { links.append(entries.count) }
            entries.append(entry)
            if entries.count % 1000 == 0 { keepAlive() }
        }

        // A link is described by what it points to; a dangling link stays a non-regular entry.
        for index in links {
            var attributes = LIBSSH2_SFTP_ATTRIBUTES()
            let path = Self.join(directory, entries[index].name)
            if retl_sftp_stat(sftp, path, &attributes) == 0 {
                var resolved = Self.entry(name: entries[index].name, attributes: attributes)
                resolved.isSymlink = true
                entries[index] = resolved
            } else {
                logger.debug("dangling remote symlink", ["path": path])
            }
        }
        return entries.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
    }

    /// The attributes of one remote path, following links.
    public func stat(path: String) throws -> RemoteEntry {
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        if retl_sftp_stat(sftp, path, &attributes) != 0 {
            throw failure("cannot read the attributes of \(path) on \(target)")
        }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return Self.entry(name: name, attributes: attributes)
    }

    static func entry(name: String, attributes: LIBSSH2_SFTP_ATTRIBUTES) -> RemoteEntry {
        let hasPermissions = attributes.flags & UInt(RETL_SFTP_ATTR_PERMISSIONS) != 0
        let type = attributes.permissions & UInt(RETL_SFTP_S_IFMT)
        return RemoteEntry(
            name: name,
            size: attributes.flags & UInt(RETL_SFTP_ATTR_SIZE) != 0 ? Int64(attributes.filesize) : 0,
            mtime: attributes.flags & UInt(RETL_SFTP_ATTR_ACMODTIME) != 0 ? Int64(attributes.mtime) : 0,
            isRegular: hasPermissions && type == UInt(RETL_SFTP_S_IFREG),
            isSymlink: hasPermissions && type == UInt(RETL_SFTP_S_IFLNK))
    }

    /// `folder/name` with exactly one slash.
    public static func join(_ folder: String, _ name: String) -> String {
        if folder.isEmpty { return name }
        return folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }
}
