import Core
import FakeResponsys
import Foundation
import HTTP
import Responsys
import TestSupport
import Testing

let testUser = "etl_api_user"
let testPassword = "s3cr3t!pass&word"

/// A fake Responsys on a free port of 127.0.0.1, journaling into a temporary folder, stopped on release.
final class FakeHarness: @unchecked Sendable {
    let folder: TemporaryFolder
    let server: FakeResponsysServer
    let logSink = MemoryLogSink()

    init(_ configure: (inout FakeResponsysConfiguration) -> Void = { _ in }) throws {
        folder = try TemporaryFolder("responsys")
        var config = FakeResponsysConfiguration()
        config.users = [testUser: testPassword]
        config.lists = ["MASTER_LIST"]
        config.pets = [FakePET(list: "MASTER_LIST", name: "Lytics_User_Fields", columns: ["FIRST_NAME", "CITY"])]
        config.campaigns = ["WELCOME": "MASTER_LIST"]
        config.journalPath = folder.file("journal.ndjson")
        configure(&config)
        server = FakeResponsysServer(config)
        try server.start()
    }

    deinit { server.stop() }

    /// A client with waits scaled down from minutes to fractions of a second.
    func client(
        password: String = testPassword, limits: ResponsysLimits? = nil, retry: RetryPolicy? = nil
    ) throws -> ResponsysClient {
        try ResponsysClient(
            auth: ResponsysAuth(username: testUser, password: password, baseURL: server.baseURL),
            limits: limits ?? ResponsysLimits(), retry: retry ?? fastRetry(),
            logger: Logger(level: .debug, sink: logSink))
    }

    func state() throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: server.stateJSON()) as? [String: Any])
    }

    func members(_ list: String = "MASTER_LIST") throws -> [[String: String]] {
        let lists = try state()["lists"] as? [String: Any]
        return lists?[list] as? [[String: String]] ?? []
    }

    func emails() throws -> [[String: Any]] { try state()["emails"] as? [[String: Any]] ?? [] }

    func journal() throws -> [[String: Any]] {
        let text = try String(contentsOfFile: folder.file("journal.ndjson"), encoding: .utf8)
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }
}

func fastRetry() -> RetryPolicy {
    var retry = RetryPolicy()
    retry.initialBackoff = 0.01
    retry.maxBackoff = 0.05
    retry.minuteBoundaryWait = 0.2
    retry.capacityBackoff = 0.2
    return retry
}

func listBody(_ rows: [[String]], fields: [String] = ["EMAIL_ADDRESS_", "CUSTOMER_ID_"]) -> Data {
    var rule = MergeRule()
    rule.matchColumnName1 = "EMAIL_ADDRESS_"
    return ResponsysBody.listMerge(fieldNames: fields, records: rows, rule: rule)
}

func triggerBody(_ emails: [String], optional: [(name: String, value: String)] = []) -> Data {
    var rule = MergeRule()
    rule.defaultPermissionStatus = "OPTIN"
    return ResponsysBody.mergeTrigger(
        fieldNames: ["EMAIL_ADDRESS_"],
        records: emails.map { ResponsysBody.TriggerRecord(fieldValues: [$0], optionalData: optional) }, rule: rule)
}
