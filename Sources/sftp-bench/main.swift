// sftp-bench: downloads one file with the SFTP module, for bench/sftp-download.sh to time against OpenSSH's
// `sftp`. Not part of the product; the printed line is `bytes=… seconds=… sha256=…`.
import Core
import Foundation
import SFTP

func usage() -> Never {
    FileHandle.standardError.write(
        Data(
            ("usage: sftp-bench --host H --port P --user U --key KEYFILE --known-hosts FILE "
                + "[--buffer BYTES] [--connections N] REMOTE LOCAL\n").utf8))
    exit(2)
}

var options: [String: String] = [:]
var positional: [String] = []
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    if argument.hasPrefix("--") {
        guard let value = arguments.popFirst() else { usage() }
        options[String(argument.dropFirst(2))] = value
    } else {
        positional.append(argument)
    }
}
if let path = options["digest-only"] {
    // Times the SHA-256 the download computes, alone, to see its share of the download time.
    let start = monotonicSeconds()
    let digest = try Files.digest(path)
    print("digest seconds=\(String(format: "%.3f", monotonicSeconds() - start)) sha256=\(digest.sha256)")
    exit(0)
}
guard positional.count == 2, let host = options["host"], let user = options["user"], let key = options["key"],
    let knownHosts = options["known-hosts"], let port = Int(options["port"] ?? "22")
else { usage() }
let buffer = Int(options["buffer"] ?? "") ?? SFTPSession.defaultReadBufferSize
let connections = Int(options["connections"] ?? "") ?? 2

do {
    let start = monotonicSeconds()
    let connect: @Sendable () throws -> SFTPSession = {
        let session = try SFTPSession(
            host: host, port: port, username: user, hostKeyPolicy: .knownHosts(knownHosts),
            logger: Logger(level: .warn))
        try session.authenticate(privateKeyFile: key, passphrase: nil)
        return session
    }
    let session = try connect()
    let entry = try session.stat(path: positional[0])
    let result = try session.download(
        remotePath: positional[0], to: positional[1], expectedSize: entry.size, readBufferSize: buffer,
        parallel: ParallelDownload(connections: connections, connect: connect))
    let seconds = monotonicSeconds() - start
    print("bytes=\(result.bytes) seconds=\(String(format: "%.3f", seconds)) sha256=\(result.sha256)")
} catch {
    FileHandle.standardError.write(Data("sftp-bench: \(error)\n".utf8))
    exit(1)
}
