import CGPGME
import Core
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// What one decryption found out about the message, for the stage marker.
public struct DecryptionReport: Sendable, Equatable {
    /// "valid", "bad", "no-public-key", "expired-key", "revoked-key", "error"; nil when the message is unsigned.
    public var signatureStatus: String?
    /// The key ids (16 hex digits) the message is encrypted for.
    public var recipients: [String]
    /// The message carried integrity protection (MDC or AEAD).
    public var integrityProtected: Bool
}

/// Decrypts OpenPGP files with one private key, in a GnuPG home that belongs to the tool.
///
/// The key is imported from a file (armored or binary) when the decryptor is made; importing the same
/// key again is harmless, so every run does it. The passphrase reaches gpg through loopback pinentry,
/// never a prompt. Each `decrypt` streams file to file: gpg reads the input and writes the output
/// through file descriptors, so memory does not grow with the file.
public final class PGPDecryptor: Sendable {
    public let homeDirectory: String
    /// The fingerprints of the private keys the key file holds.
    public let configuredFingerprints: [String]
    /// The key ids of those keys and of all their subkeys, which is what a message names.
    public let configuredKeyIDs: [String]
    private let passphrase: String?
    private let allowNoMDC: Bool
    private let logger: Logger
    /// Let `EventLoop` move the bulk data itself (off only in tests of the plain gpgme path).
    let fastPath: Bool
    /// Tests only: the fast path reports gpgme's pipes as unrecognised, so decryption starts over.
    let simulateFastPathMismatch: Bool

    /// Prepares the GnuPG home (mode 0700, loopback pinentry allowed) and imports the private key.
    ///
    /// - Parameters:
    ///   - homeDirectory: the tool's own GnuPG home; created when missing. Never `~/.gnupg`.
    ///   - privateKeyFile: an armored or binary export of the private key.
    ///   - passphrase: the key's passphrase, or nil when it has none.
    ///   - allowNoMDC: accept messages without integrity protection (old senders); off by default in config.
    /// - Throws: `PGPError` `.keyFile` (unreadable, or no private key in it), `.expiredKey`, `.engine`.
    public convenience init(
        homeDirectory: String, privateKeyFile: String, passphrase: String?, allowNoMDC: Bool, logger: Logger
    ) throws {
        try self.init(
            homeDirectory: homeDirectory, privateKeyFile: privateKeyFile, passphrase: passphrase,
            allowNoMDC: allowNoMDC, logger: logger, fastPath: true)
    }

    init(
        homeDirectory: String, privateKeyFile: String, passphrase: String?, allowNoMDC: Bool, logger: Logger,
        fastPath: Bool, simulateFastPathMismatch: Bool = false
    ) throws {
        self.fastPath = fastPath
        self.simulateFastPathMismatch = simulateFastPathMismatch
        self.homeDirectory = homeDirectory
        self.passphrase = passphrase
        self.allowNoMDC = allowNoMDC
        self.logger = logger.with(["stage": "decrypt"])
        if let passphrase, !passphrase.isEmpty { logger.addSecret(passphrase) }

        try PGPDecryptor.prepareHome(homeDirectory)
        let keyData = try PGPDecryptor.readKeyFile(privateKeyFile)
        let keys = try PGPDecryptor.importKey(
            keyData, file: privateKeyFile, home: homeDirectory, passphrase: passphrase)
        configuredFingerprints = keys.map(\.fingerprint)
        configuredKeyIDs = keys.flatMap(\.keyIDs)

        if let expired = keys.first(where: { !$0.canDecryptNewMessages }) {
            throw PGPError(
                .expiredKey,
                "the PGP key \(expired.fingerprint) in \(privateKeyFile) has expired"
                    + (expired.expiry.map { " on \(Timestamp.iso8601($0))" } ?? "")
                    + " or has no usable encryption subkey",
                remedy: "extend it with `gpg --quick-set-expire \(expired.fingerprint) 1y '*'`, export it again "
                    + "and give the sender the new public key")
        }
        self.logger.info("PGP key ready", ["fingerprints": configuredFingerprints.joined(separator: ",")])
    }

    /// Stops the gpg-agent that gpgme started for this home. Safe to call more than once.
    public func stopAgent() {
        do {
            try PGPDecryptor.stopAgent(homeDirectory: homeDirectory)
        } catch {
            logger.warn("cannot stop gpg-agent", ["home": homeDirectory, "error": "\(error)"])
        }
    }

    /// Stops the gpg-agent of `homeDirectory`, if one runs; for a cleanup that has no decryptor at hand.
    /// - Throws: when `gpgconf` cannot be started.
    public static func stopAgent(homeDirectory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gpgconf", "--homedir", homeDirectory, "--kill", "gpg-agent"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
    }

    /// Proves that the passphrase unlocks the key, for `check`: encrypts a few bytes to the configured keys
    /// in this home and decrypts them, so a wrong or missing passphrase fails here with the error a run
    /// would give (`.wrongPassphrase`, `.missingPassphrase`). Its files are written in the home and removed.
    public func verifyPassphrase() throws {
        let cipherPath = homeDirectory + "/passphrase-check.gpg"
        let plainPath = homeDirectory + "/passphrase-check.txt"
        defer {
            unlink(cipherPath)
            unlink(plainPath)
        }
        try encryptToConfiguredKeys(Data("responsys-etl check\n".utf8), to: cipherPath)
        _ = try decrypt(input: cipherPath, output: plainPath)
    }

    private func encryptToConfiguredKeys(_ plaintext: Data, to path: String) throws {
        let context = try GPGMEContext(homeDirectory: homeDirectory, passphrase: nil)
        var keys: [gpgme_key_t?] = []
        defer { keys.compactMap { $0 }.forEach { gpgme_key_unref($0) } }
        for fingerprint in configuredFingerprints {
            var key: gpgme_key_t?
            try GPGME.check(
                gpgme_get_key(context.handle, fingerprint, &key, 0), .engine,
                "cannot find the public part of the PGP key \(fingerprint)")
            keys.append(key)
        }
        keys.append(nil)

        var plain: gpgme_data_t?
        let created = plaintext.withUnsafeBytes { bytes in
            gpgme_data_new_from_mem(&plain, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count, 1)
        }
        try GPGME.check(created, .engine, "cannot hand the check message to gpgme")
        defer { gpgme_data_release(plain) }
        var cipher: gpgme_data_t?
        try GPGME.check(gpgme_data_new(&cipher), .engine, "cannot create a gpgme buffer")
        defer { gpgme_data_release(cipher) }
        try GPGME.check(
            gpgme_op_encrypt(context.handle, &keys, GPGME_ENCRYPT_ALWAYS_TRUST, plain, cipher), .engine,
            "cannot encrypt a check message to the PGP key \(configuredFingerprints.joined(separator: ", "))")

        var length = 0
        guard let buffer = gpgme_data_release_and_get_mem(cipher, &length) else {
            cipher = nil
            throw PGPError(.engine, "gpgme returned no encrypted check message")
        }
        cipher = nil
        defer { gpgme_free(buffer) }
        try Files.writeAtomically(Data(bytes: buffer, count: length), to: path)
    }

    /// Decrypts `input` into `output`, verifying a signature when there is one.
    ///
    /// The plaintext is written under a temporary name beside `output` and renamed only after gpg
    /// finished and the integrity check passed; on any failure the partial plaintext is deleted.
    /// - Throws: `PGPError` (`.wrongPassphrase`, `.missingPassphrase`, `.wrongKey`, `.corrupt`, `.notPGP`,
    ///   `.noIntegrityProtection`, `.engine`) or `ETLError` for file-system failures.
    public func decrypt(input: String, output: String) throws -> DecryptionReport {
        let inputFD = open(input, O_RDONLY | O_CLOEXEC)
        guard inputFD >= 0 else {
            let code: ETLError.Code = errno == ENOENT ? .notFound : .io
            throw ETLError(code, "cannot open \(input) for decryption", underlying: systemErrorText(errno))
        }
        defer { close(inputFD) }

        let folder = (output as NSString).deletingLastPathComponent
        let temporary =
            (folder.isEmpty ? "" : folder + "/") + AtomicFileWriter.temporaryPrefix + "\(getpid())-"
            + (output as NSString).lastPathComponent
        let outputFD = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard outputFD >= 0 else {
            throw ETLError(.io, "cannot create \(temporary)", underlying: systemErrorText(errno))
        }
        var outputOpen = true
        var published = false
        defer {
            if outputOpen { close(outputFD) }
            if !published { unlink(temporary) }
        }

        let report = try runDecryption(inputFD: inputFD, outputFD: outputFD, input: input)

        // Publish: flush, close (which can fail), rename.
        if fsync(outputFD) != 0 {
            throw ETLError(.io, "cannot flush \(temporary) to disk", underlying: systemErrorText(errno))
        }
        outputOpen = false
        if close(outputFD) != 0 {
            throw ETLError(.io, "cannot close \(temporary)", underlying: systemErrorText(errno))
        }
        if rename(temporary, output) != 0 {
            throw ETLError(.io, "cannot rename \(temporary) to \(output)", underlying: systemErrorText(errno))
        }
        published = true
        logger.info(
            "decrypted",
            [
                "file": (input as NSString).lastPathComponent, "bytes": (try? Files.size(output)).flatMap { $0 } ?? 0,
                "signature": report.signatureStatus ?? "none", "integrity": report.integrityProtected,
            ])
        return report
    }

    // MARK: - Decryption

    private func runDecryption(inputFD: Int32, outputFD: Int32, input: String) throws -> DecryptionReport {
        if fastPath, let report = try runDecryption(inputFD: inputFD, outputFD: outputFD, input: input, fastPath: true)
        {
            return report
        }
        // The fast path could not identify gpgme's pipes (a gpgme that registers them differently):
        // start over and let gpgme move all the data.
        logger.debug("decrypting without the fast path", ["file": (input as NSString).lastPathComponent])
        guard lseek(inputFD, 0, SEEK_SET) == 0, ftruncate(outputFD, 0) == 0, lseek(outputFD, 0, SEEK_SET) == 0 else {
            throw ETLError(.io, "cannot rewind \(input) for a second decryption", underlying: systemErrorText(errno))
        }
        guard let report = try runDecryption(inputFD: inputFD, outputFD: outputFD, input: input, fastPath: false) else {
            throw PGPError(.engine, "gpgme's event loop failed while decrypting \(input)")
        }
        return report
    }

    /// One decryption attempt; nil when the fast path found gpgme's pipes not as it expects.
    private func runDecryption(
        inputFD: Int32, outputFD: Int32, input: String, fastPath: Bool
    ) throws -> DecryptionReport? {
        let context = try GPGMEContext(homeDirectory: homeDirectory, passphrase: passphrase)
        if allowNoMDC {
            try GPGME.check(
                gpgme_set_ctx_flag(context.handle, "ignore-mdc-error", "1"), .engine,
                "cannot allow messages without MDC"
            )
        }

        // With the fast path the event loop moves the data and gpgme holds stand-ins.
        let cipher =
            try fastPath ? BufferedFileData(standInForWriting: false) : BufferedFileData(fd: inputFD, forWriting: false)
        let plain =
            try fastPath ? BufferedFileData(standInForWriting: true) : BufferedFileData(fd: outputFD, forWriting: true)
        let loop = EventLoop(
            fast: fastPath ? (inputFD, outputFD) : nil, pretendMismatch: fastPath && simulateFastPathMismatch)
        context.keepAlive = [loop, cipher, plain]
        loop.install(on: context.handle)
        var error = gpgme_op_decrypt_ext_start(context.handle, GPGME_DECRYPT_VERIFY, cipher.handle, plain.handle)
        if error == 0 { error = loop.run() }
        if loop.mismatch || plain.touched { return nil }

        let recipients = PGPDecryptor.recipients(of: context.handle)
        let name = (input as NSString).lastPathComponent

        // A file-system failure on our side is reported as such, not as a damaged message.
        plain.flushPending()
        if let failure = cipher.failure ?? loop.fileFailure.flatMap({ $0.writing ? nil : $0.errno }) {
            throw ETLError(.io, "cannot read \(input)", underlying: systemErrorText(failure))
        }
        if let failure = plain.failure ?? loop.fileFailure.flatMap({ $0.writing ? $0.errno : nil }) {
            throw ETLError(.io, "cannot write the plaintext of \(input)", underlying: systemErrorText(failure))
        }

        if error != 0 {
            throw classify(error, context: context, recipients: recipients, file: name, path: input)
        }
        // gpg refuses a message without MDC by itself; this is the second lock on the same door.
        let result = gpgme_op_decrypt_result(context.handle)
        let legacyNoMDC = result.map { retl_gpgme_decrypt_legacy_nomdc($0) != 0 } ?? false
        let integrityProtected = (context.status.integrityProtected ?? true) && !legacyNoMDC
        if !integrityProtected && !allowNoMDC {
            throw noMDCError(file: name)
        }
        if !integrityProtected {
            logger.warn("decrypted a message without integrity protection", ["file": name])
        }
        return DecryptionReport(
            signatureStatus: PGPDecryptor.signatureStatus(of: context.handle), recipients: recipients,
            integrityProtected: integrityProtected)
    }

    /// Turns a failed decryption into the error that tells the user what to do.
    private func classify(
        _ error: gpgme_error_t, context: GPGMEContext, recipients: [String], file: String, path: String
    ) -> PGPError {
        let code = GPGME.code(of: error)
        let text = GPGME.text(of: error)
        let configured = configuredFingerprints.joined(separator: ", ")

        if context.supplier.wasRejected || code == GPG_ERR_BAD_PASSPHRASE {
            return PGPError(
                .wrongPassphrase, "the passphrase does not unlock the PGP key \(configured) needed for \(file)",
                underlying: text, remedy: "check the value of the variable named by pgp_passphrase_env")
        }
        if context.supplier.wasMissing || (code == GPG_ERR_CANCELED && passphrase == nil) {
            return PGPError(
                .missingPassphrase, "the PGP key \(configured) needed for \(file) is protected by a passphrase",
                underlying: text,
                remedy: "set pgp_passphrase_env to the name of an environment variable holding the passphrase")
        }
        if context.status.integrityProtected == false && !allowNoMDC {
            return noMDCError(file: file)
        }
        if code == GPG_ERR_NO_DATA {
            // GnuPG found no usable packet: either the file is something else, or it was cut inside its first
            // packet (then the recipient ids it reports are garbage, so this comes before the wrong-key check).
            if PGPDecryptor.startsLikeOpenPGP(path) {
                return PGPError(
                    .corrupt, "\(file) is truncated or damaged: it starts like an OpenPGP message but ends too soon",
                    underlying: text, remedy: "download the file again or ask the sender to re-send it")
            }
            return PGPError(
                .notPGP, "\(file) is not an OpenPGP message", underlying: text,
                remedy: "check what the sender put on the server; a file named .gpg/.pgp/.asc must be PGP-encrypted")
        }
        let configuredIDs = Set(configuredKeyIDs.map { $0.uppercased() })
        let recipientIDs = recipients.isEmpty ? context.status.missingSecretKeys : recipients
        if code == GPG_ERR_NO_SECKEY
            || (!recipientIDs.isEmpty && configuredIDs.isDisjoint(with: recipientIDs.map { $0.uppercased() }))
        {
            return PGPError(
                .wrongKey,
                "\(file) is encrypted for key \(recipientIDs.joined(separator: ", ")), which is not the configured key "
                    + "(configured: \(configured))",
                underlying: text,
                remedy: "ask the sender to encrypt for the configured key, or set pgp_private_key_file to the key "
                    + "the file is encrypted for")
        }
        if code == GPG_ERR_KEY_EXPIRED || context.status.sawKeyExpired && code != GPG_ERR_BAD_DATA {
            return PGPError(
                .expiredKey, "the PGP key \(configured) needed for \(file) has expired", underlying: text,
                remedy: "extend the key's expiry with `gpg --quick-set-expire` and export it again")
        }
        switch code {
        case GPG_ERR_BAD_DATA, GPG_ERR_INV_PACKET, GPG_ERR_TRUNCATED, GPG_ERR_INV_KEYLEN, GPG_ERR_CHECKSUM,
            GPG_ERR_BAD_MPI, GPG_ERR_UNEXPECTED, GPG_ERR_INV_DATA, GPG_ERR_DECRYPT_FAILED, GPG_ERR_BAD_SIGNATURE,
            GPG_ERR_EOF, GPG_ERR_UNKNOWN_PACKET, GPG_ERR_INV_ARMOR, GPG_ERR_WRONG_SECKEY:
            return PGPError(
                .corrupt, "\(file) is truncated or damaged (decryption or its integrity check failed)",
                underlying: text, remedy: "download the file again or ask the sender to re-send it")
        default:
            return PGPError(.engine, "gpg could not decrypt \(file)", underlying: text)
        }
    }

    /// Whether `file` begins with ASCII armour or with the header of a packet an encrypted message starts with
    /// (RFC 4880 §4.2: bit 7 set; the tag in bits 5–0, or 5–2 in the old format): a session key (1, 3), a
    /// signature (2, 4), compressed or literal data (8, 11) or a marker (10).
    static func startsLikeOpenPGP(_ file: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: file) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 27)) ?? Data()
        if head.starts(with: Data("-----BEGIN PGP MESSAGE-----".utf8)) { return true }
        guard let first = head.first, first & 0x80 != 0 else { return false }
        let tag = first & 0x40 != 0 ? first & 0x3F : (first >> 2) & 0x0F
        return [1, 2, 3, 4, 8, 10, 11].contains(tag)
    }

    private func noMDCError(file: String) -> PGPError {
        PGPError(
            .noIntegrityProtection, "\(file) has no integrity protection (no MDC), so tampering could go unnoticed",
            remedy: "ask the sender to use a current OpenPGP tool; set allow_no_mdc = true only if you trust "
                + "the channel")
    }

    private static func recipients(of context: gpgme_ctx_t) -> [String] {
        var ids: [String] = []
        var recipient = gpgme_op_decrypt_result(context)?.pointee.recipients
        while let current = recipient {
            if let keyID = current.pointee.keyid { ids.append(String(cString: keyID)) }
            recipient = current.pointee.next
        }
        return ids
    }

    private static func signatureStatus(of context: gpgme_ctx_t) -> String? {
        guard let signature = gpgme_op_verify_result(context)?.pointee.signatures else { return nil }
        let summary = signature.pointee.summary.rawValue
        switch GPGME.code(of: signature.pointee.status) {
        case GPG_ERR_NO_ERROR:
            return "valid"
        case GPG_ERR_BAD_SIGNATURE:
            return "bad"
        case GPG_ERR_NO_PUBKEY:
            return "no-public-key"
        case GPG_ERR_KEY_EXPIRED, GPG_ERR_SIG_EXPIRED:
            return "expired-key"
        case GPG_ERR_CERT_REVOKED:
            return "revoked-key"
        default:
            return summary & GPGME_SIGSUM_RED.rawValue != 0 ? "bad" : "error"
        }
    }

    // MARK: - Home and key

    /// Creates the home with mode 0700 and the agent configuration that allows loopback pinentry.
    private static func prepareHome(_ home: String) throws {
        try Files.makeDirectory(home)
        if chmod(home, 0o700) != 0 {
            throw PGPError(
                .engine, "cannot make the GnuPG home \(home) private (mode 0700)", underlying: systemErrorText(errno))
        }
        let settings: [(String, String)] = [
            ("gpg-agent.conf", "allow-loopback-pinentry\n"),
            // Decryption never looks keys up on the network.
            ("gpg.conf", "auto-key-locate local\nno-auto-key-retrieve\n"),
        ]
        for (name, text) in settings {
            let path = home + "/" + name
            if (try? Files.read(path)) == Data(text.utf8) { continue }
            try Files.writeAtomically(Data(text.utf8), to: path)
        }
    }

    private static func readKeyFile(_ path: String) throws -> Data {
        do {
            let data = try Files.read(path)
            guard !data.isEmpty else {
                throw PGPError(
                    .keyFile, "the PGP key file \(path) is empty",
                    remedy: "export the key with gpg --export-secret-keys")
            }
            return data
        } catch let error as ETLError {
            throw PGPError(
                .keyFile, "cannot read the PGP key file \(path)", underlying: error.description,
                remedy: "check pgp_private_key_file and the file's permissions")
        }
    }

    struct ImportedKey {
        var fingerprint: String
        var keyIDs: [String]
        var expiry: Date?
        var canDecryptNewMessages: Bool
    }

    /// Imports the key data and describes the private keys it held. Re-importing is a no-op for gpg.
    private static func importKey(_ data: Data, file: String, home: String, passphrase: String?) throws -> [ImportedKey]
    {
        let context = try GPGMEContext(homeDirectory: home, passphrase: passphrase)
        var keyData: gpgme_data_t?
        let created = data.withUnsafeBytes { bytes in
            gpgme_data_new_from_mem(&keyData, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count, 1)
        }
        try GPGME.check(created, .engine, "cannot hand the key file \(file) to gpgme")
        defer { gpgme_data_release(keyData) }
        try GPGME.check(
            gpgme_op_import(context.handle, keyData), .keyFile, "cannot import the PGP key file \(file)",
            remedy: "pgp_private_key_file must hold an exported private key (gpg --export-secret-keys)")

        var fingerprints: [String] = []
        var entry = gpgme_op_import_result(context.handle)?.pointee.imports
        while let current = entry {
            if current.pointee.result == 0, let fpr = current.pointee.fpr {
                let fingerprint = String(cString: fpr)
                if !fingerprints.contains(fingerprint) { fingerprints.append(fingerprint) }
            }
            entry = current.pointee.next
        }

        var keys: [ImportedKey] = []
        for fingerprint in fingerprints {
            var key: gpgme_key_t?
            guard gpgme_get_key(context.handle, fingerprint, &key, 1) == 0, let key else { continue }
            defer { gpgme_key_unref(key) }
            var keyIDs: [String] = []
            var expiry: Date?
            var usableEncryption = false
            var subkey = key.pointee.subkeys
            while let current = subkey {
                if let keyID = current.pointee.keyid { keyIDs.append(String(cString: keyID)) }
                if retl_gpgme_subkey_can_encrypt(current) != 0 {
                    if retl_gpgme_subkey_expired(current) == 0 && retl_gpgme_subkey_revoked(current) == 0 {
                        usableEncryption = true
                    } else if current.pointee.expires > 0 {
                        expiry = Date(timeIntervalSince1970: TimeInterval(current.pointee.expires))
                    }
                }
                subkey = current.pointee.next
            }
            if retl_gpgme_key_expired(key) != 0, let primary = key.pointee.subkeys, primary.pointee.expires > 0 {
                usableEncryption = false
                expiry = Date(timeIntervalSince1970: TimeInterval(primary.pointee.expires))
            }
            keys.append(
                ImportedKey(
                    fingerprint: fingerprint, keyIDs: keyIDs, expiry: expiry, canDecryptNewMessages: usableEncryption))
        }
        guard !keys.isEmpty else {
            throw PGPError(
                .keyFile, "the PGP key file \(file) holds no private key",
                remedy: "export the private key with `gpg --export-secret-keys --armor KEYID`, not only the public key")
        }
        return keys
    }
}
