import CCrypto
import Core

/// SHA-256 through OpenSSL's libcrypto, which uses the CPU's SHA extensions: several times faster than
/// `Core.SHA256`, and the transform hashes every row (event ids) and every output byte (the digest of the
/// published file). One context, reused; not thread-safe.
final class CryptoSHA256 {
    private let algorithm: OpaquePointer
    private let context: OpaquePointer
    /// The 32 bytes of the last digest.
    let digest: UnsafeMutablePointer<UInt8>

    init() throws {
        guard let algorithm = retl_crypto_fetch_sha256() else {
            throw ETLError(.failed, "libcrypto offers no SHA-256", underlying: CryptoSHA256.lastErrorText())
        }
        guard let context = EVP_MD_CTX_new() else {
            EVP_MD_free(algorithm)
            throw ETLError(
                .failed, "cannot create a libcrypto digest context", underlying: CryptoSHA256.lastErrorText())
        }
        self.algorithm = algorithm
        self.context = context
        digest = .allocate(capacity: 32)
        digest.initialize(repeating: 0, count: 32)
    }

    deinit {
        EVP_MD_CTX_free(context)
        EVP_MD_free(algorithm)
        digest.deallocate()
    }

    /// The one place libcrypto results are checked. Failures here mean a broken library, not bad input.
    private func check(_ result: Int32, _ call: StaticString) {
        precondition(result == 1, "libcrypto \(call) failed: \(CryptoSHA256.lastErrorText())")
    }

    func begin() {
        check(EVP_DigestInit_ex2(context, algorithm, nil), "EVP_DigestInit_ex2")
    }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        check(EVP_DigestUpdate(context, base, bytes.count), "EVP_DigestUpdate")
    }

    /// Finishes into `digest`.
    func finish() {
        var length: UInt32 = 0
        check(EVP_DigestFinal_ex(context, digest, &length), "EVP_DigestFinal_ex")
    }

    /// Hashes one message into `digest` (the one-shot call: no provider dispatch, for short messages).
    func hash(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else {
            begin()
            finish()
            return
        }
        retl_crypto_sha256(base, bytes.count, digest)
    }

    /// The first `byteCount` bytes of `digest` as lowercase hex.
    func hex(byteCount: Int = 32) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(byteCount * 2)
        for index in 0..<byteCount {
            text.append(digits[Int(digest[index] >> 4)])
            text.append(digits[Int(digest[index] & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    static func lastErrorText() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "no error queued" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
