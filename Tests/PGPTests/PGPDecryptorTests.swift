import Core
import Foundation
import TestSupport
import Testing

@testable import PGP

/// The keys and sender home shared by the whole suite: gpg key generation is slow, so it runs once.
final class Keys: Sendable {
    let sender: GnuPGFixture
    /// RSA 2048 + RSA subkey, protected by a non-ASCII passphrase.
    let rsa: GnuPGFixture.Key
    /// ed25519 + cv25519, no passphrase.
    let ed: GnuPGFixture.Key
    /// Another ed25519 key: the "someone else" of wrong-key and signature tests.
    let other: GnuPGFixture.Key
    /// Made with a faked clock in 2020, expired the day after.
    let expired: GnuPGFixture.Key

    init() throws {
        sender = try GnuPGFixture()
        rsa = try sender.generateKey(name: "rsa", algorithm: "rsa", passphrase: "pässwörd – 7")
        ed = try sender.generateKey(name: "ed", algorithm: "ed25519", passphrase: nil)
        other = try sender.generateKey(name: "other", algorithm: "ed25519", passphrase: nil)
        expired = try sender.generateKey(
            name: "expired", algorithm: "ed25519", passphrase: nil, expiry: "1d", fakedTime: "20200101T000000")
    }

    static let shared = Result { try Keys() }
    static func get() throws -> Keys { try shared.get() }
}

/// A fresh folder with a plaintext, a GnuPG home for the decryptor, and helpers.
struct Scene {
    let folder: TemporaryFolder
    let keys: Keys
    let plaintext: String
    let content: String

    init() throws {
        keys = try Keys.get()
        folder = try TemporaryFolder("pgp")
        content = (0..<2000).map { "id\($0),event,2024-03-07 14:05:\($0 % 60)\n" }.joined()
        plaintext = try folder.write("plain.csv", content)
    }

    var home: String { folder.path + "/state/gnupg" }

    func decryptor(
        key: GnuPGFixture.Key, armored: Bool = true, passphrase: String?? = .none, allowNoMDC: Bool = false,
        logger: Logger = .silent
    ) throws -> PGPDecryptor {
        GnuPGFixture.trackHome(home)
        return try PGPDecryptor(
            homeDirectory: home, privateKeyFile: armored ? key.armoredSecretKey : key.binarySecretKey,
            passphrase: passphrase ?? key.passphrase, allowNoMDC: allowNoMDC, logger: logger)
    }

    func encrypted(
        _ name: String, for recipients: [GnuPGFixture.Key], armor: Bool = false, compression: String? = nil,
        signer: GnuPGFixture.Key? = nil, extra: [String] = []
    ) throws -> String {
        let output = folder.file(name)
        try keys.sender.encrypt(
            plaintext, to: output, recipients: recipients, armor: armor, compression: compression, signer: signer,
            extra: extra)
        return output
    }

    func read(_ path: String) throws -> String { String(decoding: try Files.read(path), as: UTF8.self) }

    /// Names in the output folder that are temporaries or partial plaintext.
    func leftovers(in folder: String) throws -> [String] {
        try Files.list(folder).filter { $0.hasPrefix(AtomicFileWriter.temporaryPrefix) || $0 == "out.csv" }
    }
}

func expectPGPError(_ code: PGPError.Code, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected PGPError.\(code), got success")
    } catch let error as PGPError {
        #expect(error.code == code, "\(error)")
    } catch {
        Issue.record("expected PGPError.\(code), got \(error)")
    }
}

@Suite struct PGPDecryptorTests {
    @Test func rsaKeyWithPassphraseDecryptsAnArmoredMessage() throws {
        let scene = try Scene()
        let decryptor = try scene.decryptor(key: scene.keys.rsa, armored: false)
        defer { decryptor.stopAgent() }
        let input = try scene.encrypted("m.asc", for: [scene.keys.rsa], armor: true)
        let output = scene.folder.file("out.csv")

        let report = try decryptor.decrypt(input: input, output: output)

        #expect(try scene.read(output) == scene.content)
        #expect(report.recipients == [scene.keys.rsa.keyIDs[1]])
        #expect(report.integrityProtected)
        #expect(report.signatureStatus == nil)
        #expect(decryptor.configuredFingerprints == [scene.keys.rsa.fingerprint])
    }

    @Test(arguments: ["none", "zip", "zlib", "bzip2"], [true, false])
    func edKeyDecryptsBinaryMessagesWithEachCompression(compression: String, fastPath: Bool) throws {
        let scene = try Scene()
        GnuPGFixture.trackHome(scene.home)
        let decryptor = try PGPDecryptor(
            homeDirectory: scene.home, privateKeyFile: scene.keys.ed.armoredSecretKey, passphrase: nil,
            allowNoMDC: false, logger: .silent, fastPath: fastPath)
        defer { decryptor.stopAgent() }
        let input = try scene.encrypted("m.gpg", for: [scene.keys.ed], compression: compression)
        let output = scene.folder.file("out.csv")

        let report = try decryptor.decrypt(input: input, output: output)

        #expect(try scene.read(output) == scene.content)
        #expect(report.integrityProtected)
        #expect(try Files.list(scene.folder.path).filter { $0.hasPrefix(".tmp-") }.isEmpty)
    }

    @Test func homeIsPrivateAndAllowsLoopback() throws {
        let scene = try Scene()
        let decryptor = try scene.decryptor(key: scene.keys.ed)
        defer { decryptor.stopAgent() }
        let attributes = try FileManager.default.attributesOfItem(atPath: scene.home)
        #expect((attributes[.posixPermissions] as? Int) == 0o700)
        #expect(try scene.read(scene.home + "/gpg-agent.conf").contains("allow-loopback-pinentry"))
    }

    @Test func reImportingTheSameKeyIsHarmless() throws {
        let scene = try Scene()
        let first = try scene.decryptor(key: scene.keys.rsa)
        let second = try scene.decryptor(key: scene.keys.rsa, armored: false)
        defer { second.stopAgent() }
        #expect(first.configuredFingerprints == second.configuredFingerprints)
        let input = try scene.encrypted("m.gpg", for: [scene.keys.rsa])
        _ = try second.decrypt(input: input, output: scene.folder.file("out.csv"))
        #expect(try scene.read(scene.folder.file("out.csv")) == scene.content)
    }

    @Test func messageForSeveralRecipientsDecryptsWithOurs() throws {
        let scene = try Scene()
        let decryptor = try scene.decryptor(key: scene.keys.ed)
        defer { decryptor.stopAgent() }
        let input = try scene.encrypted("m.gpg", for: [scene.keys.other, scene.keys.rsa, scene.keys.ed])

        let report = try decryptor.decrypt(input: input, output: scene.folder.file("out.csv"))

        #expect(try scene.read(scene.folder.file("out.csv")) == scene.content)
        #expect(
            Set(report.recipients)
                == Set([scene.keys.other.keyIDs[1], scene.keys.rsa.keyIDs[1], scene.keys.ed.keyIDs[1]]))
    }

    @Test func signedMessageFromAnUnknownSignerSaysNoPublicKey() throws {
        let scene = try Scene()
        let decryptor = try scene.decryptor(key: scene.keys.ed)
        defer { decryptor.stopAgent() }
        let input = try scene.encrypted("m.gpg", for: [scene.keys.ed], signer: scene.keys.other)

        let report = try decryptor.decrypt(input: input, output: scene.folder.file("out.csv"))

        #expect(report.signatureStatus == "no-public-key")
        #expect(try scene.read(scene.folder.file("out.csv")) == scene.content)
    }

    @Test func signedMessageFromAKnownSignerIsValid() throws {
        let scene = try Scene()
        let decryptor = try scene.decryptor(key: scene.keys.ed)
        defer { decryptor.stopAgent() }
        let input = try scene.encrypted("m.asc", for: [scene.keys.ed], armor: true, signer: scene.keys.ed)

        let report = try decryptor.decrypt(input: input, output: scene.folder.file("out.csv"))

        #expect(report.signatureStatus == "valid")
    }

    /// The plain gpgme path (the fallback when the fast path cannot identify gpgme's pipes) asks for
    /// the passphrase and fails on damage just the same.
    @Test func plainGPGMEPathHandlesPassphraseAndTruncation() throws {
        let scene = try Scene()
        GnuPGFixture.trackHome(scene.home)
        let decryptor = try PGPDecryptor(
            homeDirectory: scene.home, privateKeyFile: scene.keys.rsa.binarySecretKey,
            passphrase: scene.keys.rsa.passphrase, allowNoMDC: false, logger: .silent, fastPath: false)
        defer { decryptor.stopAgent() }
        let input = try scene.encrypted("m.gpg", for: [scene.keys.rsa], signer: scene.keys.other)
        let report = try decryptor.decrypt(input: input, output: scene.folder.file("out.csv"))
        #expect(try scene.read(scene.folder.file("out.csv")) == scene.content)
        #expect(report.signatureStatus == "no-public-key")

        let cut = try scene.encrypted("cut.gpg", for: [scene.keys.rsa], compression: "none")
        let bytes = try Files.read(cut)
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
        try Files.remove(scene.folder.file("out.csv"))
        expectPGPError(.corrupt) { _ = try decryptor.decrypt(input: cut, output: scene.folder.file("out.csv")) }
        #expect(try scene.leftovers(in: scene.folder.path).isEmpty)
    }

    /// When the fast path does not recognise gpgme's pipes it stops gpg before data moved and the
    /// decryption starts over on gpgme's own path, with the same result.
    @Test func fastPathMismatchStartsOverOnGPGMEsPath() throws {
        let scene = try Scene()
        GnuPGFixture.trackHome(scene.home)
        let logs = MemoryLogSink()
        let decryptor = try PGPDecryptor(
            homeDirectory: scene.home, privateKeyFile: scene.keys.ed.armoredSecretKey, passphrase: nil,
            allowNoMDC: false, logger: Logger(level: .debug, sink: logs), fastPath: true,
            simulateFastPathMismatch: true)
        defer { decryptor.stopAgent() }
        let input = try scene.encrypted("m.gpg", for: [scene.keys.ed])

        _ = try decryptor.decrypt(input: input, output: scene.folder.file("out.csv"))

        #expect(try scene.read(scene.folder.file("out.csv")) == scene.content)
        #expect(logs.lines.contains { $0.contains("decrypting without the fast path") })
    }

    /// Large enough that the data crosses the 1 MiB pipes many times.
    @Test func severalMegabytesRoundTrip() throws {
        let scene = try Scene()
        let decryptor = try scene.decryptor(key: scene.keys.ed)
        defer { decryptor.stopAgent() }
        let big = scene.folder.file("big.csv")
        let line = Data("0123456789,abcdefghijklmnopqrstuvwxyz,ABCDEFGHIJKLMNOPQRSTUVWXYZ\n".utf8)
        var data = Data()
        for index in 0..<120_000 { data.append(Data("\(index),".utf8)); data.append(line) }
        try data.write(to: URL(fileURLWithPath: big))
        let input = scene.folder.file("big.gpg")
        try scene.keys.sender.encrypt(big, to: input, recipients: [scene.keys.ed], compression: "none")

        _ = try decryptor.decrypt(input: input, output: scene.folder.file("out.csv"))

        #expect(try Files.digest(scene.folder.file("out.csv")) == (try Files.digest(big)))
    }

    @Test func wrongPassphraseIsNamed() throws {
        let scene = try Scene()
        let logs = MemoryLogSink()
        let decryptor = try scene.decryptor(
            key: scene.keys.rsa, passphrase: "not it", logger: Logger(level: .debug, sink: logs))
        defer { decryptor.stopAgent() }
        let input = try scene.encrypted("m.gpg", for: [scene.keys.rsa])

        expectPGPError(.wrongPassphrase) {
            _ = try decryptor.decrypt(input: input, output: scene.folder.file("out.csv"))
        }
        #expect(try scene.leftovers(in: scene.folder.path).isEmpty)
        #expect(!logs.lines.joined().contains("not it"))
    }

    /// `check`'s proof: a message made for the key in its own home decrypts with the right passphrase, fails
    /// with the run's codes otherwise, and leaves no file behind.
    @Test func verifyPassphraseProvesTheKeyUnlocks() throws {
        let scene = try Scene()
        let right = try scene.decryptor(key: scene.keys.rsa)
        defer { right.stopAgent() }
        try right.verifyPassphrase()
        let unlocked = try scene.decryptor(key: scene.keys.ed)
        try unlocked.verifyPassphrase()
        let files = try Files.list(scene.home)
        #expect(!files.contains { $0.hasPrefix("passphrase-check") || $0.hasPrefix(AtomicFileWriter.temporaryPrefix) })

        let other = try Scene()
        let wrong = try other.decryptor(key: other.keys.rsa, passphrase: "not it")
        defer { wrong.stopAgent() }
        expectPGPError(.wrongPassphrase) { try wrong.verifyPassphrase() }
        let third = try Scene()
        let missing = try third.decryptor(key: third.keys.rsa, passphrase: .some(nil))
        defer { missing.stopAgent() }
        expectPGPError(.missingPassphrase) { try missing.verifyPassphrase() }
    }

    @Test func missingPassphraseIsNamed() throws {
        let scene = try Scene()
        let decryptor = try scene.decryptor(key: scene.keys.rsa, passphrase: .some(nil))
        defer { decryptor.stopAgent() }
        let input = try scene.encrypted("m.gpg", for: [scene.keys.rsa])

        expectPGPError(.missingPassphrase) {
            _ = try decryptor.decrypt(input: input, output: scene.folder.file("out.csv"))
        }
        #expect(try scene.leftovers(in: scene.folder.path).isEmpty)
    }

    @Test func messageForAnotherKeyNamesBothKeys() throws {
        let scene = try Scene()
        let decryptor = try scene.decryptor(key: scene.keys.ed)
        defer { decryptor.stopAgent() }
        let input = try scene.encrypted("m.gpg", for: [scene.keys.other])

        do {
            _ = try decryptor.decrypt(input: input, output: scene.folder.file("out.csv"))
            Issue.record("decrypted a message for another key")
        } catch let error as PGPError {
            #expect(error.code == .wrongKey)
            #expect(error.description.contains(scene.keys.other.keyIDs[1]))
            #expect(error.description.contains(scene.keys.ed.fingerprint))
        }
        #expect(try scene.leftovers(in: scene.folder.path).isEmpty)
    }

    @Test func expiredKeyIsRefusedWhenConfigured() throws {
        let scene = try Scene()
        GnuPGFixture.trackHome(scene.home)
        expectPGPError(.expiredKey) { _ = try scene.decryptor(key: scene.keys.expired) }
    }

    @Test func truncatedMessageLeavesNoPlaintext() throws {
        let scene = try Scene()
        let decryptor = try scene.decryptor(key: scene.keys.ed)
        defer { decryptor.stopAgent() }
        let input = try scene.encrypted("m.gpg", for: [scene.keys.ed], compression: "none")
        let bytes = try Files.read(input)
        try bytes.prefix(bytes.count * 2 / 3).write(to: URL(fileURLWithPath: input))

        expectPGPError(.corrupt) { _ = try decryptor.decrypt(input: input, output: scene.folder.file("out.csv")) }
        #expect(try scene.leftovers(in: scene.folder.path).isEmpty)
    }

    /// Cut inside its first packet, GnuPG finds "no data"; the file still starts like OpenPGP, so it is damaged,
    /// not something else.
    @Test(arguments: [3, 40])
    func messageCutInItsFirstPacketIsDamagedNotForeign(keep: Int) throws {
        let scene = try Scene()
        let decryptor = try scene.decryptor(key: scene.keys.ed)
        defer { decryptor.stopAgent() }
        let input = try scene.encrypted("m.gpg", for: [scene.keys.ed], compression: "none")
        try Files.read(input).prefix(keep).write(to: URL(fileURLWithPath: input))

        expectPGPError(.corrupt) { _ = try decryptor.decrypt(input: input, output: scene.folder.file("out.csv")) }
        #expect(try scene.leftovers(in: scene.folder.path).isEmpty)
    }

    @Test func tamperedMessageFailsItsIntegrityCheck() throws {
        let scene = try Scene()
        let decryptor = try scene.decryptor(key: scene.keys.ed)
        defer { decryptor.stopAgent() }
        let input = try scene.encrypted("m.gpg", for: [scene.keys.ed], compression: "none")
        var bytes = try Files.read(input)
        bytes[bytes.count - 40] ^= 0x55
        try bytes.write(to: URL(fileURLWithPath: input))

        expectPGPError(.corrupt) { _ = try decryptor.decrypt(input: input, output: scene.folder.file("out.csv")) }
        #expect(try scene.leftovers(in: scene.folder.path).isEmpty)
    }

    @Test func aFileThatIsNotPGPIsNamed() throws {
        let scene = try Scene()
        let decryptor = try scene.decryptor(key: scene.keys.ed)
        defer { decryptor.stopAgent() }
        let input = try scene.folder.write("events.csv.gpg", "id,event\n1,open\n")

        expectPGPError(.notPGP) { _ = try decryptor.decrypt(input: input, output: scene.folder.file("out.csv")) }
        #expect(try scene.leftovers(in: scene.folder.path).isEmpty)
    }

    /// gpg 2.2 still writes messages without MDC when asked for `--rfc2440` (here with CAST5, as old senders did).
    @Test func messageWithoutMDCIsRefusedUnlessAllowed() throws {
        let scene = try Scene()
        let input = try scene.encrypted(
            "m.gpg", for: [scene.keys.ed], extra: ["--rfc2440", "--cipher-algo", "CAST5"])
        let strict = try scene.decryptor(key: scene.keys.ed)
        expectPGPError(.noIntegrityProtection) {
            _ = try strict.decrypt(input: input, output: scene.folder.file("out.csv"))
        }
        #expect(try scene.leftovers(in: scene.folder.path).isEmpty)

        let lenient = try scene.decryptor(key: scene.keys.ed, allowNoMDC: true)
        defer { lenient.stopAgent() }
        let report = try lenient.decrypt(input: input, output: scene.folder.file("out.csv"))
        #expect(!report.integrityProtected)
        #expect(try scene.read(scene.folder.file("out.csv")) == scene.content)
    }

    @Test func missingKeyFileAndPublicOnlyKeyFileAreKeyFileErrors() throws {
        let scene = try Scene()
        GnuPGFixture.trackHome(scene.home)
        expectPGPError(.keyFile) {
            _ = try PGPDecryptor(
                homeDirectory: scene.home, privateKeyFile: scene.folder.file("absent.asc"), passphrase: nil,
                allowNoMDC: false, logger: .silent)
        }
        expectPGPError(.keyFile) {
            _ = try PGPDecryptor(
                homeDirectory: scene.home, privateKeyFile: scene.keys.other.armoredPublicKey, passphrase: nil,
                allowNoMDC: false, logger: .silent)
        }
        let garbage = try scene.folder.write("garbage.asc", "this is not a key\n")
        expectPGPError(.keyFile) {
            _ = try PGPDecryptor(
                homeDirectory: scene.home, privateKeyFile: garbage, passphrase: nil, allowNoMDC: false, logger: .silent)
        }
    }
}
