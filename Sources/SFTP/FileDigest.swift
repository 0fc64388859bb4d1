import CLibSSH2
import Core
import Foundation

/// SHA-256 through OpenSSL's libcrypto (which libssh2 already links), several times faster than `Core.SHA256`
/// where the CPU has SHA instructions: at loopback speeds, hashing would otherwise be the download's bottleneck.
final class FileDigest {
    private let context: OpaquePointer

    init() {
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
        self.context = context
        precondition(EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1, "EVP_DigestInit_ex(SHA-256) failed")
    }

    deinit { EVP_MD_CTX_free(context) }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        precondition(EVP_DigestUpdate(context, base, bytes.count) == 1, "EVP_DigestUpdate failed")
    }

    /// Lowercase hex, like `Core.SHA256.finalizeHex()`.
    func finalizeHex() -> String {
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        precondition(EVP_DigestFinal_ex(context, &output, &length) == 1 && length == 32, "EVP_DigestFinal_ex failed")
        return output.map { String(format: "%02x", $0) }.joined()
    }
}
