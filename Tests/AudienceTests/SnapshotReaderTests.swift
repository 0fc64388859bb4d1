import Audience
import Core
import Foundation
import TestSupport
import Testing
import Warehouse

@Suite struct SnapshotReaderTests {
    let options = AudienceSnapshotOptions(
        additionalFields: ["first_name", "city"], audienceMemberships: ["newsletter", "high_value"])

    @Test func ndjsonMembershipsFromColumnsOrTheAudiencesList() throws {
        let folder = try TemporaryFolder("audience")
        let source = try folder.write(
            "users.ndjson",
            """
            {"email":"  Ann@Example.ORG ","first_name":"Ann","city":null,"newsletter":true,"high_value":"no"}
            {"email":"bob@example.org","first_name":"","audiences":["high_value","other"]}

            {"email":"carl@example.org","newsletter":1,"high_value":0,"city":"Paris"}
            {"email":"not-an-email","newsletter":true}
            {"email":"dora@example.org","newsletter":"maybe"}
            not json
            {"first_name":"Nobody"}
            """)
        var members: [AudienceMember] = []
        var rejects: [SnapshotReject] = []
        let counts = try AudienceSnapshotReader(options: options).readFile(
            source, member: { members.append($0) }, reject: { rejects.append($0) })
        #expect(counts == SnapshotReadCounts(rows: 7, rejected: 4))
        #expect(
            members == [
                AudienceMember(email: "ann@example.org", fields: ["first_name": "Ann"], audiences: ["newsletter"]),
                AudienceMember(email: "bob@example.org", fields: [:], audiences: ["high_value"]),
                AudienceMember(email: "carl@example.org", fields: ["city": "Paris"], audiences: ["newsletter"]),
            ])
        #expect(rejects.map(\.line) == [5, 6, 7, 8])
        #expect(rejects[0].reason.contains("@"))
        #expect(rejects[1].reason.contains("newsletter"))
        #expect(rejects[2].reason.hasPrefix("not JSON"))
        #expect(rejects[3].reason.contains("no email"))
    }

    @Test func csvWithSemicolonAudiencesGzipped() throws {
        let folder = try TemporaryFolder("audience")
        let plain = try folder.write(
            "users.csv",
            "Email,First_Name,audiences\r\nann@example.org,\"Ann, Jr.\",newsletter;high_value\r\nBOB@example.org,Bob,\r\nbad@,X,newsletter\r\n"
        )
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-k", plain]
        try gzip.run()
        gzip.waitUntilExit()
        for path in [plain, plain + ".gz"] {
            var members: [AudienceMember] = []
            var rejects: [SnapshotReject] = []
            let counts = try AudienceSnapshotReader(options: options).readFile(
                path, member: { members.append($0) }, reject: { rejects.append($0) })
            #expect(counts == SnapshotReadCounts(rows: 3, rejected: 1))
            #expect(
                members == [
                    AudienceMember(
                        email: "ann@example.org", fields: ["first_name": "Ann, Jr."],
                        audiences: ["newsletter", "high_value"]),
                    AudienceMember(email: "bob@example.org", fields: ["first_name": "Bob"], audiences: []),
                ])
            #expect(rejects == [SnapshotReject(line: 4, reason: "the email has no domain after the @")])
        }
    }

    @Test func truncatedGzipIsAnError() throws {
        let folder = try TemporaryFolder("audience")
        var text = ""
        for index in 0..<5000 { text += "{\"email\":\"user\(index)@example.org\"}\n" }
        let plain = try folder.write("users.ndjson", text)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = [plain]
        try gzip.run()
        gzip.waitUntilExit()
        let data = try Files.read(plain + ".gz")
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: plain + ".gz"))
        #expect {
            _ = try AudienceSnapshotReader(options: options).readFile(plain + ".gz", member: { _ in }, reject: { _ in })
        } throws: { ($0 as? AudienceError)?.code == .badCompression }
    }

    @Test func sqliteQueryWithNowBound() throws {
        let folder = try TemporaryFolder("audience")
        let database = folder.file("warehouse.sqlite")
        let db = try SQLiteDatabase(path: database)
        try db.execute("create table users (email text, first_name text, last_seen text, vip integer)")
        try db.execute(
            """
            insert into users values ('Ann@example.org', 'Ann', '2026-12-04T14:00:00Z', 1),
              ('bob@example.org', 'Bob', '2026-11-01T00:00:00Z', 0), ('broken', 'X', '2026-12-04T14:30:00Z', 0)
            """)
        let query = try folder.write(
            "recent.sql",
            "select email, first_name, vip as high_value from users where last_seen >= strftime('%Y-%m-%dT%H:%M:%SZ', :now, '-1 day')"
        )
        let now = try #require(Timestamp.parseCompact("20261204T150000Z"))
        var members: [AudienceMember] = []
        var rejects: [SnapshotReject] = []
        let counts = try AudienceSnapshotReader(options: options).readSQLite(
            databasePath: database, queryFile: query, now: now, member: { members.append($0) },
            reject: { rejects.append($0) })
        #expect(counts == SnapshotReadCounts(rows: 2, rejected: 1))
        #expect(
            members == [
                AudienceMember(email: "ann@example.org", fields: ["first_name": "Ann"], audiences: ["high_value"])
            ])
        #expect(rejects.map(\.line) == [2])
    }

    @Test func duplicateEmailsInDifferentCaseKeepTheLastRow() throws {
        let folder = try TemporaryFolder("audience")
        let source = try folder.write(
            "users.ndjson",
            """
            {"email":"Ann@Example.org","first_name":"First"}
            {"email":"zed@example.org","first_name":"Zed"}
            {"email":"ANN@EXAMPLE.ORG","first_name":"Second"}
            {"email":"ann@example.org ","first_name":"Third"}
            {"email":"nope","first_name":"X"}
            """)
        let summary = try AudienceExtract.fromFile(
            source, options: options, snapshotPath: folder.file("extract/snapshot.ndjson"),
            rejectsPath: folder.file("extract/rejects.ndjson"), temporaryFolder: folder.file("tmp"))
        #expect(summary.read == SnapshotReadCounts(rows: 5, rejected: 1))
        #expect(summary.snapshot.members == 2)
        #expect(summary.snapshot.duplicates == 2)
        #expect(
            try lines(folder.file("extract/snapshot.ndjson")) == [
                #"{"email":"ann@example.org","fields":{"first_name":"Third"},"audiences":[]}"#,
                #"{"email":"zed@example.org","fields":{"first_name":"Zed"},"audiences":[]}"#,
            ])
        let rejects = try lines(folder.file("extract/rejects.ndjson"))
        #expect(rejects.count == 1)
        #expect(rejects[0].hasPrefix(#"{"line":5,"reason":"#))
    }
}

@Suite struct NDJSONScannerTests {
    @Test func escapesNestingAndMalformedLines() throws {
        let folder = try TemporaryFolder("audience")
        var text = """
            {"em\\u0061il":"ann\\u0040example.org","audiences":["News\\u006cetter"," HIGH_VALUE ","unknown"]}
            {"email":"bob@example.org","audiences":[1]}
            {"email":"cat@example.org","nested":{"a":[1,{"b":null}]},"n":-1.5e3,"t":true,"first_name":42}
            {"email":"dan@example.org"} x
            [1,2]
            {"email":"eve@example.org","first_name":"\\u00e9\\ud83d\\ude00"}
            {"email":"gus@example.org","first_name":{"x":1}}
            {"email":"hal@example.org","score":tru}
            {"email":"ivy@example.org","newsletter":"yes","audiences":["high_value"]}

            """
        text += "{\"email\":\"fay@example.org\",\"first_name\":\"bad \u{FFFD}\"}\n"
        var data = Data(text.utf8)
        // Replace the U+FFFD (EF BF BD) by a lone 0xFF byte: invalid UTF-8 in a field.
        if let range = data.range(of: Data([0xEF, 0xBF, 0xBD])) { data.replaceSubrange(range, with: [0xFF]) }
        let source = folder.file("users.ndjson")
        try data.write(to: URL(fileURLWithPath: source))

        var members: [AudienceMember] = []
        var rejects: [SnapshotReject] = []
        let options = AudienceSnapshotOptions(
            additionalFields: ["first_name"], audienceMemberships: ["newsletter", "high_value"])
        _ = try AudienceSnapshotReader(options: options).readFile(
            source, member: { members.append($0) }, reject: { rejects.append($0) })
        #expect(
            members == [
                AudienceMember(email: "ann@example.org", audiences: ["newsletter", "high_value"]),
                AudienceMember(email: "cat@example.org", fields: ["first_name": "42"]),
                AudienceMember(email: "eve@example.org", fields: ["first_name": "é😀"]),
                AudienceMember(email: "ivy@example.org", audiences: ["newsletter", "high_value"]),
            ])
        #expect(rejects.map(\.line) == [2, 4, 5, 7, 8, 10])
        #expect(rejects[0].reason == "the audiences field is not a list")
        #expect(rejects[1].reason.hasPrefix("not JSON: text after the JSON value"))
        #expect(rejects[2].reason == "the line is not a JSON object")
        #expect(rejects[3].reason.contains("first_name"))
        #expect(rejects[4].reason.hasPrefix("not JSON"))
        #expect(rejects[5].reason.contains("UTF-8"))
    }
}

@Suite struct GzipCSVTests {
    /// A gzip CSV refused at its header, while the inflating thread still has megabytes to pass on:
    /// the error comes back (no hang, no SIGPIPE).
    @Test func refusedHeaderStopsTheInflater() throws {
        let folder = try TemporaryFolder("audience")
        var text = "mail,first_name\n"
        for index in 0..<100_000 { text += "user\(index)@example.org,Name \(index)\n" }
        let plain = try folder.write("users.csv", text)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = [plain]
        try gzip.run()
        gzip.waitUntilExit()
        #expect {
            _ = try AudienceSnapshotReader(options: AudienceSnapshotOptions()).readFile(
                plain + ".gz", member: { _ in }, reject: { _ in })
        } throws: { ($0 as? AudienceError)?.code == .badSource }
    }
}
