import Foundation
import HTTP
import TestSupport

/// The built `fake-responsys` executable, started on 127.0.0.1 with `--port 0` for one test and stopped
/// when the test lets go of it. Its state and journal are read over HTTP and from the journal file.
final class FakeResponsysProcess: @unchecked Sendable {
    static let user = "etl_api"
    static let password = "fake password 5ecret"

    let process = Process()
    let port: Int
    let journalPath: String
    private let http: HTTPClient

    init(journal: String, arguments: [String]) throws {
        journalPath = journal
        process.executableURL = URL(fileURLWithPath: ToolProcess.path(of: "fake-responsys"))
        process.arguments =
            ["--port", "0", "--journal", journal, "--user", "\(Self.user):\(Self.password)"] + arguments
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

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func state() throws -> [String: Any] {
        let response = try http.send(HTTPRequest(method: "GET", url: baseURL + "/_fake/state"))
        guard let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any] else {
            throw FakeProcessError(text: "/_fake/state is not an object")
        }
        return object
    }

    func members(_ list: String) throws -> [[String: String]] {
        (try state()["lists"] as? [String: Any])?[list] as? [[String: String]] ?? []
    }

    /// Rows of an extension table, keyed by the member's email.
    func petRows(_ list: String, _ pet: String) throws -> [String: [String: String]] {
        let rows = (try state()["pets"] as? [String: Any])?[list + "/" + pet] as? [[String: String]] ?? []
        let emailByRIID = Dictionary(
            try members(list).map { ($0["RIID_"] ?? "", $0["EMAIL_ADDRESS_"] ?? "") }, uniquingKeysWith: { a, _ in a })
        return Dictionary(rows.map { (emailByRIID[$0["RIID_"] ?? ""] ?? "?", $0) }, uniquingKeysWith: { a, _ in a })
    }

    func emails() throws -> [[String: Any]] { try state()["emails"] as? [[String: Any]] ?? [] }

    func journal() throws -> [[String: Any]] {
        let text = (try? String(contentsOfFile: journalPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Calls of one API function in the journal that were answered (not dropped).
    func calls(_ function: String) throws -> [[String: Any]] {
        try journal().filter { $0["function"] as? String == function }
    }

    func setFaults(_ faults: [String: Any]) throws {
        let body = try JSONSerialization.data(withJSONObject: faults)
        _ = try http.send(
            HTTPRequest(
                method: "POST", url: baseURL + "/_fake/faults", headers: [("Content-Type", "application/json")],
                body: body))
    }
}

struct FakeProcessError: Error, CustomStringConvertible {
    var text: String
    var description: String { text }
}

/// Reads an NDJSON file into objects.
func ndjson(_ path: String) throws -> [[String: Any]] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    return text.split(separator: "\n").compactMap {
        try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
}
