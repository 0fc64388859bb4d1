import Core
import Foundation
import SFTP
import TestSupport
import Testing

@Suite struct HostKeyTests {
    @Test func knownHostsWithPlainEntryOnNonStandardPortConnects() throws {
        let fixture = try ServerFixture()
        let session = try fixture.connect()
        #expect(session.presentedFingerprint == (try fixture.server.hostFingerprint("ed25519")))
        #expect(session.presentedHostKey.algorithm == "ssh-ed25519")
        #expect(fixture.server.port != 22)
    }

    /// The server has three host keys; known_hosts knows one of them, hashed. Whichever it is, the handshake
    /// asks for that type (libssh2 on its own would always ask for the same one and then find no entry).
    @Test(arguments: [("ed25519", "ssh-ed25519"), ("ecdsa", "ecdsa-sha2-nistp256")])
    func hashedEntryOfAnyKnownTypeIsUsed(known: String, algorithm: String) throws {
        let fixture = try ServerFixture(hostKeyTypes: ["ecdsa", "rsa", "ed25519"])
        try fixture.server.writeKnownHosts(to: fixture.knownHosts, types: [known], hashed: true)
        let text = try String(contentsOfFile: fixture.knownHosts, encoding: .utf8)
        #expect(text.hasPrefix("|1|") && !text.contains("127.0.0.1"))

        let session = try fixture.connect()
        #expect(session.presentedHostKey.algorithm == algorithm)
        #expect(session.presentedFingerprint == (try fixture.server.hostFingerprint(known)))
        try session.authenticate(privateKeyFile: fixture.key, passphrase: nil)
        #expect(try session.list(directory: fixture.remote).isEmpty)
    }

    @Test func mismatchShowsBothFingerprints() throws {
        let fixture = try ServerFixture()
        // Another server's key under this server's name.
        let impostor = try SSHServer()
        let line = try impostor.knownHostsLine().replacingOccurrences(
            of: "[127.0.0.1]:\(impostor.port)", with: "[127.0.0.1]:\(fixture.server.port)")
        try (line + "\n").write(toFile: fixture.knownHosts, atomically: true, encoding: .utf8)

        let error = try #require(sftpError { _ = try fixture.connect() })
        #expect(error.code == .hostKeyMismatch)
        #expect(error.exitStatus == .usage, "a changed host key needs a person at once")
        #expect(error.description.contains(try impostor.hostFingerprint()))
        #expect(error.description.contains(try fixture.server.hostFingerprint()))
    }

    @Test func pinnedFingerprintIsCheckedBeforeAuthentication() throws {
        let fixture = try ServerFixture()
        let right = try fixture.server.hostFingerprint()
        _ = try fixture.connect(policy: .pinned(right))

        let other = try SSHServer()
        let error = try #require(sftpError { _ = try fixture.connect(policy: .pinned(try other.hostFingerprint())) })
        #expect(error.code == .hostKeyMismatch)
        #expect(error.description.contains(right))
        #expect(
            sftpErrorCode { _ = try fixture.connect(policy: .pinned("SHA256:tooshort")) } == .invalidPinnedFingerprint)
    }

    @Test func unknownHostNamesThePresentedFingerprintAndRefusesReportOnlyAuthentication() throws {
        let fixture = try ServerFixture()
        try "# empty\n".write(toFile: fixture.knownHosts, atomically: true, encoding: .utf8)
        let error = try #require(sftpError { _ = try fixture.connect() })
        #expect(error.code == .hostKeyUnknown)
        #expect(error.description.contains(try fixture.server.hostFingerprint()))

        let session = try fixture.connect(policy: .reportOnly)
        #expect(session.presentedFingerprint == (try fixture.server.hostFingerprint()))
        #expect(
            sftpErrorCode { try session.authenticate(privateKeyFile: fixture.key, passphrase: nil) }
                == .hostKeyNotVerified)

        #expect(
            sftpErrorCode { _ = try fixture.connect(policy: .knownHosts(fixture.folder.file("none"))) }
                == .knownHostsUnreadable)
    }

    @Test func refusedConnectionIsATemporaryFailure() throws {
        let server = try SSHServer()
        let port = server.port
        server.stop()
        let error = try #require(
            sftpError {
                _ = try SFTPSession(
                    host: "127.0.0.1", port: port, username: "nobody", connectTimeout: 2, hostKeyPolicy: .reportOnly,
                    logger: .silent)
            })
        #expect(error.code == .connectionRefused)
        #expect(error.exitStatus == .temporaryFailure)
    }
}

@Suite struct AuthenticationTests {
    @Test(arguments: ["ed25519", "ecdsa"])
    func ed25519AndECDSAKeysAuthenticate(keyType: String) throws {
        let fixture = try ServerFixture(keyType: keyType)
        let session = try fixture.authenticated()
        #expect(try session.list(directory: fixture.remote) == [])
    }

    @Test func pemRSAKeyAuthenticatesWhereTheServerAcceptsSSHRSA() throws {
        let fixture = try ServerFixture(config: ["PubkeyAcceptedAlgorithms +ssh-rsa"])
        let pem = try SSHServer.makeKey(type: "rsa", at: fixture.folder.file("id_rsa_pem"), pem: true)
        try fixture.server.authorize(publicKeyOf: pem)
        #expect(try PrivateKeyFile.inspect(pem).format == .pem)
        try fixture.connect().authenticate(privateKeyFile: pem, passphrase: nil)
    }

    @Test func rsaKeyAuthenticatesWhereTheServerAcceptsSSHRSA() throws {
        let fixture = try ServerFixture(keyType: "rsa", config: ["PubkeyAcceptedAlgorithms +ssh-rsa"])
        _ = try fixture.authenticated()
    }

    @Test func rsaKeyOnAStrictServerExplainsSHA1() throws {
        let fixture = try ServerFixture(keyType: "rsa")
        let session = try fixture.connect()
        let error = try #require(sftpError { try session.authenticate(privateKeyFile: fixture.key, passphrase: nil) })
        #expect(error.code == .rsaSHA1Refused)
        #expect(error.description.contains("ed25519"))
    }

    @Test func keyNotInstalledIsRefusedByTheServer() throws {
        let fixture = try ServerFixture()
        let stranger = try SSHServer.makeKey(type: "ed25519", at: fixture.folder.file("stranger"))
        let session = try fixture.connect()
        #expect(sftpErrorCode { try session.authenticate(privateKeyFile: stranger, passphrase: nil) } == .keyRefused)
    }

    @Test func encryptedKeyNeedsTheRightPassphrase() throws {
        let fixture = try ServerFixture(passphrase: "correct horse")
        #expect(sftpErrorCode { _ = try fixture.authenticated(passphrase: nil) } == .passphraseRequired)
        let wrong = try #require(sftpError { _ = try fixture.authenticated(passphrase: "wrong horse") })
        #expect(wrong.code == .wrongPassphrase)
        #expect(!wrong.description.contains("wrong horse"))
        _ = try fixture.authenticated(passphrase: "correct horse")
    }

    @Test func missingKeyFileIsNotAnAuthenticationFailure() throws {
        let fixture = try ServerFixture()
        let session = try fixture.connect()
        #expect(
            sftpErrorCode { try session.authenticate(privateKeyFile: fixture.folder.file("gone"), passphrase: nil) }
                == .keyFileMissing)
        // The same session can still authenticate once the key is right.
        try session.authenticate(privateKeyFile: fixture.key, passphrase: nil)
    }
}
