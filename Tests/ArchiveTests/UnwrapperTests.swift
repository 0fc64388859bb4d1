import Archive
import Core
import Foundation
import PGP
import TestSupport
import Testing

/// One sender home and key for the suite (key generation is slow).
final class UnwrapKeys: Sendable {
    let sender: GnuPGFixture
    let key: GnuPGFixture.Key

    init() throws {
        sender = try GnuPGFixture()
        key = try sender.generateKey(name: "unwrap", algorithm: "ed25519", passphrase: nil)
    }

    static let shared = Result { try UnwrapKeys() }
}

/// A download folder, an output folder and a decryptor in a private GnuPG home.
final class UnwrapScene {
    let folder: TemporaryFolder
    let keys: UnwrapKeys
    let out: String
    let unwrapper = Unwrapper(logger: .silent)
    private var decryptor: PGPDecryptor?

    init() throws {
        keys = try UnwrapKeys.shared.get()
        folder = try TemporaryFolder("unwrap")
        out = folder.path + "/decrypt"
    }

    deinit { decryptor?.stopAgent() }

    func pgp() throws -> PGPDecryptor {
        if let decryptor { return decryptor }
        let home = folder.path + "/state/gnupg"
        GnuPGFixture.trackHome(home)
        let made = try PGPDecryptor(
            homeDirectory: home, privateKeyFile: keys.key.armoredSecretKey, passphrase: nil, allowNoMDC: false,
            logger: .silent)
        decryptor = made
        return made
    }

    /// Encrypts `plain` into `extract/<name>` (signed by the same key when `signed`).
    func encrypt(_ plain: String, as name: String, armor: Bool = false, signed: Bool = false) throws -> String {
        let output = folder.path + "/extract/" + name
        try Files.makeDirectory(folder.path + "/extract")
        try keys.sender.encrypt(
            plain, to: output, recipients: [keys.key], armor: armor, signer: signed ? keys.key : nil)
        return output
    }
}

private func expectPGPError(_ code: PGPError.Code, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected PGPError.\(code), got success")
    } catch let error as PGPError {
        #expect(error.code == code, "\(error)")
    } catch {
        Issue.record("expected PGPError.\(code), got \(error)")
    }
}

@Suite struct UnwrapperTests {
    @Test func zipInsideGPG() throws {
        let scene = try UnwrapScene()
        let zip = scene.folder.file("events.zip")
        try Make.zip(zip, [("opens.csv", Make.rows("open")), ("clicks.csv", Make.rows("click"))])
        let input = try scene.encrypt(zip, as: "events.zip.gpg", signed: true)

        let files = try scene.unwrapper.unwrap(
            input: input, originalName: "events.zip.gpg", into: scene.out, pgp: try scene.pgp())

        #expect(files.map(\.name) == ["opens.csv", "clicks.csv"])
        #expect(files.map(\.member) == ["opens.csv", "clicks.csv"])
        #expect(files.allSatisfy { $0.derivedFrom == "events.zip.gpg" && $0.signatureStatus == "valid" })
        #expect(try Make.text(scene.out + "/clicks.csv") == Make.rows("click"))
        #expect(try Files.list(scene.out) == ["clicks.csv", "opens.csv"])
    }

    @Test func gpgWithoutZipExtensionHoldingAZipIsUnpacked() throws {
        let scene = try UnwrapScene()
        let zip = scene.folder.file("payload.zip")
        try Make.zip(zip, [("acct_EMAIL_OPEN_20240307_140509.csv", Make.rows("open"))])
        let input = try scene.encrypt(zip, as: "acct_export.gpg")

        let files = try scene.unwrapper.unwrap(
            input: input, originalName: "acct_export.gpg", into: scene.out, pgp: try scene.pgp())

        #expect(files.map(\.name) == ["acct_EMAIL_OPEN_20240307_140509.csv"])
        #expect(files.first?.signatureStatus == nil)
        #expect(try Files.list(scene.out) == ["acct_EMAIL_OPEN_20240307_140509.csv"])
    }

    @Test func armoredGzipPGP() throws {
        let scene = try UnwrapScene()
        let gz = scene.folder.file("events.csv.gz")
        try Make.gzip(gz, parts: [Make.rows("one"), Make.rows("two")])
        let input = try scene.encrypt(gz, as: "events.csv.gz.pgp", armor: true)

        let files = try scene.unwrapper.unwrap(
            input: input, originalName: "events.csv.gz.pgp", into: scene.out, pgp: try scene.pgp())

        #expect(files.map(\.name) == ["events.csv"])
        #expect(try Make.text(scene.out + "/events.csv") == Make.rows("one") + Make.rows("two"))
        #expect(try Files.list(scene.out) == ["events.csv"])
    }

    @Test func armoredCSVNamedAsc() throws {
        let scene = try UnwrapScene()
        let csv = try scene.folder.write("events.csv", Make.rows("asc"))
        let input = try scene.encrypt(csv, as: "events.csv.asc", armor: true)

        let files = try scene.unwrapper.unwrap(
            input: input, originalName: "events.csv.asc", into: scene.out, pgp: try scene.pgp())

        #expect(
            files == [
                UnwrappedFile(
                    path: scene.out + "/events.csv", name: "events.csv", derivedFrom: "events.csv.asc", member: nil,
                    signatureStatus: nil)
            ])
        #expect(try Make.text(scene.out + "/events.csv") == Make.rows("asc"))
        #expect(try Files.list(scene.out) == ["events.csv"])
    }

    @Test(arguments: ["events.csv", "notes.txt"])
    func plainFilesPassThrough(name: String) throws {
        let scene = try UnwrapScene()
        let input = try scene.folder.write("extract/" + name, Make.rows("plain"))

        let files = try scene.unwrapper.unwrap(input: input, originalName: name, into: scene.out, pgp: nil)

        #expect(files.map(\.name) == [name])
        #expect(try Make.text(scene.out + "/" + name) == Make.rows("plain"))
        #expect(Files.exists(input))
    }

    @Test func encryptedFileWithoutAConfiguredKeySaysWhatToSet() throws {
        let scene = try UnwrapScene()
        let csv = try scene.folder.write("events.csv", Make.rows("x"))
        let input = try scene.encrypt(csv, as: "events.csv.gpg")

        do {
            _ = try scene.unwrapper.unwrap(input: input, originalName: "events.csv.gpg", into: scene.out, pgp: nil)
            Issue.record("unwrapped an encrypted file without a key")
        } catch let error as PGPError {
            #expect(error.code == .notConfigured)
            #expect(error.description.contains("pgp_private_key_file"))
        }
        #expect(try Files.list(scene.out).isEmpty)
    }

    @Test func fileNamedGPGThatIsNotPGP() throws {
        let scene = try UnwrapScene()
        let input = try scene.folder.write("extract/events.csv.gpg", Make.rows("x"))
        expectPGPError(.notPGP) {
            _ = try scene.unwrapper.unwrap(input: input, originalName: "events.csv.gpg", into: scene.out, pgp: nil)
        }
        #expect(try Files.list(scene.out).isEmpty)
    }

    @Test func encryptedTruncatedZipLeavesNothing() throws {
        let scene = try UnwrapScene()
        let zip = scene.folder.file("events.zip")
        try Make.zip(zip, [("a.csv", Make.rows("a", 3000))])
        try Make.truncate(zip, to: 0.6)
        let input = try scene.encrypt(zip, as: "events.zip.gpg")

        #expect(throws: ArchiveError.self) {
            _ = try scene.unwrapper.unwrap(
                input: input, originalName: "events.zip.gpg", into: scene.out, pgp: try scene.pgp())
        }
        #expect(try Files.list(scene.out).isEmpty)
    }

    @Test func reRunGivesTheSameNamesAndContent() throws {
        let scene = try UnwrapScene()
        let zip = scene.folder.file("events.zip")
        try Make.zip(zip, [("a.csv", "one"), ("sub/b.csv", "two")])
        let input = try scene.encrypt(zip, as: "events.zip.gpg")

        let first = try scene.unwrapper.unwrap(
            input: input, originalName: "events.zip.gpg", into: scene.out, pgp: try scene.pgp())
        let second = try scene.unwrapper.unwrap(
            input: input, originalName: "events.zip.gpg", into: scene.out, pgp: try scene.pgp())

        #expect(first == second)
        #expect(try Files.list(scene.out) == ["a.csv", "b.csv"])
    }

    @Test func twoInputsProducingTheSameNameAreCaught() throws {
        let scene = try UnwrapScene()
        let first = scene.folder.file("a.zip")
        let second = scene.folder.file("b.zip")
        try Make.zip(first, [("events.csv", "one")])
        try Make.zip(second, [("events.csv", "two")])
        let filesA = try scene.unwrapper.unwrap(input: first, originalName: "a.zip", into: scene.out, pgp: nil)
        let filesB = try scene.unwrapper.unwrap(
            input: second, originalName: "b.zip", into: scene.folder.path + "/other", pgp: nil)

        #expect(throws: ArchiveError.self) { try Unwrapper.requireUniqueNames(filesA + filesB) }
        try Unwrapper.requireUniqueNames(filesA)
    }
}
