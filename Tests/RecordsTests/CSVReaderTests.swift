import Core
import Foundation
import TestSupport
import Testing

@testable import Records

/// Writes `bytes` to a fresh file and reads every row of it.
private func read(
    _ bytes: [UInt8], options: CSVOptions = CSVOptions(), folder: TemporaryFolder? = nil
) throws -> (reader: CSVReader, rows: [CSVRecord]) {
    let folder = try folder ?? TemporaryFolder("csv")
    let path = folder.file("input.csv")
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let reader = try CSVReader(path: path, options: options)
    var rows: [CSVRecord] = []
    while let row = try reader.next() { rows.append(row) }
    return (reader, rows)
}

private func read(_ text: String, options: CSVOptions = CSVOptions()) throws -> (reader: CSVReader, rows: [CSVRecord]) {
    try read(Array(text.utf8), options: options)
}

@Suite struct CSVReaderTests {
    @Test func readsASimpleFileWithLinesOffsetsAndRaw() throws {
        let (reader, rows) = try read("a,b,c\n1,2,3\n4,5,6\n")
        #expect(reader.header.names == ["a", "b", "c"])
        #expect(reader.delimiter == UInt8(ascii: ","))
        #expect(rows.map(\.fields) == [["1", "2", "3"], ["4", "5", "6"]])
        #expect(rows.map(\.line) == [2, 3])
        #expect(rows.map(\.byteOffset) == [6, 12])
        #expect(rows.map(\.raw) == ["1,2,3", "4,5,6"])
        #expect(rows.allSatisfy { $0.problem == nil })
    }

    @Test func quotedFieldsHoldDelimitersDoubledQuotesAndLineBreaks() throws {
        let text = "id,text,n\r\n1,\"a,b \"\"q\"\" c\",x\r\n2,\"line1\r\nline2\nline3\rline4\",y\r\n3,z,w\r\n"
        let (_, rows) = try read(text)
        #expect(rows.count == 3)
        #expect(rows[0].fields == ["1", "a,b \"q\" c", "x"])
        #expect(rows[1].fields == ["2", "line1\r\nline2\nline3\rline4", "y"])
        #expect(rows.map(\.line) == [2, 3, 7])
        #expect(rows[1].raw == "2,\"line1\r\nline2\nline3\rline4\",y")
    }

    @Test func carriageReturnOnlyLineEnds() throws {
        let (_, rows) = try read("a;b\r1;2\r3;4\r")
        #expect(rows.map(\.fields) == [["1", "2"], ["3", "4"]])
        #expect(rows.map(\.line) == [2, 3])
    }

    @Test func lastRowWithoutLineEndAndEmptyTrailingField() throws {
        let (_, rows) = try read("a,b\n1,\n2,x")
        #expect(rows.map(\.fields) == [["1", ""], ["2", "x"]])
    }

    @Test func byteOrderMarkIsSkippedButCountsInOffsets() throws {
        let (reader, rows) = try read([0xEF, 0xBB, 0xBF] + Array("email,id\nann@example.org,1\n".utf8))
        #expect(reader.header.names == ["email", "id"])
        #expect(rows[0].fields == ["ann@example.org", "1"])
        #expect(rows[0].byteOffset == 12)
    }

    @Test(arguments: [(",", UInt8(ascii: ",")), (";", UInt8(ascii: ";")), ("\t", 9), ("|", UInt8(ascii: "|"))])
    func detectsEachDelimiter(separator: String, byte: UInt8) throws {
        let text =
            ["\"x,y;z|w\tv\"", "b", "c"].joined(separator: separator) + "\n"
            + ["1", "2,3;4|5", "6"].map { "\"\($0)\"" }.joined(separator: separator) + "\n"
        let (reader, rows) = try read(text)
        #expect(reader.delimiter == byte)
        #expect(reader.header.names == ["x,y;z|w\tv", "b", "c"])
        #expect(rows.map(\.fields) == [["1", "2,3;4|5", "6"]])
    }

    @Test func configuredDelimiterWinsOverDetection() throws {
        let (reader, rows) = try read("a,b|c\n1,2|3\n", options: CSVOptions(delimiter: UInt8(ascii: "|")))
        #expect(reader.delimiter == UInt8(ascii: "|"))
        #expect(reader.header.names == ["a,b", "c"])
        #expect(rows[0].fields == ["1,2", "3"])
    }

    @Test func delimiterNames() {
        #expect(CSVOptions.delimiter(named: "tab") == 9)
        #expect(CSVOptions.delimiter(named: "\\t") == 9)
        #expect(CSVOptions.delimiter(named: "Pipe") == UInt8(ascii: "|"))
        #expect(CSVOptions.delimiter(named: "::") == nil)
    }

    @Test func blankLinesAreSkippedButCounted() throws {
        let (reader, rows) = try read("\n\r\na,b\n\n1,2\r\n\r\n\r\n3,4\n\n")
        #expect(reader.headerLine == 3)
        #expect(rows.map(\.fields) == [["1", "2"], ["3", "4"]])
        #expect(rows.map(\.line) == [5, 8])
        #expect(reader.blankLines == 6)
    }

    @Test func headerOnlyFileHasNoRows() throws {
        let (reader, rows) = try read("a,b,c\r\n")
        #expect(reader.header.names == ["a", "b", "c"])
        #expect(rows.isEmpty)
    }

    @Test func emptyFileHasNoHeader() throws {
        let error = #expect(throws: CSVError.self) { try read("\n\n") }
        #expect(error?.code == .missingHeader)
        let empty = #expect(throws: CSVError.self) { try read("") }
        #expect(empty?.code == .missingHeader)
    }

    @Test func missingFileCannotOpen() throws {
        let error = #expect(throws: CSVError.self) { try CSVReader(path: "/nonexistent/retl/file.csv") }
        #expect(error?.code == .cannotOpen)
    }

    @Test func duplicateAndEmptyHeaderNamesAreRenamedByPosition() throws {
        let (reader, _) = try read("email,,id,email, ,id\n")
        #expect(reader.header.names == ["email", "column_2", "id", "email_4", "column_5", "id_6"])
        #expect(
            reader.header.renames == [
                .init(position: 2, original: "", name: "column_2"),
                .init(position: 4, original: "email", name: "email_4"),
                .init(position: 5, original: "", name: "column_5"),
                .init(position: 6, original: "id", name: "id_6"),
            ])
    }

    @Test func aRenameNeverTakesANameUsedLater() {
        let (names, _) = CSVHeader.uniqueNames(["a", "a", "a_2"])
        #expect(Set(names).count == 3)
        #expect(names == ["a", "a_2_2", "a_2"])
    }

    @Test func quoteInsideAnUnquotedFieldIsKept() throws {
        let (_, rows) = try read("a,b\nsay \"hi\",\"ab\"\n")
        #expect(rows[0].fields == ["say \"hi\"", "ab"])
        #expect(rows[0].problem == nil)
    }

    @Test func textAfterAClosingQuoteIsAProblemRowAndTheRowsAfterItAreRead() throws {
        let (_, rows) = try read("a,b\n\"c-\"6\",x\n1,\"ab\"c\n\"ok\",\"\"\"q\"\"\"\r\n2,y")
        #expect(rows.count == 4)
        #expect(rows[0].problem == .textAfterClosingQuote(field: 1))
        #expect(rows[0].line == 2)
        #expect(rows[0].raw == "\"c-\"6\",x")
        #expect(rows[0].problem?.reason.hasPrefix("unexpected character after closing quote in field 1") == true)
        #expect(rows[1].problem == .textAfterClosingQuote(field: 2))
        #expect(rows[1].raw == "1,\"ab\"c")
        #expect(rows[2].problem == nil)
        #expect(rows[2].fields == ["ok", "\"q\""])
        #expect(rows[3].problem == nil)
        #expect(rows[3].fields == ["2", "y"])
        #expect(rows[3].line == 5)
    }

    @Test func unterminatedQuoteAtTheEndIsAProblemRow() throws {
        let (_, rows) = try read("a,b\n1,2\n3,\"open\n4,5\n")
        #expect(rows.count == 2)
        #expect(rows[1].problem == .unterminatedQuote)
        #expect(rows[1].line == 3)
        #expect(rows[1].raw == "3,\"open\n4,5\n")
    }

    @Test func invalidUTF8RejectsTheRowWithItsByteOffset() throws {
        let bytes = Array("a,b\n1,ok\n2,caf".utf8) + [0xE9] + Array("\n3,fine é\n".utf8)
        let (_, rows) = try read(bytes)
        #expect(rows.count == 3)
        #expect(rows[0].problem == nil)
        #expect(rows[1].problem == .invalidUTF8(byteOffset: 14))
        #expect(rows[1].raw == "2,caf\u{FFFD}")
        #expect(rows[2].problem == nil)
        #expect(rows[2].fields == ["3", "fine é"])
    }

    @Test func overlongAndSurrogateSequencesAreInvalid() {
        func firstBad(_ bytes: [UInt8]) -> Int? { bytes.withUnsafeBytes { UTF8Validation.firstInvalidByte($0) } }
        #expect(firstBad(Array("plain ascii text, long enough".utf8)) == nil)
        #expect(firstBad(Array("€ 😀 é".utf8)) == nil)
        #expect(firstBad([0x41, 0xC0, 0xAF]) == 1)
        #expect(firstBad([0xED, 0xA0, 0x80]) == 0)
        #expect(firstBad([0xF4, 0x90, 0x80, 0x80]) == 0)
        #expect(firstBad([0x41, 0x42, 0xE2, 0x82]) == 2)
    }

    @Test func invalidHeaderBytesStopTheFile() throws {
        let error = #expect(throws: CSVError.self) { try read([0x61, 0xFF, 0x2C, 0x62, 0x0A]) }
        #expect(error?.code == .badHeader)
    }

    @Test func windows1252TranscodesEuroAndCurlyQuotes() throws {
        // "€5 “quoted” ‘x’ – é"
        let bytes: [UInt8] =
            Array("a,b\n1,".utf8) + [
                0x80, 0x35, 0x20, 0x93, 0x71, 0x94, 0x20, 0x91, 0x78, 0x92, 0x20, 0x96, 0x20, 0xE9,
            ]
            + [0x0A]
        let (_, rows) = try read(bytes, options: CSVOptions(encoding: .windows1252))
        #expect(rows[0].problem == nil)
        #expect(rows[0].fields == ["1", "€5 “q” ‘x’ – é"])
        #expect(rows[0].raw == "1,€5 “q” ‘x’ – é")
    }

    @Test func latin1MapsEveryByteToTheSameCodePoint() throws {
        let bytes: [UInt8] = Array("a\n".utf8) + [0x80, 0xE9, 0xFF, 0x0A]
        let (_, rows) = try read(bytes, options: CSVOptions(encoding: .latin1))
        #expect(rows[0].fields == ["\u{80}éÿ"])
    }

    @Test func theSameBytesUnderUTF8AreRejected() throws {
        let bytes: [UInt8] = Array("a\n".utf8) + [0x80, 0x0A]
        let (_, rows) = try read(bytes)
        #expect(rows[0].problem == .invalidUTF8(byteOffset: 2))
    }

    @Test func encodingNames() {
        #expect(TextEncoding(name: "UTF8") == .utf8)
        #expect(TextEncoding(name: "cp1252") == .windows1252)
        #expect(TextEncoding(name: "ISO-8859-1") == .latin1)
        #expect(TextEncoding(name: "ebcdic") == nil)
    }

    @Test func rowsAcrossBufferBoundariesWithATinyBuffer() throws {
        var text = "id,quoted,tail\r\n"
        var expected: [[String]] = []
        for index in 0..<200 {
            let quoted = "v\(index) \"\"x\"\", with\r\nbreak " + String(repeating: "é", count: index % 7)
            text += "\(index),\"\(quoted)\",t\(index)\r\n"
            expected.append(["\(index)", quoted.replacingOccurrences(of: "\"\"", with: "\""), "t\(index)"])
        }
        for size in [16, 17, 31, 64] {
            let (_, rows) = try read(text, options: CSVOptions(bufferSize: size, maximumRowBytes: 1 << 20))
            #expect(rows.map(\.fields) == expected, "buffer \(size)")
            #expect(rows.map(\.line) == (0..<200).map { 2 + 2 * $0 }, "buffer \(size)")
        }
    }

    @Test func crlfSplitAcrossTheBufferEdgeIsOneLineEnd() throws {
        // With a 16-byte buffer the CR of the first row's CRLF is the last buffered byte.
        let (_, rows) = try read("h\r\n0123456789ab\r\nx\r\n", options: CSVOptions(bufferSize: 16, maximumRowBytes: 64))
        #expect(rows.map(\.fields) == [["0123456789ab"], ["x"]])
        #expect(rows.map(\.line) == [2, 3])
    }

    @Test func aRowLongerThanTheLimitStopsTheFile() throws {
        let text = "a\n\"" + String(repeating: "x", count: 300) + "\n"
        let error = #expect(throws: CSVError.self) {
            try read(text, options: CSVOptions(bufferSize: 32, maximumRowBytes: 128))
        }
        #expect(error?.code == .rowTooLong)
        #expect(error?.description.contains("line 2") == true)
    }

    @Test func readsFromAPipeDescriptor() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let text = Array("a|b\n1|2\n".utf8)
        #expect(write(ends[1], text, text.count) == text.count)
        close(ends[1])
        let reader = try CSVReader(fileDescriptor: ends[0], name: "pipe", ownsDescriptor: true)
        #expect(try reader.next()?.fields == ["1", "2"])
        #expect(try reader.next() == nil)
    }
}
