import Foundation
import SFTP
import TestSupport
import Testing

@Suite struct PrivateKeyFileTests {
    func code(_ body: () throws -> Void) -> SFTPError.Code? {
        do {
            try body()
            return nil
        } catch let error as SFTPError {
            return error.code
        } catch {
            return nil
        }
    }

    @Test func classifiesKeysMadeBySSHKeygen() throws {
        let folder = try TemporaryFolder("keys")
        let ed = try SSHServer.makeKey(type: "ed25519", at: folder.file("ed"))
        let rsaPEM = try SSHServer.makeKey(type: "rsa", at: folder.file("rsa"), pem: true)
        let ecdsaLocked = try SSHServer.makeKey(type: "ecdsa", at: folder.file("ec"), passphrase: "s3cret phrase")
        let rsaLockedPEM = try SSHServer.makeKey(
            type: "rsa", at: folder.file("rsa2"), passphrase: "longer pass", pem: true)

        #expect(
            try PrivateKeyFile.inspect(ed) == .init(path: ed, format: .openSSH, keyType: .ed25519, isEncrypted: false))
        #expect(
            try PrivateKeyFile.inspect(rsaPEM) == .init(path: rsaPEM, format: .pem, keyType: .rsa, isEncrypted: false))
        #expect(try PrivateKeyFile.inspect(ecdsaLocked).keyType == .ecdsa)
        #expect(try PrivateKeyFile.inspect(ecdsaLocked).isEncrypted)
        #expect(try PrivateKeyFile.inspect(rsaLockedPEM).isEncrypted)
    }

    @Test func localProblemsHaveTheirOwnCodes() throws {
        let folder = try TemporaryFolder("keys")
        #expect(code { _ = try PrivateKeyFile.inspect(folder.file("absent")) } == .keyFileMissing)
        // A folder cannot be read as a file (root ignores mode bits, so a chmod 000 file would not do).
        #expect(code { _ = try PrivateKeyFile.inspect(folder.path) } == .keyFileUnreadable)

        let ppk = try folder.write(
            "key.ppk", "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: x\nPublic-Lines: 2\n")
        do {
            _ = try PrivateKeyFile.inspect(ppk)
            Issue.record("a .ppk key was accepted")
        } catch let error as SFTPError {
            #expect(error.code == .puttyKey)
            #expect(error.description.contains("puttygen \(ppk) -O private-openssh"))
        }

        let key = try SSHServer.makeKey(type: "ed25519", at: folder.file("id"))
        #expect(code { _ = try PrivateKeyFile.inspect(key + ".pub") } == .unsupportedKeyFormat)
        let damaged = try folder.write(
            "damaged", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n")
        #expect(code { _ = try PrivateKeyFile.inspect(damaged) } == .unsupportedKeyFormat)
        let text = try folder.write("notes.txt", "hello\n")
        #expect(code { _ = try PrivateKeyFile.inspect(text) } == .unsupportedKeyFormat)
    }
}
