import CGPGME
import Core
import Foundation

/// gpgme, initialised once per process, and the one place that turns its error values into `PGPError`.
enum GPGME {
    /// The result of initialising gpgme and checking the OpenPGP engine; Swift runs this exactly once,
    /// thread-safely, on first use.
    private static let initialisation: Result<String, PGPError> = {
        guard let version = retl_gpgme_check_version("1.10.0") else {
            return .failure(PGPError(.engine, "gpgme is older than 1.10.0", remedy: "install libgpgme 1.10 or newer"))
        }
        setlocale(LC_CTYPE, "")
        gpgme_set_locale(nil, Int32(LC_CTYPE), setlocale(LC_CTYPE, nil))
        let engine = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP)
        if engine != 0 {
            return .failure(
                PGPError(
                    .engine, "gpgme cannot use the gpg program", underlying: text(of: engine),
                    remedy: "install GnuPG 2.2 or newer (Debian package gnupg)"))
        }
        return .success(String(cString: version))
    }()

    /// Initialises gpgme on first call; throws the same error on every call when that failed.
    static func initialise() throws -> String {
        try initialisation.get()
    }

    /// gpgme's own text for an error value.
    static func text(of error: gpgme_error_t) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        _ = gpgme_strerror_r(error, &buffer, buffer.count)
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The gpg-error code of an error value (the source bits removed).
    static func code(of error: gpgme_error_t) -> gpg_err_code_t {
        gpg_err_code_t(rawValue: retl_gpgme_err_code(error))
    }

    /// The choke point: throws `PGPError(code, message)` with gpgme's text when `error` is not zero.
    static func check(
        _ error: gpgme_error_t, _ code: PGPError.Code, _ message: @autoclosure () -> String, remedy: String? = nil
    ) throws {
        guard error != 0 else { return }
        throw PGPError(code, message(), underlying: text(of: error), remedy: remedy)
    }
}

/// Supplies the passphrase to gpg through loopback pinentry, and remembers what gpg asked, so a
/// failure can say whether the passphrase was missing or wrong.
final class PassphraseSupplier: @unchecked Sendable {
    let passphrase: String?
    /// gpg asked for a passphrase and none was configured.
    private(set) var wasMissing = false
    /// gpg asked again after the passphrase we gave: it was wrong.
    private(set) var wasRejected = false

    init(passphrase: String?) { self.passphrase = passphrase }

    /// Called by gpgme on gpg's thread of control (inside the synchronous operation, same thread).
    fileprivate func answer(previousWasBad: Bool, fd: Int32) -> gpgme_error_t {
        if previousWasBad {
            wasRejected = true
            return retl_gpgme_error(GPG_ERR_CANCELED.rawValue)
        }
        guard let passphrase else {
            wasMissing = true
            return retl_gpgme_error(GPG_ERR_CANCELED.rawValue)
        }
        var line = passphrase + "\n"
        let written = line.withUTF8 { gpgme_io_writen(fd, $0.baseAddress, $0.count) }
        return written == 0 ? 0 : retl_gpgme_error(GPG_ERR_EIO.rawValue)
    }
}

/// What gpg reported on its status channel during one operation (the lines gpgme does not summarise).
final class StatusRecorder: @unchecked Sendable {
    /// The MDC method from DECRYPTION_INFO: 0 means no integrity protection, nil means not reported.
    private(set) var mdcMethod: Int?
    /// The AEAD algorithm from DECRYPTION_INFO; non-zero also means integrity protected.
    private(set) var aeadAlgorithm: Int?
    /// gpg reported a failed integrity check or forced the decryption to fail.
    private(set) var sawDecryptionFailed = false
    /// Key ids gpg said it has no secret key for.
    private(set) var missingSecretKeys: [String] = []
    private(set) var sawKeyExpired = false

    fileprivate func record(keyword: String, arguments: String) {
        let fields = arguments.split(separator: " ").map(String.init)
        switch keyword {
        case "DECRYPTION_INFO":
            mdcMethod = fields.first.flatMap { Int($0) }
            aeadAlgorithm = fields.count > 2 ? Int(fields[2]) : nil
        case "DECRYPTION_FAILED":
            sawDecryptionFailed = true
        case "NO_SECKEY":
            if let keyID = fields.first { missingSecretKeys.append(keyID) }
        case "KEYEXPIRED":
            sawKeyExpired = true
        default:
            break
        }
    }

    var integrityProtected: Bool? {
        guard let mdcMethod else { return nil }
        return mdcMethod != 0 || (aeadAlgorithm ?? 0) != 0
    }
}

/// One gpgme context bound to the tool's GnuPG home, with loopback pinentry; released in `deinit`.
/// A context serves one operation at a time, so each decryption makes its own.
final class GPGMEContext {
    let handle: gpgme_ctx_t
    let supplier: PassphraseSupplier
    let status = StatusRecorder()
    /// Objects gpgme calls back into (the event loop, data objects): released only after the context,
    /// since `deinit` releases the gpgme context before the stored properties.
    var keepAlive: [AnyObject] = []

    init(homeDirectory: String, passphrase: String?) throws {
        _ = try GPGME.initialise()
        var context: gpgme_ctx_t?
        try GPGME.check(gpgme_new(&context), .engine, "cannot create a gpgme context")
        guard let context else { throw PGPError(.engine, "gpgme_new returned no context") }
        handle = context
        supplier = PassphraseSupplier(passphrase: passphrase)

        try GPGME.check(gpgme_set_protocol(handle, GPGME_PROTOCOL_OpenPGP), .engine, "cannot select OpenPGP")
        try GPGME.check(
            gpgme_ctx_set_engine_info(handle, GPGME_PROTOCOL_OpenPGP, nil, homeDirectory), .engine,
            "cannot use the GnuPG home \(homeDirectory)")
        // Loopback: gpg asks us, never a pinentry window or terminal.
        try GPGME.check(
            gpgme_set_pinentry_mode(handle, GPGME_PINENTRY_MODE_LOOPBACK), .engine, "cannot enable loopback pinentry")
        gpgme_set_passphrase_cb(
            handle,
            { hook, _, _, previousWasBad, fd in
                guard let hook else { return retl_gpgme_error(GPG_ERR_CANCELED.rawValue) }
                let supplier = Unmanaged<PassphraseSupplier>.fromOpaque(hook).takeUnretainedValue()
                return supplier.answer(previousWasBad: previousWasBad != 0, fd: fd)
            }, Unmanaged.passUnretained(supplier).toOpaque())

        // Every status line, so the integrity (MDC) information is ours to judge.
        try GPGME.check(gpgme_set_ctx_flag(handle, "full-status", "1"), .engine, "cannot enable gpg's status lines")
        gpgme_set_status_cb(
            handle,
            { hook, keyword, arguments in
                guard let hook, let keyword else { return 0 }
                let recorder = Unmanaged<StatusRecorder>.fromOpaque(hook).takeUnretainedValue()
                recorder.record(
                    keyword: String(cString: keyword), arguments: arguments.map { String(cString: $0) } ?? "")
                return 0
            }, Unmanaged.passUnretained(status).toOpaque())
    }

    deinit {
        gpgme_release(handle)
    }
}
