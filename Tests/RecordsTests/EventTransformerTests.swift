import Core
import Foundation
import TestSupport
import Testing

@testable import Records

/// Transforms `text` as the file `name` and returns the events (parsed), the raw output lines and the rejects.
private func transform(
    _ text: String, name: String = "1234_CLICK_20240307_060001.txt", options: TransformOptions = TransformOptions()
) throws -> (events: [[String: Any]], lines: [String], rejects: [[String: Any]], counts: TransformCounts) {
    try transform(bytes: Array(text.utf8), name: name, options: options)
}

private func transform(
    bytes: [UInt8], name: String = "1234_CLICK_20240307_060001.txt", options: TransformOptions = TransformOptions()
) throws -> (events: [[String: Any]], lines: [String], rejects: [[String: Any]], counts: TransformCounts) {
    let folder = try TemporaryFolder("transform")
    let input = folder.file(name)
    try Data(bytes).write(to: URL(fileURLWithPath: input))
    let rejects = try RejectsWriter(path: folder.file("transform/rejects.ndjson"))
    let (counts, digest) = try EventTransformer.transform(
        input: input, sourceName: name, outputPath: folder.file("transform/events.ndjson"), rejects: rejects,
        options: options)
    try rejects.commit()
    #expect(try Files.digest(folder.file("transform/events.ndjson")).sha256 == digest)
    let output = String(decoding: try Files.read(folder.file("transform/events.ndjson")), as: UTF8.self)
    let lines = output.split(separator: "\n").map(String.init)
    let events = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    let rejectLines = String(decoding: try Files.read(folder.file("transform/rejects.ndjson")), as: UTF8.self)
        .split(separator: "\n")
    let rejected = try rejectLines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    return (events, lines, rejected, counts)
}

@Suite struct EventTransformerTests {
    @Test func theReferenceOptOutExample() throws {
        let text = """
            EVENT_TYPE_ID,ACCOUNT_ID,LIST_ID,RIID,CUSTOMER_ID,EVENT_CAPTURED_DT,EVENT_STORED_DT,CAMPAIGN_ID,\
            LAUNCH_ID,EMAIL_FORMAT,SOURCE,REASON,EMAIL,CONTACT_INFO
            "8","1234","55501","70012345","lyt-001","07-Mar-2024 05:58:31","07-Mar-2024 05:59:02","9911",\
            "440022","H","<source>","<reason>","ann@example.org",""

            """
        let result = try transform(text, name: "1234_OPT_OUT_20240307_060001.txt")
        #expect(result.counts == TransformCounts(rows: 1, events: 1, rejects: 0))
        let event = try #require(result.events.first)
        #expect(event["stream"] as? String == "responsys_events")
        #expect(event["event_type"] as? String == "OPT_OUT")
        #expect(event["channel"] as? String == "EMAIL")
        #expect(event["account_id"] as? Int == 1234)
        #expect(event["event_type_id"] as? Int == 8)
        #expect(event["list_id"] as? Int == 55501)
        #expect(event["riid"] as? Int == 70_012_345)
        #expect(event["customer_id"] as? String == "lyt-001")
        #expect(event["event_captured_dt"] as? String == "2024-03-07T05:58:31Z")
        #expect(event["event_stored_dt"] as? String == "2024-03-07T05:59:02Z")
        #expect(event["campaign_id"] as? Int == 9911)
        #expect(event["launch_id"] as? Int == 440_022)
        #expect(event["email_format"] as? String == "H")
        #expect(event["source"] as? String == "<source>")
        #expect(event["reason"] as? String == "<reason>")
        #expect(event["email"] as? String == "ann@example.org")
        #expect(event["contact_info"] == nil)
        #expect(event["_source_file"] as? String == "1234_OPT_OUT_20240307_060001.txt")
        #expect(event["_line"] as? Int == 2)
        #expect((event["_event_id"] as? String)?.count == 32)
        #expect(event.count == 19)
        // Numbers are JSON numbers in the text, not strings.
        #expect(result.lines[0].contains("\"riid\":70012345,"))
        #expect(result.lines[0].hasPrefix("{\"stream\":\"responsys_events\",\"event_type\":\"OPT_OUT\""))
    }

    @Test func aRowOverTheSizeLimitKeepsTheRowsBeforeItAndRejectsTheRest() throws {
        var text = "RIID,OFFER_URL\n1,https://a\n2,https://b\n3,"
        text += String(repeating: "x", count: (16 << 20) + 10) + "\n4,https://d\n"
        let result = try transform(text)
        #expect(result.events.compactMap { $0["riid"] as? Int } == [1, 2])
        #expect(result.counts.rejects == 1)
        #expect(result.rejects.first?["line"] as? Int == 4)
        #expect((result.rejects.first?["reason"] as? String)?.contains("not read past this line") == true)
    }

    @Test func eventIDFollowsTheDocumentedRecipeAndIsStable() throws {
        let text = "RIID,EMAIL\n1,a@example.org\n1,a@example.org\n"
        let first = try transform(text)
        let second = try transform(text)
        let ids = first.events.map { $0["_event_id"] as! String }
        #expect(ids == second.events.map { $0["_event_id"] as! String })
        #expect(ids[0] != ids[1], "the same text on another line is another event")
        var message = Array("1234_CLICK_20240307_060001.txt".utf8) + [0] + Array("2".utf8) + [0]
        message += Array("1,a@example.org".utf8)
        #expect(ids[0] == String(SHA256.hex(message).prefix(32)))
    }

    @Test func timestampsInAnyMonthCaseAndWithASourceOffset() throws {
        let text = "EVENT_CAPTURED_DT,EVENT_STORED_DT\n07-mar-2024 14:05:09,1-DEC-2023 00:30:00\n"
        let utc = try transform(text)
        #expect(utc.events[0]["event_captured_dt"] as? String == "2024-03-07T14:05:09Z")
        #expect(utc.events[0]["event_stored_dt"] as? String == "2023-12-01T00:30:00Z")
        let shifted = try transform(text, options: TransformOptions(sourceTimeZoneOffsetSeconds: 3600))
        #expect(shifted.events[0]["event_captured_dt"] as? String == "2024-03-07T13:05:09Z")
        #expect(shifted.events[0]["event_stored_dt"] as? String == "2023-11-30T23:30:00Z")
        let west = try transform(text, options: TransformOptions(sourceTimeZoneOffsetSeconds: -5 * 3600))
        #expect(west.events[0]["event_captured_dt"] as? String == "2024-03-07T19:05:09Z")
    }

    @Test(arguments: [
        "2024-03-07 14:05:09", "07-Mrz-2024 14:05:09", "30-Feb-2024 10:00:00", "07-Mar-2024 24:00:00",
        "07-Mar-2024 14:05", "x7-Mar-2024 14:05:09",
    ])
    func anUnparseableTimestampRejectsTheRow(value: String) throws {
        let result = try transform("RIID,EVENT_CAPTURED_DT\n1,\(value)\n2,07-Mar-2024 14:05:09\n")
        #expect(result.counts.rows == 2)
        #expect(result.counts.events == 1)
        #expect(result.counts.rejects == 1)
        #expect(result.rejects[0]["line"] as? Int == 2)
        #expect((result.rejects[0]["reason"] as? String)?.contains("event_captured_dt") == true)
        #expect(result.rejects[0]["raw"] as? String == "1,\(value)")
        #expect(result.rejects[0]["file"] as? String == "1234_CLICK_20240307_060001.txt")
    }

    @Test func numericColumnsAreNumbersAndNonNumbersAreRejected() throws {
        let text = """
            RIID,LIST_ID,PROGRAM_ID,ORDER_TOTAL,OFFER_NUMBER,EXTRA
            007,null,-1,0012.50, 3 ,x
            12a,1,1,1,1,y
            1,1,1,1.2.3,1,z
            123456789012345678901,1,1,1,1,w
            9223372036854775807,1,-9223372036854775808,1,1,v
            9223372036854775808,1,1,1,1,u

            """
        let result = try transform(text)
        #expect(result.counts == TransformCounts(rows: 6, events: 2, rejects: 4))
        #expect(result.lines[0].contains("\"riid\":7,\"program_id\":-1,\"order_total\":12.50,\"offer_number\":3,"))
        #expect(result.events[0]["list_id"] == nil)
        #expect(result.events[0]["extra"] as? String == "x")
        let reasons = result.rejects.map { $0["reason"] as! String }
        #expect(reasons[0].contains("riid") && reasons[0].contains("12a"))
        #expect(reasons[1].contains("order_total"))
        #expect(reasons[2] == "column riid: \"123456789012345678901\" is a whole number too large for 64 bits")
        // The 64-bit limits themselves fit; one more does not.
        #expect(result.events[1]["riid"] as? Int64 == Int64.max)
        #expect(result.events[1]["program_id"] as? Int64 == Int64.min)
        #expect(reasons[3].contains("too large for 64 bits"))
    }

    @Test func accountIDMustMatchTheFileName() throws {
        let result = try transform("ACCOUNT_ID,RIID\n1234,1\n,2\n999,3\n")
        #expect(result.counts == TransformCounts(rows: 3, events: 2, rejects: 1))
        #expect(result.events.map { $0["account_id"] as? Int } == [1234, 1234])
        #expect((result.rejects[0]["reason"] as? String)?.contains("999") == true)
        #expect(result.lines[0].components(separatedBy: "\"account_id\"").count == 2, "account_id appears once")
    }

    @Test func channelFromTheFileName() throws {
        let result = try transform("EVENT_UUID,PROGRAM_ID\nu-1,-1\n", name: "1234_SMS_CLICK_20240307_060001.txt")
        #expect(result.events[0]["channel"] as? String == "SMS")
        #expect(result.events[0]["event_type"] as? String == "CLICK")
        #expect(result.events[0]["event_uuid"] as? String == "u-1")
    }

    @Test func wrongFieldCountIsRejected() throws {
        let result = try transform("RIID,B\n1,2\n1,2,3\n1\n")
        #expect(result.counts == TransformCounts(rows: 3, events: 1, rejects: 2))
        #expect(result.rejects.map { $0["line"] as! Int } == [3, 4])
        #expect((result.rejects[0]["reason"] as? String) == "the row has 3 fields, the header has 2")
    }

    @Test func aFileWithoutItsHeaderIsRejectedWhole() throws {
        // A SENT file whose header line is missing: its first event must not become the header.
        let text = """
            "1","1234","55501","70000100","c-1","09-Aug-2024 00:00:01","09-Aug-2024 00:00:02","9911","440022"
            "1","1234","55501","70000101","c-2","09-Aug-2024 00:00:03","09-Aug-2024 00:00:04","9911","440022"

            """
        let error = #expect(throws: TransformError.self) {
            try transform(text, name: "1234_SENT_20240809_000001.txt")
        }
        #expect(error?.code == .noEventHeader)
        #expect(error?.description.contains("no header row with CED columns: first line (line 1) looks like") == true)
        #expect(error?.description.contains("70000100") == false, "no data in the message")
        // Nor is any other text that happens to match the file name pattern taken as events.
        let passwd = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        let other = #expect(throws: TransformError.self) { try transform(passwd) }
        #expect(other?.code == .noEventHeader)
    }

    @Test func aHeaderWithOneCEDColumnAndUnknownOnesIsAccepted() throws {
        let result = try transform("Custom Field,riid,Another\nx,7,y\n")
        #expect(result.counts == TransformCounts(rows: 1, events: 1, rejects: 0))
        #expect(result.events[0]["custom_field"] as? String == "x")
        #expect(result.events[0]["riid"] as? Int == 7)
    }

    @Test func aStrayQuoteInAQuotedFieldRejectsTheRowAndTheRestIsRead() throws {
        let result = try transform("RIID,CUSTOMER_ID\n1,\"c-\"6\"\n2,\"c-7\"\n")
        #expect(result.counts == TransformCounts(rows: 2, events: 1, rejects: 1))
        #expect(result.events[0]["customer_id"] as? String == "c-7")
        #expect(result.rejects[0]["line"] as? Int == 2)
        #expect(result.rejects[0]["raw"] as? String == "1,\"c-\"6\"")
        #expect(
            (result.rejects[0]["reason"] as? String)?.hasPrefix("unexpected character after closing quote in field 2")
                == true)
    }

    /// SQLite's text functions stop at a NUL: the email column would hold "nul" while the payload held it all.
    @Test func aNulByteInAFieldRejectsTheRow() throws {
        let result = try transform(
            bytes: Array("RIID,EMAIL\n1,nul".utf8) + [0] + Array("byte@x.org\n2,ok@x.org\n".utf8))
        #expect(result.counts == TransformCounts(rows: 2, events: 1, rejects: 1))
        #expect(result.events[0]["email"] as? String == "ok@x.org")
        #expect(result.rejects[0]["line"] as? Int == 2)
        #expect(result.rejects[0]["reason"] as? String == "column email contains a NUL byte (0x00), which is not text")
    }

    @Test func blankLinesAreCounted() throws {
        let result = try transform("\nRIID,NOTE\r\n\r\n1,x\r\n\r\n2,x\r\n\n")
        #expect(result.counts == TransformCounts(rows: 2, events: 2, rejects: 0, blankLines: 4))
    }

    @Test func headerOnlyFileGivesZeroEventsAndAnEmptyOutput() throws {
        let result = try transform("RIID,EMAIL\r\n")
        #expect(result.counts == TransformCounts(rows: 0, events: 0, rejects: 0))
        #expect(result.lines.isEmpty)
    }

    @Test func blankLinesAndQuotedLineBreaksKeepLineNumbers() throws {
        let result = try transform("RIID,NOTE\r\n\r\n1,\"two\r\nlines\"\r\n\r\n2,x\r\n")
        #expect(result.events.map { $0["_line"] as! Int } == [3, 6])
        #expect(result.events[0]["note"] as? String == "two\r\nlines")
        #expect(result.lines[0].contains(#""note":"two\r\nlines""#))
    }

    @Test func invalidUTF8IsRejectedWithItsByteOffset() throws {
        let bytes = Array("RIID,NAME\n1,Zo".utf8) + [0xEB] + Array("\n2,ok\n".utf8)
        let result = try transform(bytes: bytes)
        #expect(result.counts == TransformCounts(rows: 2, events: 1, rejects: 1))
        #expect(result.rejects[0]["byte_offset"] as? Int == 10)
        #expect((result.rejects[0]["reason"] as? String)?.contains("byte offset 14") == true)
        #expect(result.rejects[0]["raw"] as? String == "1,Zo\u{FFFD}")
    }

    @Test func windows1252IsTranscoded() throws {
        let bytes = Array("RIID;OFFER_NAME\n1;".utf8) + [0x93, 0x80, 0x35, 0x94] + [0x0A]
        let result = try transform(bytes: bytes, options: TransformOptions(encoding: .windows1252))
        #expect(result.events[0]["offer_name"] as? String == "“€5”")
    }

    @Test func columnNamesAreSnakeCasedAndCollisionsRenamed() throws {
        let result = try transform("OfferURL,Offer Name,,CHANNEL,email,EMAIL,RIID\nu,n,x,c,a,b,1\n")
        let event = result.events[0]
        #expect(event["offer_url"] as? String == "u")
        #expect(event["offer_name"] as? String == "n")
        #expect(event["column_3"] as? String == "x")
        #expect(event["channel"] as? String == "EMAIL")
        #expect(event["channel_4"] as? String == "c")
        #expect(event["email"] as? String == "a")
        #expect(event["email_6"] as? String == "b")
        #expect(result.counts.renamedColumns.map(\.name) == ["column_3", "channel_4", "email_6"])
    }

    @Test func snakeCase() {
        #expect(EventNormalizer.snakeCase("EVENT_CAPTURED_DT") == "event_captured_dt")
        #expect(EventNormalizer.snakeCase("eventCapturedDt") == "event_captured_dt")
        #expect(EventNormalizer.snakeCase("URLPath") == "url_path")
        #expect(EventNormalizer.snakeCase(" Offer-Name (2) ") == "offer_name_2")
        #expect(EventNormalizer.snakeCase("RIID") == "riid")
    }

    @Test func escapingMatchesJSONText() throws {
        let tricky = "q\"b\\s/\u{1}\u{8}\u{c}\u{1f}\t\r\n é😀\u{7f}\u{2028}"
        let folder = try TemporaryFolder("json")
        let file = try AtomicFileWriter(path: folder.file("x.json"))
        var json = JSONBytes(capacity: 4)
        json.appendString(tricky)
        try file.write(bytes: json.bytes)
        try file.commit()
        #expect(String(decoding: try Files.read(folder.file("x.json")), as: UTF8.self) == JSONText.quote(tricky))
    }

    @Test func unknownFileNameIsAClearError() throws {
        let error = #expect(throws: TransformError.self) { try transform("A\n1\n", name: "events.csv") }
        #expect(error?.code == .unrecognizedFileName)
        #expect(error?.description.contains("events.csv") == true)
    }
}

@Suite struct EventFileNameTests {
    @Test func emailFileName() throws {
        let name = try EventFileName.parse("/staging/decrypt/1234_CLICK_20190103_130532.txt")
        #expect(name.account == 1234)
        #expect(name.channel == "EMAIL")
        #expect(name.eventType == "CLICK")
        #expect(Timestamp.iso8601(name.fileTimestamp) == "2019-01-03T13:05:32Z")
    }

    @Test func channelAndMultiWordEvents() throws {
        #expect(try EventFileName.parse("1234_SMS_CLICK_20240307_060001.txt").channel == "SMS")
        #expect(try EventFileName.parse("1234_WEBPUSH_OPT_OUT_20240307_060001.txt").eventType == "OPT_OUT")
        #expect(try EventFileName.parse("1234_LAUNCH_STATE_20240307_060001.txt.zip.gpg").eventType == "LAUNCH_STATE")
        #expect(try EventFileName.parse("1234_LAUNCH_STATE_20240307_060001.txt").channel == "EMAIL")
        // A lone channel word is the event itself.
        #expect(try EventFileName.parse("1234_PUSH_20240307_060001.txt").eventType == "PUSH")
    }

    @Test(arguments: [
        "CLICK_20240307_060001.txt", "abc_CLICK_20240307_060001.txt", "1234_CLICK_2024037_060001.txt",
        "1234_CLICK_20241307_060001.txt", "1234__20240307_060001.txt", "1234_CL-ICK_20240307_060001.txt",
        "1234_CLICK_20240307_250001.txt", "",
    ])
    func unknownShapes(name: String) {
        let error = #expect(throws: TransformError.self) { try EventFileName.parse(name) }
        #expect(error?.code == .unrecognizedFileName)
    }
}

@Suite struct DigestingFileWriterTests {
    @Test func publishesWithTheDigestOfItsBytes() throws {
        let folder = try TemporaryFolder("digest")
        let writer = try DigestingFileWriter(path: folder.file("out/a.ndjson"))
        var expected: [UInt8] = []
        for index in 0..<50 {
            let block = [UInt8](repeating: UInt8(index), count: 100_000 + index)
            expected += block
            try block.withUnsafeBytes { try writer.write(bytes: $0) }
        }
        #expect(!Files.exists(folder.file("out/a.ndjson")))
        let digest = try writer.commit()
        #expect(digest == SHA256.hex(expected))
        #expect(try Files.read(folder.file("out/a.ndjson")) == Data(expected))
        #expect(try Files.list(folder.file("out")) == ["a.ndjson"])
    }

    @Test func anExactMultipleOfTheBlockSizeHasNoTail() throws {
        let folder = try TemporaryFolder("digest")
        let writer = try DigestingFileWriter(path: folder.file("c.ndjson"))
        let bytes = (0..<(2 * DigestingFileWriter.blockSize)).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try bytes.withUnsafeBytes { try writer.write(bytes: $0) }
        #expect(try writer.commit() == SHA256.hex(bytes))
        #expect(try Files.read(folder.file("c.ndjson")) == Data(bytes))
    }

    @Test func abandonLeavesNothing() throws {
        let folder = try TemporaryFolder("digest")
        let writer = try DigestingFileWriter(path: folder.file("b.ndjson"))
        try [UInt8](repeating: 1, count: 10).withUnsafeBytes { try writer.write(bytes: $0) }
        writer.abandon()
        #expect(try Files.list(folder.path).isEmpty)
    }
}
