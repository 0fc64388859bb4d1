import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// What a file holds, judged by its first bytes, never by its name.
public enum FileKind: Sendable, Equatable {
    case pgp
    case zip
    case gzip
    case plain

    /// Reads the first bytes of `path`. An unreadable file is reported by the caller's next open.
    public static func of(_ path: String) -> FileKind {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .plain }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 64)
        let count = read(fd, &head, head.count)
        guard count > 0 else { return .plain }
        return of(head: Array(head.prefix(count)))
    }

    public static func of(head: [UInt8]) -> FileKind {
        if head.count >= 4, head[0] == 0x50, head[1] == 0x4B, [0x03, 0x05, 0x07].contains(head[2]),
            [0x04, 0x06, 0x08].contains(head[3])
        {
            return .zip
        }
        if head.count >= 2, head[0] == 0x1F, head[1] == 0x8B { return .gzip }
        if isBinaryPGP(head) { return .pgp }
        // ASCII armor, possibly after a byte-order mark or blank lines.
        let text = String(decoding: head, as: UTF8.self).trimmingCharacters(
            in: .whitespacesAndNewlines.union(["\u{FEFF}"]))
        if text.hasPrefix("-----BEGIN PGP MESSAGE-----") { return .pgp }
        return .plain
    }

    /// A binary OpenPGP message starts with a session-key packet: public-key (tag 1, version 3) or
    /// symmetric (tag 3, version 4 or 5). Checking the version byte keeps a Latin-1 CSV whose first
    /// byte happens to look like a packet tag from being taken for PGP.
    private static func isBinaryPGP(_ head: [UInt8]) -> Bool {
        guard let first = head.first, first & 0x80 != 0 else { return false }
        let tag: UInt8
        let lengthBytes: Int
        if first & 0x40 == 0 {
            tag = (first >> 2) & 0x0F
            switch first & 0x03 {
            case 0: lengthBytes = 1
            case 1: lengthBytes = 2
            case 2: lengthBytes = 4
            default: return false
            }
        } else {
            tag = first & 0x3F
            guard head.count > 1 else { return false }
            switch head[1] {
            case 0..<192: lengthBytes = 1
            case 192..<224: lengthBytes = 2
            case 255: lengthBytes = 5
            default: return false
            }
        }
        let versionIndex = 1 + lengthBytes
        guard head.count > versionIndex else { return false }
        let version = head[versionIndex]
        return (tag == 1 && version == 3) || (tag == 3 && (version == 4 || version == 5))
    }
}
