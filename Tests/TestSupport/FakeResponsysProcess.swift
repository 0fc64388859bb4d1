import Foundation
import HTTP

/// The built `fake-responsys` executable, started on 127.0.0.1 with `--port 0` for one test and stopped
/// when the test lets go of it. Its state and faults go over real HTTP; its journal is read from its file.
public final class FakeResponsysProcess: @unchecked Sendable {
    public static let user = "etl_api"
    public static let password = "fake password 5ecret"

    public let process = Process()
    public let port: Int
    public let journalPath: String?
    private let http: HTTPClient

    public init(journal: String? = nil, arguments: [String]) throws {
        journalPath = journal
        process.executableURL = URL(fileURLWithPath: ToolProcess.path(of: "fake-responsys"))
        process.arguments =
            ["--port", "0", "--user", "\(Self.user):\(Self.password)"] + (journal.map { ["--journal", $0] } ?? [])
            + arguments
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
            throw FakeProcessError(text: "fake-responsys printed no port")
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

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public func state() throws -> [String: Any] {
        let response = try http.send(HTTPRequest(method: "GET", url: baseURL + "/_fake/state"))
        guard response.status == 200,
            let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        else { throw FakeProcessError(text: "/_fake/state answered \(response.status)") }
        return object
    }

    /// The fake's counters (`GET /_fake/stats`) as "failed=… dropped=… throttled=… invalidToken=…".
    public func faultSummary() -> String {
        guard let response = try? http.send(HTTPRequest(method: "GET", url: baseURL + "/_fake/stats")),
            let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
        else { return "stats unavailable" }
        return ["failed", "dropped", "throttled", "invalidToken"].map { "\($0)=\(object[$0] as? Int ?? -1)" }
            .joined(separator: " ")
    }

    public func members(_ list: String) throws -> [[String: String]] {
        (try state()["lists"] as? [String: Any])?[list] as? [[String: String]] ?? []
    }

    /// Rows of an extension table, keyed by the member's email.
    public func petRows(_ list: String, _ pet: String) throws -> [String: [String: String]] {
        let rows = (try state()["pets"] as? [String: Any])?[list + "/" + pet] as? [[String: String]] ?? []
        let emailByRIID = Dictionary(
            try members(list).map { ($0["RIID_"] ?? "", $0["EMAIL_ADDRESS_"] ?? "") }, uniquingKeysWith: { a, _ in a })
        return Dictionary(rows.map { (emailByRIID[$0["RIID_"] ?? ""] ?? "?", $0) }, uniquingKeysWith: { a, _ in a })
    }

    public func emails() throws -> [[String: Any]] { try state()["emails"] as? [[String: Any]] ?? [] }

    public func journal() throws -> [[String: Any]] {
        let text = journalPath.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Calls of one API function in the journal that were answered (not dropped).
    public func calls(_ function: String) throws -> [[String: Any]] {
        try journal().filter { $0["function"] as? String == function }
    }

    /// Changes faults while running (`POST /_fake/faults`), e.g. `["failRate": 0.0, "dropRate": 0.0]`.
    public func setFaults(_ faults: [String: Any]) throws {
        let response = try http.send(
            HTTPRequest(
                method: "POST", url: baseURL + "/_fake/faults", headers: [("Content-Type", "application/json")],
                body: try JSONSerialization.data(withJSONObject: faults)))
        guard (200..<300).contains(response.status) else {
            throw FakeProcessError(text: "/_fake/faults answered \(response.status)")
        }
    }
}

public struct FakeProcessError: Error, CustomStringConvertible {
    public var text: String
    public var description: String { text }
}

/// Reads an NDJSON file into objects.
public func ndjson(_ path: String) throws -> [[String: Any]] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    return text.split(separator: "\n").compactMap {
        try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
}
