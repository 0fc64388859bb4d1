import Core
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the private key file is, found by reading it ourselves before libssh2 sees it, so that a local
/// problem (missing, unreadable, PuTTY format, passphrase needed) is never reported as "authentication failed".
public struct PrivateKeyFile: Sendable, Equatable {
    public enum Format: String, Sendable { case openSSH, pem, pkcs8 }
    public enum KeyType: String, Sendable { case rsa, ecdsa, ed25519, dsa, securityKey, unknown }

    public var path: String
    public var format: Format
    public var keyType: KeyType
    public var isEncrypted: Bool

    public init(path: String, format: Format, keyType: KeyType, isEncrypted: Bool) {
        self.path = path
        self.format = format
        self.keyType = keyType
        self.isEncrypted = isEncrypted
    }

    /// Reads and classifies `path`. Throws `keyFileMissing`, `keyFileUnreadable`, `puttyKey` or
    /// `unsupportedKeyFormat`.
    public static func inspect(_ path: String) throws -> PrivateKeyFile {
        let text = try readKeyText(path)
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)

        if trimmed.hasPrefix("PuTTY-User-Key-File-") {
            throw SFTPError(
                .puttyKey, "the private key \(path) is a PuTTY .ppk key, which libssh2 cannot read",
                remedy: "Convert it to OpenSSH format: `puttygen \(path) -O private-openssh -o KEYFILE`, "
                    + "then point `private_key_file` at KEYFILE")
        }
        if trimmed.hasPrefix("---- BEGIN SSH2") {
            throw SFTPError(
                .unsupportedKeyFormat, "the private key \(path) is in the SSH.com/Tectia format",
                remedy: "Convert it with `ssh-keygen -i -f \(path) > KEYFILE` or export it in OpenSSH format")
        }
        if trimmed.hasPrefix("ssh-") || trimmed.hasPrefix("ecdsa-") {
            throw SFTPError(
                .unsupportedKeyFormat, "\(path) is a public key, not a private key",
                remedy: "Point `private_key_file` at the private half (usually the same name without .pub)")
        }
        guard let begin = pemLabel(trimmed) else {
            throw SFTPError(
                .unsupportedKeyFormat, "\(path) is not a private key in a format libssh2 reads",
                remedy: "Use an OpenSSH private key (`-----BEGIN OPENSSH PRIVATE KEY-----`) or a PEM key")
        }
        switch begin {
        case "OPENSSH PRIVATE KEY":
            return try inspectOpenSSH(trimmed, path: path)
        case "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY":
            let type: KeyType = begin.hasPrefix("RSA") ? .rsa : begin.hasPrefix("EC") ? .ecdsa : .dsa
            let encrypted = trimmed.contains("Proc-Type: 4,ENCRYPTED")
            return PrivateKeyFile(path: path, format: .pem, keyType: type, isEncrypted: encrypted)
        case "PRIVATE KEY":
            return PrivateKeyFile(path: path, format: .pkcs8, keyType: .unknown, isEncrypted: false)
        case "ENCRYPTED PRIVATE KEY":
            return PrivateKeyFile(path: path, format: .pkcs8, keyType: .unknown, isEncrypted: true)
        default:
            throw SFTPError(
                .unsupportedKeyFormat, "\(path) holds a PEM block `\(begin)`, not a private key libssh2 reads",
                remedy: "Use an OpenSSH private key (`ssh-keygen -t ed25519 -f KEYFILE`)")
        }
    }

    private static func readKeyText(_ path: String) throws -> String {
        let descriptor = open(path, O_RDONLY)
        if descriptor < 0 {
            let number = errno
            if number == ENOENT || number == ENOTDIR {
                throw SFTPError(
                    .keyFileMissing, "the private key file \(path) does not exist",
                    underlying: systemErrorText(number),
                    remedy: "Check `private_key_file` in the sftp auth section ([auth.NAME]) of the config")
            }
            throw SFTPError(
                .keyFileUnreadable, "cannot read the private key file \(path)", underlying: systemErrorText(number),
                remedy: "Make the file readable by the user running responsys-etl (and only by it: chmod 600)")
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                let number = errno
                if number == EINTR { continue }
                throw SFTPError(
                    .keyFileUnreadable, "cannot read the private key file \(path)",
                    underlying: systemErrorText(number), remedy: "Check that `private_key_file` is a regular file")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > 1 << 20 {
                throw SFTPError(
                    .unsupportedKeyFormat, "\(path) is larger than 1 MiB, so it is not a private key",
                    remedy: "Check `private_key_file`")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The label of the first `-----BEGIN LABEL-----` line.
    private static func pemLabel(_ text: String) -> String? {
        guard let start = text.range(of: "-----BEGIN ") else { return nil }
        guard let end = text.range(of: "-----", range: start.upperBound..<text.endIndex) else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
    }

    /// The `openssh-key-v1` container (PROTOCOL.key in OpenSSH's sources): magic, cipher name, KDF name,
    /// KDF options, key count, then the public key blob whose first string is the key type.
    private static func inspectOpenSSH(_ text: String, path: String) throws -> PrivateKeyFile {
        let broken = SFTPError(
            .unsupportedKeyFormat, "the OpenSSH private key \(path) is damaged",
            remedy: "Export the key again, or make a new one with `ssh-keygen -t ed25519`")
        let body = text.split(separator: "\n")
            .filter { !$0.hasPrefix("-----") }
            .joined()
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard let data = Data(base64Encoded: body, options: .ignoreUnknownCharacters) else { throw broken }
        var reader = BlobReader(Array(data))
        let magic = Array("openssh-key-v1".utf8) + [0]
        guard reader.take(magic.count) == magic,
            let cipher = reader.string(), reader.string() != nil, reader.string() != nil,
            let count = reader.uint32(), count >= 1, let publicBlob = reader.bytes()
        else { throw broken }
        var keyReader = BlobReader(publicBlob)
        guard let typeName = keyReader.string() else { throw broken }
        let type: KeyType =
            switch typeName {
            case "ssh-rsa": .rsa
            case "ssh-ed25519": .ed25519
            case "ssh-dss": .dsa
            case _ where typeName.hasPrefix("ecdsa-sha2-"): .ecdsa
            case _ where typeName.hasPrefix("sk-"): .securityKey
            default: .unknown
            }
        if type == .securityKey {
            throw SFTPError(
                .unsupportedKeyFormat, "the private key \(path) lives on a hardware security key (\(typeName))",
                remedy: "libssh2 cannot use FIDO keys; make an ed25519 or ECDSA key file without -sk")
        }
        return PrivateKeyFile(path: path, format: .openSSH, keyType: type, isEncrypted: cipher != "none")
    }
}

/// Reads SSH wire encoding: big-endian uint32 lengths before byte strings.
struct BlobReader {
    private let storage: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { storage = bytes }

    mutating func take(_ count: Int) -> [UInt8]? {
        guard count >= 0, count <= storage.count - offset else { return nil }
        defer { offset += count }
        return Array(storage[offset..<offset + count])
    }

    mutating func uint32() -> UInt32? {
        guard let raw = take(4) else { return nil }
        return raw.reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func bytes() -> [UInt8]? {
        guard let length = uint32() else { return nil }
        return take(Int(length))
    }

    mutating func string() -> String? {
        bytes().map { String(decoding: $0, as: UTF8.self) }
    }
}
