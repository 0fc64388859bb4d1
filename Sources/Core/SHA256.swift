import CCrypto

/// SHA-256, streaming, through OpenSSL's libcrypto (which uses the CPU's SHA instructions). Markers record
/// the digest of every staged output, and the transform hashes every event row, so this is on hot paths;
/// Foundation on Linux has no digest API. One implementation serves the whole tool.
public struct SHA256: @unchecked Sendable {
    private var context = SHA256_CTX()

    public init() { SHA256_Init(&context) }

    /// Adds bytes; large buffers go to libcrypto without a copy.
    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        SHA256_Update(&context, base, buffer.count)
    }

    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let array = Array(bytes)
        array.withUnsafeBytes { update($0) }
    }

    /// The 32-byte digest. The hasher must not be updated afterwards.
    public mutating func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        digest.withUnsafeMutableBufferPointer { _ = SHA256_Final($0.baseAddress, &context) }
        return digest
    }

    /// The digest as 64 lowercase hex characters.
    public mutating func finalizeHex() -> String {
        let digest = finalize()
        return digest.withUnsafeBufferPointer { SHA256.hex($0.baseAddress!, count: 32) }
    }

    /// The digest of a whole byte sequence, in hex.
    public static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalizeHex()
    }

    /// One message into the 32 bytes at `digest`, without allocating: for per-row ids.
    public static func digest(of bytes: UnsafeRawBufferPointer, into digest: UnsafeMutablePointer<UInt8>) {
        retl_crypto_sha256(bytes.baseAddress ?? UnsafeRawPointer(digest), bytes.count, digest)
    }

    /// The first `count` bytes at `digest` as lowercase hex.
    public static func hex(_ digest: UnsafePointer<UInt8>, count: Int) -> String {
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: count * 2) { out in
            for index in 0..<count {
                out[2 * index] = digits.utf8Start[Int(digest[index] >> 4)]
                out[2 * index + 1] = digits.utf8Start[Int(digest[index] & 0xF)]
            }
            return count * 2
        }
    }
}
