import Core
import Foundation
import SFTP
import TestSupport

/// A running sshd, a client key it accepts, a known_hosts file naming it, and a folder the tests fill with
/// "remote" files (the server runs as the current user on this machine, so remote paths are local paths).
final class ServerFixture: @unchecked Sendable {
    let folder: TemporaryFolder
    let server: SSHServer
    let key: String
    let knownHosts: String
    let remote: String
    let logSink = MemoryLogSink()

    init(
        keyType: String = "ed25519", hostKeyTypes: [String] = ["ed25519"], config: [String] = [],
        passphrase: String = "", hashedKnownHosts: Bool = false
    ) throws {
        folder = try TemporaryFolder("sftp")
        server = try SSHServer(hostKeyTypes: hostKeyTypes, config: config)
        key = try SSHServer.makeKey(type: keyType, at: folder.file("id_\(keyType)"), passphrase: passphrase)
        try server.authorize(publicKeyOf: key)
        knownHosts = folder.file("known_hosts")
        try server.writeKnownHosts(to: knownHosts, hashed: hashedKnownHosts)
        remote = folder.file("remote")
        try Files.makeDirectory(remote)
    }

    var logger: Logger { Logger(level: .debug, sink: logSink) }

    func connect(policy: HostKeyPolicy? = nil) throws -> SFTPSession {
        try SFTPSession(
            host: server.host, port: server.port, username: server.username, connectTimeout: 5, operationTimeout: 20,
            hostKeyPolicy: policy ?? .knownHosts(knownHosts), logger: logger)
    }

    func authenticated(passphrase: String? = nil) throws -> SFTPSession {
        let session = try connect()
        try session.authenticate(privateKeyFile: key, passphrase: passphrase)
        return session
    }

    /// Writes a remote file with `count` bytes of a repeatable pattern, returning its bytes.
    @discardableResult
    func makeRemoteFile(_ name: String, count: Int) throws -> Data {
        var bytes = [UInt8](repeating: 0, count: count)
        var state: UInt32 = 2_463_534_242
        for index in 0..<count {
            state ^= state << 13
            state ^= state >> 17
            state ^= state << 5
            bytes[index] = UInt8(truncatingIfNeeded: state)
        }
        let data = Data(bytes)
        try data.write(to: URL(fileURLWithPath: SFTPSession.join(remote, name)))
        return data
    }
}

/// The code of the `SFTPError` thrown by `body`, or nil (and the test fails on the comparison).
func sftpErrorCode(_ body: () throws -> Void) -> SFTPError.Code? {
    do {
        try body()
        return nil
    } catch let error as SFTPError {
        return error.code
    } catch {
        return nil
    }
}

func sftpError(_ body: () throws -> Void) -> SFTPError? {
    do {
        try body()
        return nil
    } catch let error as SFTPError {
        return error
    } catch {
        return nil
    }
}
