import CLibArchive
import Core
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One file an archive produced.
public struct ExtractedMember: Sendable, Equatable {
    /// Where it was written, inside the output folder.
    public var path: String
    /// Its name inside the archive (for a single-member gzip, the output name).
    public var memberName: String
    public var size: Int64

    public init(path: String, memberName: String, size: Int64) {
        self.path = path
        self.memberName = memberName
        self.size = size
    }
}

/// Unpacks `.zip`, `.gz` (every concatenated member) and `.tar.gz` with libarchive, safely.
///
/// Layout: members are flattened into the output folder under their base name, so no member path can
/// create folders or point anywhere else. When several members share a base name, each of them is named
/// by its whole member path with `/` turned into `_` (`2024/03/e.csv` → `2024_03_e.csv`); the names
/// depend only on the archive, so a re-run produces the same names.
///
/// Safety: a member with an absolute path, a `..` component or a backslash makes the whole archive an
/// error (`unsafeMember`) — a producer that writes such names is broken or hostile. Symbolic links,
/// hard links and special files carry no data and are skipped with a warning. Directory entries and
/// macOS debris (`__MACOSX/`, `._*`, `.DS_Store`) are skipped silently.
///
/// Atomicity: members are written under temporary names and renamed only once the whole archive has
/// been read without error, so a truncated or damaged archive leaves nothing behind.
public struct ArchiveExtractor: Sendable {
    private let logger: Logger
    private static let blockSize = 1 << 20

    public init(logger: Logger) {
        self.logger = logger
    }

    /// Unpacks `archive` into `folder`. A file that is not a zip or gzip passes through unchanged (hard
    /// linked, or copied when the folder is on another file system).
    /// - Parameter name: the archive's logical name, when `archive` is a temporary file; the name of a
    ///   single-member gzip output is this name without `.gz`.
    public func extract(archive: String, into folder: String, name: String? = nil) throws -> [ExtractedMember] {
        let logicalName = name ?? (archive as NSString).lastPathComponent
        try Files.makeDirectory(folder)
        switch FileKind.of(archive) {
        case .zip:
            try ArchiveExtractor.requireCentralDirectory(archive, name: logicalName)
            return try unpack(archive, name: logicalName, into: folder, gzip: false)
        case .gzip:
            return try unpack(archive, name: logicalName, into: folder, gzip: true)
        case .pgp, .plain:
            let target = folder + "/" + logicalName
            let size = try PassThrough.publish(archive, as: target, move: false)
            return [ExtractedMember(path: target, memberName: logicalName, size: size)]
        }
    }

    // MARK: - Reading

    private struct Pending {
        var memberName: String
        var temporary: String
        var size: Int64
    }

    private func unpack(_ archive: String, name: String, into folder: String, gzip: Bool) throws -> [ExtractedMember] {
        guard let reader = archive_read_new() else {
            throw ArchiveError(.unsupported, "libarchive cannot allocate a reader for \(name)")
        }
        defer { archive_read_free(reader) }
        if gzip {
            archive_read_support_filter_gzip(reader)
            archive_read_support_format_tar(reader)
            archive_read_support_format_raw(reader)
        } else {
            archive_read_support_format_zip(reader)
        }
        try check(archive_read_open_filename(reader, archive, ArchiveExtractor.blockSize), reader, name, "open")

        var pending: [Pending] = []
        var published = false
        defer {
            if !published { for item in pending { unlink(item.temporary) } }
        }

        let log = logger.with(["archive": name])
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(reader, &entry)
            if status == ARCHIVE_EOF { break }
            if status == ARCHIVE_WARN {
                log.warn("archive header warning", ["reason": ArchiveExtractor.errorText(reader)])
            } else {
                try check(status, reader, name, "read the next member header")
            }
            guard let entry else { break }

            let isRaw = archive_format(reader) == ARCHIVE_FORMAT_RAW
            let memberName = isRaw ? ArchiveExtractor.gunzippedName(name) : ArchiveExtractor.pathname(of: entry)
            guard let components = try acceptedComponents(memberName, entry: entry, archive: name, log: log) else {
                continue
            }
            if archive_entry_is_encrypted(entry) != 0 {
                throw ArchiveError(
                    .unsupported, "member \(memberName) of \(name) is password-protected",
                    remedy: "ask the sender for an unencrypted zip (use PGP for confidentiality)")
            }
            let temporary =
                folder + "/" + AtomicFileWriter.temporaryPrefix + "\(getpid())-\(pending.count)-"
                + (components.last ?? "member")
            pending.append(Pending(memberName: components.joined(separator: "/"), temporary: temporary, size: 0))
            let size = try copyData(reader, to: temporary, member: memberName, archive: name)
            if archive_entry_size_is_set(entry) != 0 && archive_entry_size(entry) != size && !isRaw {
                throw ArchiveError(
                    .corrupt,
                    "member \(memberName) of \(name) has \(size) bytes, its header says \(archive_entry_size(entry))",
                    remedy: "download the archive again")
            }
            pending[pending.count - 1].size = size
        }

        // Everything was read: name the outputs, then publish them all.
        let names = try ArchiveExtractor.outputNames(for: pending.map(\.memberName), archive: name)
        var members: [ExtractedMember] = []
        for (item, outputName) in zip(pending, names) {
            let target = folder + "/" + outputName
            if rename(item.temporary, target) != 0 {
                throw ETLError(.io, "cannot rename \(item.temporary) to \(target)", underlying: systemErrorText(errno))
            }
            members.append(ExtractedMember(path: target, memberName: item.memberName, size: item.size))
        }
        published = true
        Files.syncDirectory(folder)
        log.info("unpacked", ["members": members.count, "bytes": members.reduce(0) { $0 + $1.size }])
        return members
    }

    /// The path components of a member to extract, nil for a member to skip; throws for an unsafe path.
    private func acceptedComponents(
        _ memberName: String, entry: OpaquePointer, archive: String, log: Logger
    ) throws -> [String]? {
        if retl_archive_entry_is_directory(entry) != 0 || memberName.hasSuffix("/") { return nil }
        if memberName.hasPrefix("/") || memberName.contains("\\") || memberName.isEmpty
            || memberName.split(separator: "/").contains("..") || memberName.contains("\0")
            || (memberName.count >= 2 && memberName.dropFirst().first == ":")
        {
            throw ArchiveError(
                .unsafeMember, "member \(memberName) of \(archive) would be written outside the output folder",
                remedy: "the archive is broken or hostile; ask the sender for a clean one")
        }
        let components = memberName.split(separator: "/").map(String.init).filter { $0 != "." }
        guard let base = components.last else { return nil }
        if components.contains("__MACOSX") || base.hasPrefix("._") || base == ".DS_Store" { return nil }
        if retl_archive_entry_is_symlink(entry) != 0 || archive_entry_hardlink(entry) != nil {
            log.warn("skipped a link member", ["member": memberName])
            return nil
        }
        guard retl_archive_entry_is_regular(entry) != 0 else {
            log.warn("skipped a special-file member", ["member": memberName])
            return nil
        }
        return components
    }

    /// Streams the current member's data into a new file; returns its size.
    private func copyData(_ reader: OpaquePointer, to path: String, member: String, archive: String) throws -> Int64 {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ETLError(.io, "cannot create \(path)", underlying: systemErrorText(errno)) }
        var isOpen = true
        defer { if isOpen { close(fd) } }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ArchiveExtractor.blockSize, alignment: 16)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        while true {
            let count = archive_read_data(reader, buffer.baseAddress, buffer.count)
            if count == 0 { break }
            if count < 0 {
                throw ArchiveError(
                    .corrupt, "cannot read member \(member) of \(archive)",
                    underlying: ArchiveExtractor.errorText(reader),
                    remedy: "the archive is truncated or damaged; download it again")
            }
            var offset = 0
            while offset < count {
                let written = write(fd, buffer.baseAddress! + offset, count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw ETLError(.io, "cannot write \(path)", underlying: systemErrorText(errno))
                }
                offset += written
            }
            total += Int64(count)
        }
        if fsync(fd) != 0 { throw ETLError(.io, "cannot flush \(path)", underlying: systemErrorText(errno)) }
        isOpen = false
        if close(fd) != 0 { throw ETLError(.io, "cannot close \(path)", underlying: systemErrorText(errno)) }
        return total
    }

    // MARK: - Names

    /// Base names, or the whole member path joined with `_` for members whose base names collide.
    static func outputNames(for members: [String], archive: String) throws -> [String] {
        let bases = members.map { ($0 as NSString).lastPathComponent }
        var counts: [String: Int] = [:]
        for base in bases { counts[base, default: 0] += 1 }
        let names = zip(members, bases).map { member, base in
            counts[base, default: 0] > 1 ? member.replacingOccurrences(of: "/", with: "_") : base
        }
        var seen = Set<String>()
        for (member, name) in zip(members, names) where !seen.insert(name).inserted {
            throw ArchiveError(
                .duplicateMember,
                "\(archive) holds two members that would both be written as \(name) (one is \(member))",
                remedy: "ask the sender for an archive without duplicate member names")
        }
        return names
    }

    /// `events.csv.gz` → `events.csv`; a name without `.gz` keeps its name.
    static func gunzippedName(_ name: String) -> String {
        for suffix in [".gz", ".gzip", ".GZ"] where name.hasSuffix(suffix) && name.count > suffix.count {
            return String(name.dropLast(suffix.count))
        }
        return name
    }

    private static func pathname(of entry: OpaquePointer) -> String {
        if let utf8 = archive_entry_pathname_utf8(entry) { return String(cString: utf8) }
        if let raw = archive_entry_pathname(entry) { return String(cString: raw) }
        return ""
    }

    // MARK: - Errors

    /// The choke point: a libarchive status below ARCHIVE_WARN becomes an error with libarchive's text.
    private func check(_ status: Int32, _ reader: OpaquePointer, _ archive: String, _ action: String) throws {
        guard status < ARCHIVE_WARN else { return }
        throw ArchiveError(
            .corrupt, "cannot \(action) in \(archive)", underlying: ArchiveExtractor.errorText(reader),
            remedy: "the archive is truncated or damaged; download it again")
    }

    static func errorText(_ reader: OpaquePointer) -> String {
        if let text = archive_error_string(reader) { return String(cString: text) }
        return "libarchive error \(archive_errno(reader))"
    }

    /// A zip must end with its end-of-central-directory record (in the last 64 KiB + 22 bytes); a zip
    /// cut short loses it, and libarchive's streaming reader would otherwise accept the members before
    /// the cut as a whole archive.
    static func requireCentralDirectory(_ path: String, name: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ETLError(.io, "cannot open \(path)", underlying: systemErrorText(errno)) }
        defer { close(fd) }
        let size = lseek(fd, 0, SEEK_END)
        let length = Int(min(size, off_t(65_536 + 22)))
        var tail = [UInt8](repeating: 0, count: length)
        let count = pread(fd, &tail, length, size - off_t(length))
        guard count == length else {
            throw ETLError(.io, "cannot read the end of \(path)", underlying: systemErrorText(errno))
        }
        var index = length - 22
        while index >= 0 {
            if tail[index] == 0x50 && tail[index + 1] == 0x4B && tail[index + 2] == 0x05 && tail[index + 3] == 0x06 {
                return
            }
            index -= 1
        }
        throw ArchiveError(
            .corrupt, "\(name) is truncated: the zip has no central directory at its end",
            remedy: "download the archive again")
    }
}
