import CLibSSH2
import Core
import Foundation

/// How the server's identity is checked, before any key is offered to it.
public enum HostKeyPolicy: Sendable, Equatable {
    /// An OpenSSH known_hosts file: plain or hashed names, `[host]:port` entries, several key types.
    case knownHosts(String)
    /// One pinned key fingerprint, as OpenSSH prints it: `SHA256:` then unpadded base64.
    case pinned(String)
    /// No verification: only to read `presentedFingerprint` (the `check` command). Authentication is refused.
    case reportOnly
}

/// The server's host key as presented during the handshake.
public struct HostKey: Sendable, Equatable {
    /// The key's algorithm as OpenSSH names it (`ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`…).
    public var algorithm: String
    /// `SHA256:` followed by unpadded base64, exactly what `ssh-keygen -lf` prints.
    public var fingerprint: String
}

/// The SHA-256 fingerprint of a key blob in OpenSSH's notation.
func openSSHFingerprint<Bytes: Sequence>(_ blob: Bytes) -> String where Bytes.Element == UInt8 {
    var digest = SHA256()
    digest.update(blob)
    return "SHA256:" + unpaddedBase64(digest.finalize())
}

func unpaddedBase64(_ bytes: [UInt8]) -> String {
    var text = Data(bytes).base64EncodedString()
    while text.hasSuffix("=") { text.removeLast() }
    return text
}

/// Normalises a pinned fingerprint (`SHA256:` prefix, padding optional), or nil when it is not one.
func normalisedPin(_ text: String) -> String? {
    var body = text.trimmingCharacters(in: .whitespaces)
    guard body.hasPrefix("SHA256:") else { return nil }
    body.removeFirst("SHA256:".count)
    while body.hasSuffix("=") { body.removeLast() }
    // A SHA-256 digest is 32 bytes: 43 base64 characters without padding.
    var padded = body
    while padded.count % 4 != 0 { padded += "=" }
    guard body.count == 43, let bytes = Data(base64Encoded: padded), bytes.count == 32 else { return nil }
    return "SHA256:" + body
}

/// The libssh2 host key type constants, with OpenSSH's names and known_hosts type bits.
struct HostKeyKind {
    var hostKeyType: Int32
    var algorithm: String
    var knownHostBits: Int32

    static let all: [HostKeyKind] = [
        HostKeyKind(
            hostKeyType: LIBSSH2_HOSTKEY_TYPE_ED25519, algorithm: "ssh-ed25519",
            knownHostBits: LIBSSH2_KNOWNHOST_KEY_ED25519),
        HostKeyKind(
            hostKeyType: LIBSSH2_HOSTKEY_TYPE_ECDSA_256, algorithm: "ecdsa-sha2-nistp256",
            knownHostBits: LIBSSH2_KNOWNHOST_KEY_ECDSA_256),
        HostKeyKind(
            hostKeyType: LIBSSH2_HOSTKEY_TYPE_ECDSA_384, algorithm: "ecdsa-sha2-nistp384",
            knownHostBits: LIBSSH2_KNOWNHOST_KEY_ECDSA_384),
        HostKeyKind(
            hostKeyType: LIBSSH2_HOSTKEY_TYPE_ECDSA_521, algorithm: "ecdsa-sha2-nistp521",
            knownHostBits: LIBSSH2_KNOWNHOST_KEY_ECDSA_521),
        HostKeyKind(
            hostKeyType: LIBSSH2_HOSTKEY_TYPE_RSA, algorithm: "ssh-rsa", knownHostBits: LIBSSH2_KNOWNHOST_KEY_SSHRSA),
        HostKeyKind(
            hostKeyType: LIBSSH2_HOSTKEY_TYPE_DSS, algorithm: "ssh-dss", knownHostBits: LIBSSH2_KNOWNHOST_KEY_SSHDSS),
    ]

    static func forType(_ type: Int32) -> HostKeyKind? { all.first { $0.hostKeyType == type } }
}

/// A known_hosts file loaded into libssh2's collection, read line by line so that one line libssh2 does not
/// understand (a certificate authority, an sk- key) skips that line instead of failing the whole file.
final class KnownHosts {
    let path: String
    let collection: OpaquePointer
    private(set) var skippedLines: [Int] = []
    /// Key blobs marked `@revoked`: such a key is refused even when another line lists it.
    private(set) var revokedKeys: [[UInt8]] = []

    init(path: String, session: OpaquePointer) throws {
        self.path = path
        guard let collection = libssh2_knownhost_init(session) else {
            fatalError("libssh2_knownhost_init failed: out of memory")
        }
        self.collection = collection
        let data: Data
        do {
            data = try Files.read(path)
        } catch {
            libssh2_knownhost_free(collection)
            throw SFTPError(
                .knownHostsUnreadable, "cannot read the known_hosts file \(path)", underlying: "\(error)",
                remedy: "Check `known_hosts_file`, or pin the server's key with `host_key_sha256`")
        }
        let text = String(decoding: data, as: UTF8.self)
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("@") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                if fields.first == "@revoked", fields.count >= 4, let blob = Data(base64Encoded: String(fields[3])) {
                    revokedKeys.append(Array(blob))
                } else {
                    skippedLines.append(index + 1)
                }
                continue
            }
            let bytes = Array(line.utf8)
            let result = bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) {
                    libssh2_knownhost_readline(collection, $0.baseAddress, $0.count, LIBSSH2_KNOWNHOST_FILE_OPENSSH)
                }
            }
            if result != 0 { skippedLines.append(index + 1) }
        }
    }

    deinit { libssh2_knownhost_free(collection) }

    enum Verdict {
        case match
        case mismatch(expected: [String])
        case notFound
    }

    /// Looks `host:port` up with the presented key. libssh2 stores `[host]:port` for ports other than 22.
    func check(host: String, port: Int, key: [UInt8], kind: HostKeyKind) -> Verdict {
        var entry: UnsafeMutablePointer<libssh2_knownhost>? = nil
        let mask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | kind.knownHostBits
        let result = key.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                libssh2_knownhost_checkp(collection, host, Int32(port), $0.baseAddress, $0.count, mask, &entry)
            }
        }
        switch result {
        case LIBSSH2_KNOWNHOST_CHECK_MATCH:
            return .match
        case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
            var expected: [String] = []
            if let stored = entry?.pointee.key, let blob = Data(base64Encoded: String(cString: stored)) {
                expected.append(openSSHFingerprint(blob))
            }
            return .mismatch(expected: expected)
        default:
            return .notFound
        }
    }

    /// The key types this file lists for `host:port`, found by asking libssh2 with a key that cannot match:
    /// a MISMATCH answer means an entry of that type exists. Used to prefer those types in the handshake,
    /// as OpenSSH does, so a server with several host keys presents the one we know.
    func knownKinds(host: String, port: Int) -> [HostKeyKind] {
        HostKeyKind.all.filter { kind in
            let impossibleKey = [UInt8](repeating: 0, count: 8)
            if case .mismatch = check(host: host, port: port, key: impossibleKey, kind: kind) { return true }
            return false
        }
    }
}
