import Foundation
import HTTP
import TestSupport

/// The built `fake-responsys`, started on 127.0.0.1 (`--port 0`, the port read from its first stdout line)
/// for one scenario and stopped when the scenario lets go of it. State and faults go over real HTTP.
final class FakeServer: @unchecked Sendable {
    static let user = "etl_api"
    static let password = "fake password r3liable"

    private let process = Process()
    let port: Int
    private let http: HTTPClient

    init(arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: ToolProcess.path(of: "fake-responsys"))
        process.arguments = ["--port", "0", "--user", "\(Self.user):\(Self.password)"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            process.terminate()
            throw ScenarioError("fake-responsys printed no port")
        }
        self.port = port
        http = try HTTPClient()
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func state() throws -> [String: Any] {
        let response = try http.send(HTTPRequest(method: "GET", url: baseURL + "/_fake/state"))
        guard response.status == 200,
            let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        else { throw ScenarioError("/_fake/state answered \(response.status)") }
        return object
    }

    /// The fake's counters (`GET /_fake/stats`) as "failed=… dropped=… throttled=… invalidToken=…".
    func faultSummary() -> String {
        guard let response = try? http.send(HTTPRequest(method: "GET", url: baseURL + "/_fake/stats")),
            let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
        else { return "stats unavailable" }
        return ["failed", "dropped", "throttled", "invalidToken"].map { "\($0)=\(object[$0] as? Int ?? -1)" }
            .joined(separator: " ")
    }

    /// Changes faults while running (`POST /_fake/faults`), e.g. `["failRate": 0.0, "dropRate": 0.0]`.
    func setFaults(_ faults: [String: Any]) throws {
        let response = try http.send(
            HTTPRequest(
                method: "POST", url: baseURL + "/_fake/faults", headers: [("Content-Type", "application/json")],
                body: try JSONSerialization.data(withJSONObject: faults)))
        guard response.status == 200 else { throw ScenarioError("/_fake/faults answered \(response.status)") }
    }
}

struct ScenarioError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
