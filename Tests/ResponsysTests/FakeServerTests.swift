import Core
import FakeResponsys
import Foundation
import HTTP
import Responsys
import TestSupport
import Testing

@Suite struct FakeServerTests {
    /// The built `fake-responsys`, next to the test bundle (swift build builds it with the tests).
    static func executable() -> String? {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = folder.appendingPathComponent("fake-responsys").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return nil
    }

    @Test func theExecutableAnswersHelpWithItsOptionsAndControlEndpoints() throws {
        for flag in ["--help", "-h"] {
            let result = try ToolProcess.run("fake-responsys", [flag])
            #expect(result.status == 0, "\(flag): \(result.stderr)")
            #expect(result.stdout.hasPrefix("Usage: fake-responsys"))
            for text in [
                "--port", "--user NAME:PASSWORD", "--fail-rate", "/_fake/state", "/_fake/stats", "/_fake/faults",
            ] {
                #expect(result.stdout.contains(text), "\(flag) does not mention \(text)")
            }
            #expect(result.stderr.isEmpty)
        }
        let unknown = try ToolProcess.run("fake-responsys", ["--frobnicate"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("--help"))
    }

    @Test func theExecutablePrintsItsPortAndTakesFaultsAtRuntime() throws {
        guard let path = Self.executable() else {
            Issue.record("fake-responsys is not built next to the tests; run swift build first")
            return
        }
        let folder = try TemporaryFolder("fake-exe")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = [
            "--port", "0", "--user", "\(testUser):\(testPassword)", "--list", "MASTER_LIST",
            "--pet", "MASTER_LIST/Lytics_Segments:HIGH_VALUE,CART_ABANDONER", "--campaign", "WELCOME:MASTER_LIST",
            "--journal", folder.file("journal.ndjson"), "--limit-per-minute", "100", "--seed", "7",
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        // The first line of stdout is the port.
        var line = Data()
        while !line.contains(0x0A) {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            guard !byte.isEmpty else { break }
            line.append(byte)
        }
        let port = try #require(
            Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        let base = "http://127.0.0.1:\(port)"

        let http = try HTTPClient()
        let faults = try http.send(
            HTTPRequest(method: "POST", url: base + "/_fake/faults", body: Data(#"{"failNext": 1}"#.utf8)))
        #expect(faults.status == 204)
        var limits = ResponsysLimits()
        limits.perMinute = [.login: 600]  // the 503 hits the login; its retry need not wait 6 s
        let client = try ResponsysClient(
            auth: ResponsysAuth(username: testUser, password: testPassword, baseURL: base), limits: limits,
            retry: fastRetry())
        #expect(try client.petExists(list: "MASTER_LIST", pet: "Lytics_Segments"))
        let outcome = try client.mergeListMembers(list: "MASTER_LIST", body: listBody([["ann@example.org", "c-1"]]))
        #expect(outcome.succeeded == 1)

        let stats = try http.send(HTTPRequest(method: "GET", url: base + "/_fake/stats"))
        let object = try #require(JSONSerialization.jsonObject(with: stats.body) as? [String: Any])
        #expect(object["failed"] as? Int == 1)  // the 503 asked for at runtime, retried by the client
        let state = try http.send(HTTPRequest(method: "GET", url: base + "/_fake/state"))
        let lists = try #require(JSONSerialization.jsonObject(with: state.body) as? [String: Any])["lists"]
        #expect(((lists as? [String: Any])?["MASTER_LIST"] as? [Any])?.count == 1)
        let journal = try String(contentsOfFile: folder.file("journal.ndjson"), encoding: .utf8)
        #expect(!journal.contains(testPassword))
        #expect(journal.split(separator: "\n").count >= 4)  // login, ratelimit, listExtensions, 503, merge
    }

    @Test func parsesItsCommandLine() throws {
        let config = try FakeResponsysConfiguration.parse([
            "--port", "8080", "--user", "u:p:w", "--pet", "L/P:A,b", "--campaign", "C:L2", "--latency-ms", "300",
            "--token-ttl", "5", "--limit-per-minute", "600", "--fail-rate", "0.1", "--drop-rate", "0.2",
            "--seed", "3",
        ])
        #expect(config.port == 8080)
        #expect(config.users == ["u": "p:w"])
        #expect(config.pets == [FakePET(list: "L", name: "P", columns: ["A", "B"])])
        #expect(config.lists == ["L", "L2"])
        #expect(config.faults.latencyMs == 300 && config.faults.limitPerWindow == 600)
        #expect(config.faults.failRate == 0.1 && config.faults.dropRate == 0.2 && config.faults.tokenTTL == 5)
        #expect(throws: FakeServerError.self) { try FakeResponsysConfiguration.parse(["--pet", "no-columns"]) }
        #expect(throws: FakeServerError.self) { try FakeResponsysConfiguration.parse(["--bogus"]) }
        #expect(throws: FakeServerError.self) { try FakeResponsysConfiguration.parse(["--latency-ms", "-5"]) }
        #expect(throws: FakeServerError.self) { try FakeResponsysConfiguration.parse(["--fail-rate", "2"]) }
    }

    @Test func instancesLogInOnTheirOwnHosts() {
        let hosts = ResponsysAuth.Instance.allCases.map {
            ResponsysAuth(username: "u", password: "p", instance: $0).loginURL
        }
        #expect(
            hosts == [
                "https://login2.responsys.net", "https://login5.responsys.net", "https://login.rsys8.net",
                "https://login.rsys9.net",
            ])
        #expect(
            ResponsysAuth(username: "u", password: "p", baseURL: "http://127.0.0.1:8080/").loginURL
                == "http://127.0.0.1:8080")
    }

    @Test func aSlowAnswerTimesOutAfterTheRequestWasSent() throws {
        let fake = try FakeHarness { $0.faults.latencyMs = 1500 }
        var options = HTTPOptions()
        options.totalTimeout = 0.3
        let client = try HTTPClient(options: options)
        let error = #expect(throws: HTTPError.self) {
            _ = try client.send(
                HTTPRequest(
                    method: "POST", url: fake.server.baseURL + "/rest/api/v1.3/auth/token", body: Data("x=y".utf8)))
        }
        #expect(error?.code == .timeout)
        #expect(error?.mayHaveReachedServer == true)
    }
}
