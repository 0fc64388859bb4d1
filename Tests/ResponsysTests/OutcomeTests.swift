import Core
import FakeResponsys
import Foundation
import HTTP
import Testing

@testable import Responsys

@Suite struct RecordOutcomeTests {
    @Test func anInvalidEmailFailsOnlyItsRecord() throws {
        let fake = try FakeHarness()
        let client = try fake.client()
        let outcome = try client.mergeListMembers(
            list: "MASTER_LIST",
            body: listBody([["ann@example.org", "c-1"], ["not-an-email", "c-2"], ["cy@example.org", "c-3"]]))

        #expect(outcome.succeeded == 2)
        #expect(outcome.failures.map(\.index) == [1])
        #expect(outcome.failures.map(\.code) == ["INVALID_EMAIL_ADDRESS"])
        #expect(try fake.members().count == 2)
    }

    @Test func parsesTheDocumentedFailureTexts() {
        #expect(
            OutcomeParser.recordOutcome("MERGEFAILED: Record 3 = INVALID_PARAMETER: The value ssdcf is bad", index: 3)
                == .failed(index: 3, code: "INVALID_PARAMETER", message: "The value ssdcf is bad"))
        #expect(
            OutcomeParser.recordOutcome("DELETEFAILED: Record not Found in the List.", index: 0)
                == .failed(index: 0, code: "DELETEFAILED", message: "Record not Found in the List."))
        #expect(OutcomeParser.recordOutcome("70012345", index: 1) == .riid("70012345"))
    }

    @Test func listMatchColumnsNeedTheUnderscore() throws {
        let fake = try FakeHarness()
        let client = try fake.client()
        var rule = MergeRule()
        rule.matchColumnName1 = "EMAIL_ADDRESS"
        let body = ResponsysBody.listMerge(fieldNames: ["EMAIL_ADDRESS_"], records: [["ann@example.org"]], rule: rule)
        let error = #expect(throws: ResponsysError.self) {
            _ = try client.mergeListMembers(list: "MASTER_LIST", body: body)
        }
        #expect(error?.code == .invalidRequest)
        #expect(error?.errorCode == "INVALID_PARAMETER")
    }

    @Test func petMergeAttachesRowsToListMembers() throws {
        let fake = try FakeHarness()
        let client = try fake.client()
        _ = try client.mergeListMembers(list: "MASTER_LIST", body: listBody([["ann@example.org", "c-1"]]))
        let body = ResponsysBody.petMerge(
            fieldNames: ["EMAIL_ADDRESS_", "FIRST_NAME", "CITY"],
            records: [["ann@example.org", "Ann", "Oslo"], ["nobody@example.org", "No", "Body"]],
            matchColumnName1: "EMAIL_ADDRESS_")
        #expect(String(decoding: body, as: UTF8.self).contains("\"matchColumnName1\":\"EMAIL_ADDRESS\""))
        let outcome = try client.mergePETMembers(list: "MASTER_LIST", pet: "Lytics_User_Fields", body: body)

        #expect(outcome.records.first == .riid("70000001"))
        #expect(outcome.failures.map(\.code) == ["NO_RECIPIENT_FOUND"])
        let pets = try fake.state()["pets"] as? [String: [[String: String]]]
        #expect(
            pets?["MASTER_LIST/Lytics_User_Fields"] == [["RIID_": "70000001", "FIRST_NAME": "Ann", "CITY": "Oslo"]])
    }

    @Test func petMergeRefusesUnderscoreMatchColumnsAndNeedsAListKey() throws {
        let fake = try FakeHarness()
        let client = try fake.client()
        let underscored = Data(
            """
            {"recordData":{"fieldNames":["EMAIL_ADDRESS_","CITY"],"records":[["a@example.org","X"]],"mapTemplateName":null},
             "insertOnNoMatch":true,"updateOnMatch":"REPLACE_ALL","matchColumnName1":"EMAIL_ADDRESS_","matchColumnName2":null}
            """.utf8)
        let error = #expect(throws: ResponsysError.self) {
            _ = try client.mergePETMembers(list: "MASTER_LIST", pet: "Lytics_User_Fields", body: underscored)
        }
        #expect(error?.errorCode == "INVALID_PARAMETER")

        let noKey = ResponsysBody.petMerge(
            fieldNames: ["CITY"], records: [["Oslo"]], matchColumnName1: "EMAIL_ADDRESS")
        let outcome = try client.mergePETMembers(list: "MASTER_LIST", pet: "Lytics_User_Fields", body: noKey)
        #expect(outcome.failures.map(\.index) == [0])
    }

    @Test func deleteUsesActionDeleteAndReportsMissingMembers() throws {
        let fake = try FakeHarness()
        let client = try fake.client()
        _ = try client.mergeListMembers(list: "MASTER_LIST", body: listBody([["ann@example.org", "c-1"]]))
        let outcome = try client.deleteListMembers(
            list: "MASTER_LIST",
            body: ResponsysBody.delete(queryAttribute: "e", ids: ["ann@example.org", "zed@example.org"]))

        #expect(outcome.records.first == .riid("70000001"))
        #expect(outcome.failures.map(\.code) == ["DELETEFAILED"])
        #expect(try fake.members().isEmpty)
        let delete = try fake.journal().first { $0["function"] as? String == "deleteListMembers" }
        #expect(delete?["path"] as? String == "/rest/api/v1.3/lists/MASTER_LIST/members")
    }

    @Test func triggerReportsEachRecipientAndKeepsOptionalData() throws {
        let fake = try FakeHarness()
        let client = try fake.client()
        let outcome = try client.mergeTriggerEmail(
            campaign: "WELCOME",
            body: triggerBody(["ann@example.org", "broken@"], optional: [("OFFER", "Crème brûlée")]))

        guard case .answered(let recipients) = outcome else {
            Issue.record("expected an answer, got \(outcome)")
            return
        }
        #expect(recipients.map(\.success) == [true, false])
        #expect(recipients[1].errorMessage?.hasPrefix("INVALID_EMAIL_ADDRESS") == true)
        let emails = try fake.emails()
        #expect(emails.count == 1)
        #expect(emails.first?["email"] as? String == "ann@example.org")
        #expect((emails.first?["optionalData"] as? [String: String])?["OFFER"] == "Crème brûlée")
    }

    @Test func unescapedNonASCIIInOptionalDataIsRefused() throws {
        let fake = try FakeHarness()
        let client = try fake.client()
        let raw = Data(
            """
            {"mergeTriggerRecordData":{"fieldNames":["EMAIL_ADDRESS_"],"mergeTriggerRecords":[{"fieldValues":["ann@example.org"],
             "optionalData":[{"name":"OFFER","value":"Crème"}]}]},
             "mergeRule":{"insertOnNoMatch":true,"updateOnMatch":"REPLACE_ALL","matchColumnName1":"EMAIL_ADDRESS_"}}
            """.utf8)
        let error = #expect(throws: ResponsysError.self) {
            _ = try client.mergeTriggerEmail(campaign: "WELCOME", body: raw)
        }
        #expect(error?.errorCode == "INVALID_REQUEST_CONTENT")
        #expect(try fake.emails().isEmpty)
    }

    @Test func checkFindsWhatExistsAndWhatDoesNot() throws {
        let fake = try FakeHarness()
        let client = try fake.client()
        #expect(try client.listExists("MASTER_LIST"))
        #expect(try !client.listExists("NO_SUCH_LIST"))
        #expect(try client.petExists(list: "MASTER_LIST", pet: "Lytics_User_Fields"))
        #expect(try !client.petExists(list: "MASTER_LIST", pet: "Lytics_Segments"))
        #expect(try client.campaignExists("WELCOME"))
        #expect(try !client.campaignExists("GOODBYE"))

        let error = #expect(throws: ResponsysError.self) {
            _ = try client.mergeListMembers(list: "NO_SUCH_LIST", body: listBody([["ann@example.org", "c-1"]]))
        }
        #expect(error?.code == .notFound)
        #expect(error?.description.contains("NO_SUCH_LIST") == true)
    }

    @Test func moreThan200RecordsAreRefusedBeforeSending() throws {
        let fake = try FakeHarness()
        let client = try fake.client()
        let rows = (0..<201).map { ["u\($0)@example.org", "c\($0)"] }
        let error = #expect(throws: ResponsysError.self) {
            _ = try client.mergeListMembers(list: "MASTER_LIST", body: listBody(rows))
        }
        #expect(error?.code == .invalidRequest)
        #expect(fake.server.currentStats().calls["mergeListMembers"] == nil)
    }
}

@Suite struct HTTPClientTests {
    @Test func aRefusedConnectionNeverReachedTheServer() throws {
        // A port that was just free: bind, learn it, stop.
        let fake = try FakeHarness()
        let port = fake.server.port
        fake.server.stop()
        let client = try HTTPClient()
        let error = #expect(throws: HTTPError.self) {
            _ = try client.send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/_fake/state"))
        }
        #expect(error?.code == .connect)
        #expect(error?.mayHaveReachedServer == false)
    }

    @Test func aDroppedAnswerMayHaveReachedTheServer() throws {
        let fake = try FakeHarness()
        fake.server.updateFaults { $0.dropNext = 1 }
        let client = try HTTPClient()
        let form = "user_name=\(testUser)&password=x&auth_type=password"
        // Wrong password: answered 400, not dropped (only successful calls are dropped).
        let refused = try client.send(
            HTTPRequest(
                method: "POST", url: fake.server.baseURL + "/rest/api/v1.3/auth/token",
                headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Data(form.utf8)))
        #expect(refused.status == 400)
        let good =
            "user_name=\(testUser)&password=\(testPassword.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)&auth_type=password"
        // Not repeatable: libcurl would otherwise resend it silently on a fresh connection, since the
        // dropped one was a reused keep-alive connection.
        let error = #expect(throws: HTTPError.self) {
            _ = try client.send(
                HTTPRequest(
                    method: "POST", url: fake.server.baseURL + "/rest/api/v1.3/auth/token",
                    headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Data(good.utf8),
                    repeatable: false))
        }
        #expect(error?.code == .dropped)
        #expect(error?.mayHaveReachedServer == true)
    }

    @Test func answersOverTheCapAreRefused() throws {
        let fake = try FakeHarness()
        var options = HTTPOptions()
        options.maxResponseBytes = 10
        let client = try HTTPClient(options: options)
        let error = #expect(throws: HTTPError.self) {
            _ = try client.send(HTTPRequest(method: "GET", url: fake.server.baseURL + "/_fake/state"))
        }
        #expect(error?.code == .tooLarge)
    }

    @Test func keepsTheConnectionAliveAcrossRequests() throws {
        let fake = try FakeHarness()
        let client = try HTTPClient()
        for _ in 0..<3 {
            let response = try client.send(HTTPRequest(method: "GET", url: fake.server.baseURL + "/_fake/state"))
            #expect(response.status == 200)
            #expect(response.header("connection") == "keep-alive")
        }
    }

    @Test func onlyHTTPAndHTTPSAreAccepted() throws {
        let client = try HTTPClient()
        let error = #expect(throws: HTTPError.self) {
            _ = try client.send(HTTPRequest(method: "GET", url: "file:///etc/passwd"))
        }
        #expect(error?.code == .invalidURL)
    }
}
