import Core

/// A SHA-256 shared by the download loop and its writer thread (a reference, so both see one state).
/// The digest itself is `Core.SHA256`, on libcrypto.
final class FileDigest {
    private var hasher = SHA256()

    func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bytes) }

    /// Lowercase hex, like `Core.SHA256.finalizeHex()`.
    func finalizeHex() -> String { hasher.finalizeHex() }
}
