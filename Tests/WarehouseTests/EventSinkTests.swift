import Core
import Foundation
import Records
import TestSupport
import Testing

@testable import Warehouse

/// Transforms a small CLICK file into `folder/transform/<name>.ndjson` and returns that path.
private func makeEvents(in folder: TemporaryFolder, name: String = "1234_CLICK_20240307_060001.txt") throws -> String {
    let input = try folder.write(
        name,
        """
        EVENT_TYPE_ID,ACCOUNT_ID,LIST_ID,RIID,CUSTOMER_ID,EVENT_CAPTURED_DT,EVENT_STORED_DT,CAMPAIGN_ID,LAUNCH_ID,EMAIL,OFFER_URL
        2,1234,55501,70012345,c-1,07-Mar-2024 05:58:31,07-Mar-2024 05:59:02,9911,440022,ann@example.org,"https://x.example/?a=1,b"
        2,1234,,70012346,,08-Mar-2024 23:59:59,09-Mar-2024 00:00:01,9911,440022,,
        2,1234,1,0,c-3,,,9911,440022,bob@example.org,

        """)
    let rejects = try RejectsWriter(path: folder.file("transform/rejects.ndjson"))
    let output = folder.file("transform/" + NDJSONFolderSink.partitionFileName(for: name))
    let (counts, _) = try EventTransformer.transform(
        input: input, sourceName: name, outputPath: output, rejects: rejects)
    try rejects.commit()
    #expect(counts.events == 3)
    return output
}

@Suite struct SQLiteEventSinkTests {
    @Test func loadingTwiceStoresEveryEventOnce() throws {
        let folder = try TemporaryFolder("sink")
        let events = try makeEvents(in: folder)
        let path = folder.file("data/warehouse.sqlite")
        let first = try SQLiteEventSink(path: path, batchSize: 2).load(ndjsonFile: events, sourceName: "x")
        #expect(first == LoadCounts(inserted: 3, alreadyPresent: 0))
        // A new connection, as a re-run would open.
        let second = try SQLiteEventSink(path: path).load(ndjsonFile: events, sourceName: "x")
        #expect(second == LoadCounts(inserted: 0, alreadyPresent: 3))

        let db = try SQLiteDatabase(path: path)
        #expect(try db.query("SELECT count(*) FROM responsys_events") == [[.integer(3)]])
        let rows = try db.query(
            """
            SELECT stream, event_type, channel, account_id, list_id, riid, customer_id, email, event_captured_at,
                   event_stored_at, campaign_id, launch_id, source_file, source_line,
                   json_extract(payload, '$.offer_url'), length(event_id)
            FROM responsys_events ORDER BY source_line
            """)
        #expect(
            rows[0] == [
                .text("responsys_events"), .text("CLICK"), .text("EMAIL"), .integer(1234), .integer(55501),
                .integer(70_012_345), .text("c-1"), .text("ann@example.org"), .text("2024-03-07T05:58:31Z"),
                .text("2024-03-07T05:59:02Z"), .integer(9911), .integer(440_022),
                .text("1234_CLICK_20240307_060001.txt"), .integer(2), .text("https://x.example/?a=1,b"), .integer(32),
            ])
        #expect(rows[1][4] == .null)
        #expect(rows[1][6] == .null)
        #expect(rows[2][8] == .null)
        #expect(rows[2][4] == .integer(1), "a 1 is a number, not a boolean")
        #expect(rows[2][5] == .integer(0))
    }

    @Test func theCompiledSchemaIsTheOneInTheRepository() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = String(decoding: try Files.read(repository.path + "/sql/events.sql"), as: UTF8.self)
        #expect(text == EventSchema.sql + "\n")
    }

    @Test func aLineThatIsNotAnEventStopsTheLoadAndKeepsEarlierBatches() throws {
        let folder = try TemporaryFolder("sink")
        let events = try makeEvents(in: folder)
        var text = String(decoding: try Files.read(events), as: UTF8.self)
        text += "{\"stream\":\"s\"}\n"
        let broken = try folder.write("broken.ndjson", text)
        let sink = try SQLiteEventSink(path: folder.file("w.sqlite"), batchSize: 3)
        let error = #expect(throws: SinkError.self) { try sink.load(ndjsonFile: broken, sourceName: "x") }
        #expect(error?.code == .badEvent)
        #expect(error?.description.contains("line 4") == true)
        #expect(try sink.database.query("SELECT count(*) FROM responsys_events") == [[.integer(3)]])
        // The complete file then loads without duplicates.
        #expect(try sink.load(ndjsonFile: events, sourceName: "x") == LoadCounts(inserted: 0, alreadyPresent: 3))
    }

    @Test func notJSONIsABadEvent() throws {
        let folder = try TemporaryFolder("sink")
        let file = try folder.write("bad.ndjson", "{not json\n")
        let sink = try SQLiteEventSink(path: folder.file("w.sqlite"))
        let error = #expect(throws: SinkError.self) { try sink.load(ndjsonFile: file, sourceName: "x") }
        #expect(error?.code == .badEvent)
        #expect(error?.description.contains("line 1: not valid JSON") == true)
    }

    /// Each line is a valid event with one thing changed; the error names it, and nothing of the line is stored.
    @Test(arguments: [
        (#"[1,2]"#, "not a JSON object"),
        (
            #"{"_event_id":"e1","stream":"s","event_type":"CLICK","channel":"EMAIL","account_id":"1234","#
                + #""_source_file":"f","_line":2}"#, "account_id is not a whole number (it is text)"
        ),
        (
            #"{"_event_id":"e1","stream":"s","event_type":"CLICK","channel":"EMAIL","account_id":1234,"#
                + #""_source_file":"f","_line":2.5}"#, "_line is not a whole number (it is real)"
        ),
        (
            #"{"_event_id":"e1","stream":"s","event_type":"CLICK","channel":"EMAIL","account_id":1234,"#
                + #""email":null,"_source_file":"f","_line":2}"#, "email is not a string (it is null)"
        ),
        (
            #"{"stream":"s","event_type":"CLICK","channel":"EMAIL","account_id":1234,"#
                + #""_source_file":"f","_line":2}"#, "the event has no _event_id"
        ),
    ])
    func aLineOfTheWrongShapeIsNamedAndNotStored(line: String, reason: String) throws {
        let folder = try TemporaryFolder("sink")
        let file = try folder.write("bad.ndjson", line + "\n")
        let sink = try SQLiteEventSink(path: folder.file("w.sqlite"))
        let error = #expect(throws: SinkError.self) { try sink.load(ndjsonFile: file, sourceName: "x") }
        #expect(error?.code == .badEvent)
        #expect(error?.description.contains("line 1: \(reason)") == true, "\(error.map { "\($0)" } ?? "")")
        #expect(try sink.database.query("SELECT count(*) FROM responsys_events") == [[.integer(0)]])
    }

    @Test func optionalColumnsMayBeAbsentAndAreReadWithTheirTypes() throws {
        let folder = try TemporaryFolder("sink")
        let line =
            #"{"_event_id":"e1","stream":"s","event_type":"OPEN","channel":"EMAIL","account_id":1234,"#
            + #""riid":70012345,"email":"zoë@example.com","_source_file":"f.txt","_line":7,"extra":[1,{"a":2}]}"#
        let file = try folder.write("one.ndjson", line + "\n" + line + "\n")
        let sink = try SQLiteEventSink(path: folder.file("w.sqlite"))
        #expect(try sink.load(ndjsonFile: file, sourceName: "x") == LoadCounts(inserted: 1, alreadyPresent: 1))
        let rows = try sink.database.query(
            "SELECT account_id, list_id, riid, email, customer_id, source_line, typeof(riid), payload "
                + "FROM responsys_events")
        #expect(
            rows == [
                [
                    .integer(1234), .null, .integer(70_012_345), .text("zoë@example.com"), .null, .integer(7),
                    .text("integer"), .text(line),
                ]
            ])
    }
}

@Suite struct NDJSONFolderSinkTests {
    @Test func partitionsByEventDateAndReloadReplaces() throws {
        let folder = try TemporaryFolder("folder-sink")
        let events = try makeEvents(in: folder)
        let sink = try NDJSONFolderSink(folder: folder.file("lake"))
        let first = try sink.load(ndjsonFile: events, sourceName: "1234_CLICK_20240307_060001.txt")
        #expect(first == LoadCounts(inserted: 3, alreadyPresent: 0))
        #expect(try Files.list(folder.file("lake")) == ["date=2024-03-07", "date=2024-03-08", "date=unknown"])
        let march7 = String(
            decoding: try Files.read(folder.file("lake/date=2024-03-07/1234_CLICK_20240307_060001.ndjson")),
            as: UTF8.self)
        #expect(march7.split(separator: "\n").count == 1)
        #expect(march7.contains("\"riid\":70012345"))

        let second = try sink.load(ndjsonFile: events, sourceName: "1234_CLICK_20240307_060001.txt")
        #expect(second == LoadCounts(inserted: 0, alreadyPresent: 3))
        let after = String(
            decoding: try Files.read(folder.file("lake/date=2024-03-07/1234_CLICK_20240307_060001.ndjson")),
            as: UTF8.self)
        #expect(after == march7, "a re-load replaces, never appends")
        #expect(try Files.list(folder.file("lake/date=2024-03-07")) == ["1234_CLICK_20240307_060001.ndjson"])
    }

    @Test func aSourceThatNoLongerHasADateLosesItsFileThere() throws {
        let folder = try TemporaryFolder("folder-sink")
        let events = try makeEvents(in: folder)
        let sink = try NDJSONFolderSink(folder: folder.file("lake"))
        _ = try sink.load(ndjsonFile: events, sourceName: "src.txt")
        let lines = String(decoding: try Files.read(events), as: UTF8.self).split(separator: "\n")
        let fewer = try folder.write("fewer.ndjson", lines[0] + "\n")
        let counts = try sink.load(ndjsonFile: fewer, sourceName: "src.txt")
        #expect(counts == LoadCounts(inserted: 0, alreadyPresent: 1), "the 2024-03-07 file came out identical")
        #expect(!Files.exists(folder.file("lake/date=2024-03-08/src.ndjson")))
        #expect(!Files.exists(folder.file("lake/date=unknown/src.ndjson")))
        #expect(Files.exists(folder.file("lake/date=2024-03-07/src.ndjson")))
    }

    @Test func sourceNamesCannotEscapeThePartition() {
        #expect(NDJSONFolderSink.partitionFileName(for: "../../etc/passwd") == "passwd.ndjson")
        #expect(NDJSONFolderSink.partitionFileName(for: "a b;c.txt.gpg") == "a_b_c.ndjson")
        #expect(NDJSONFolderSink.partitionFileName(for: "..") == "__.ndjson")
    }
}
