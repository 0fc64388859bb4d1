import Foundation
import HTTP
import TestSupport
import Testing

@Suite struct TLSTests {
    /// A real TLS server (`openssl s_server`) with a self-signed certificate: the client must refuse it.
    @Test func anUnverifiableCertificateIsRefusedBeforeAnythingIsSent() throws {
        let folder = try TemporaryFolder("tls")
        let made = try run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", folder.file("key.pem"), "-out",
                folder.file("cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1",
            ])
        #expect(made == 0)

        // A port that was free a moment ago.
        let probe = try FakeHarness()
        let port = probe.server.port
        probe.server.stop()

        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        server.arguments = [
            "s_server", "-accept", "127.0.0.1:\(port)", "-cert", folder.file("cert.pem"), "-key",
            folder.file("key.pem"),
            "-www", "-quiet",
        ]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            kill(server.processIdentifier, SIGKILL)  // a test runner's blocked signals may be inherited
            server.waitUntilExit()
        }

        let client = try HTTPClient()
        var lastError: HTTPError?
        for _ in 0..<50 {
            do {
                _ = try client.send(HTTPRequest(method: "GET", url: "https://127.0.0.1:\(port)/"))
                lastError = nil
                break
            } catch let error as HTTPError {
                lastError = error
                if error.code != .connect { break }
                Thread.sleep(forTimeInterval: 0.1)  // s_server not listening yet
            }
        }
        #expect(lastError?.code == .tls)
        #expect(lastError?.mayHaveReachedServer == false)
    }

    private func run(_ path: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
