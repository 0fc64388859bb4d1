import Archive
import Core
import Foundation
import TestSupport
import Testing

func expectArchiveError(_ code: ArchiveError.Code, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected ArchiveError.\(code), got success")
    } catch let error as ArchiveError {
        #expect(error.code == code, "\(error)")
    } catch {
        Issue.record("expected ArchiveError.\(code), got \(error)")
    }
}

@Suite struct ArchiveExtractorTests {
    let extractor = ArchiveExtractor(logger: .silent)

    @Test func zipWithSeveralMembersDirectoriesAndMacOSDebris() throws {
        let folder = try TemporaryFolder("zip")
        let archive = folder.file("events.zip")
        try Make.zip(
            archive,
            [
                ("export/", ""), ("export/opens.csv", Make.rows("open")), ("clicks.csv", Make.rows("click")),
                ("__MACOSX/export/._opens.csv", "junk"), ("export/._clicks.csv", "junk"), ("export/.DS_Store", "junk"),
            ])
        let out = folder.path + "/out"

        let members = try extractor.extract(archive: archive, into: out)

        #expect(members.map(\.memberName) == ["export/opens.csv", "clicks.csv"])
        #expect(members.map(\.path) == [out + "/opens.csv", out + "/clicks.csv"])
        #expect(members.map(\.size) == [Int64(Make.rows("open").utf8.count), Int64(Make.rows("click").utf8.count)])
        #expect(try Make.text(out + "/opens.csv") == Make.rows("open"))
        #expect(try Make.text(out + "/clicks.csv") == Make.rows("click"))
        #expect(try Make.names(out) == ["clicks.csv", "opens.csv"])
    }

    @Test func zip64Members() throws {
        let folder = try TemporaryFolder("zip64")
        let archive = folder.file("big.zip")
        try Make.zip(archive, [("a.csv", Make.rows("a")), ("b.csv", Make.rows("b"))], zip64: true)
        // The fixture really is Zip64: the first local header's extra field is the Zip64 one (id 0x0001).
        let bytes = try Files.read(archive)
        #expect(bytes[30 + 5] == 0x01 && bytes[30 + 6] == 0x00)

        let members = try extractor.extract(archive: archive, into: folder.path + "/out")

        #expect(members.map(\.memberName) == ["a.csv", "b.csv"])
        #expect(try Make.text(folder.path + "/out/b.csv") == Make.rows("b"))
    }

    @Test func streamedZipWithDataDescriptors() throws {
        let folder = try TemporaryFolder("zipdd")
        let archive = folder.file("streamed.zip")
        try Make.zip(archive, [("a.csv", Make.rows("a")), ("b.csv", Make.rows("b"))], streamed: true)
        // General-purpose flag bit 3 (data descriptor) is set in the first local header.
        let bytes = try Files.read(archive)
        #expect(bytes[6] & 0x08 != 0)

        let members = try extractor.extract(archive: archive, into: folder.path + "/out")

        #expect(members.map(\.size) == [Int64(Make.rows("a").utf8.count), Int64(Make.rows("b").utf8.count)])
        #expect(try Make.text(folder.path + "/out/a.csv") == Make.rows("a"))
    }

    @Test func concatenatedGzipIsReadToTheEnd() throws {
        let folder = try TemporaryFolder("gz")
        let archive = folder.file("events_20240307.csv.gz")
        try Make.gzip(archive, parts: [Make.rows("first"), Make.rows("second"), Make.rows("third")])

        let members = try extractor.extract(archive: archive, into: folder.path + "/out")

        #expect(members.map(\.memberName) == ["events_20240307.csv"])
        #expect(members.first?.path == folder.path + "/out/events_20240307.csv")
        #expect(
            try Make.text(folder.path + "/out/events_20240307.csv") == Make.rows("first") + Make.rows("second")
                + Make.rows("third"))
    }

    @Test func tarGzSkipsSymlinksWithAWarning() throws {
        let folder = try TemporaryFolder("tgz")
        let archive = folder.file("batch.tar.gz")
        try Make.tarGz(
            archive, [("./day/a.csv", Make.rows("a")), ("day/b.csv", Make.rows("b"))],
            symlinks: [("day/passwd.csv", "/etc/passwd")])
        let logs = MemoryLogSink()

        let members = try ArchiveExtractor(logger: Logger(level: .debug, sink: logs))
            .extract(archive: archive, into: folder.path + "/out")

        #expect(members.map(\.memberName) == ["day/a.csv", "day/b.csv"])
        #expect(try Make.names(folder.path + "/out") == ["a.csv", "b.csv"])
        #expect(logs.lines.contains { $0.contains("skipped a link member") && $0.contains("day/passwd.csv") })
    }

    @Test func zipSymlinkMemberIsSkipped() throws {
        let folder = try TemporaryFolder("ziplink")
        let archive = folder.file("links.zip")
        try Make.zip(archive, [("a.csv", Make.rows("a"))], symlinks: [("evil.csv", "/etc/passwd")])

        let members = try extractor.extract(archive: archive, into: folder.path + "/out")

        #expect(members.map(\.memberName) == ["a.csv"])
        #expect(try Make.names(folder.path + "/out") == ["a.csv"])
    }

    @Test(arguments: ["../escape.csv", "/tmp/absolute.csv", "dir\\..\\win.csv", "a/../../up.csv"])
    func memberOutsideTheFolderRefusesTheArchive(member: String) throws {
        let folder = try TemporaryFolder("evil")
        let archive = folder.file("evil.zip")
        try Make.zip(archive, [("good.csv", Make.rows("g")), (member, "owned")])
        let out = folder.path + "/deep/out"

        expectArchiveError(.unsafeMember) { _ = try extractor.extract(archive: archive, into: out) }

        #expect(try Make.names(out).isEmpty)
        #expect(!Files.exists(folder.path + "/deep/escape.csv"))
        #expect(!Files.exists("/tmp/absolute.csv"))
    }

    @Test func evilTarMemberIsRefusedToo() throws {
        let folder = try TemporaryFolder("eviltar")
        let archive = folder.file("evil.tar.gz")
        try Make.tarGz(archive, [("ok.csv", "x"), ("../../etc-x", "owned")])
        expectArchiveError(.unsafeMember) { _ = try extractor.extract(archive: archive, into: folder.path + "/out") }
        #expect(try Make.names(folder.path + "/out").isEmpty)
    }

    @Test(arguments: [0.5, 0.9, 0.99])
    func truncatedZipLeavesNothing(fraction: Double) throws {
        let folder = try TemporaryFolder("zipcut")
        let archive = folder.file("cut.zip")
        try Make.zip(archive, [("a.csv", Make.rows("a", 3000)), ("b.csv", Make.rows("b", 3000))])
        try Make.truncate(archive, to: fraction)

        expectArchiveError(.corrupt) { _ = try extractor.extract(archive: archive, into: folder.path + "/out") }
        #expect(try Make.names(folder.path + "/out").isEmpty)
    }

    @Test(arguments: [0.3, 0.97])
    func truncatedGzipAndTarGzLeaveNothing(fraction: Double) throws {
        let folder = try TemporaryFolder("gzcut")
        let gz = folder.file("cut.csv.gz")
        // Numbered rows compress poorly enough that the cut lands inside the deflate stream.
        try Make.gzip(gz, parts: [Make.rows("a", 20000)])
        try Make.truncate(gz, to: fraction)
        let tgz = folder.file("cut.tar.gz")
        try Make.tarGz(tgz, [("a.csv", Make.rows("a", 20000)), ("b.csv", Make.rows("b", 20000))])
        try Make.truncate(tgz, to: fraction)

        expectArchiveError(.corrupt) { _ = try extractor.extract(archive: gz, into: folder.path + "/out") }
        expectArchiveError(.corrupt) { _ = try extractor.extract(archive: tgz, into: folder.path + "/out") }
        #expect(try Make.names(folder.path + "/out").isEmpty)
    }

    @Test func damagedZipDataIsCorrupt() throws {
        let folder = try TemporaryFolder("zipcrc")
        let archive = folder.file("bad.zip")
        try Make.zip(archive, [("a.csv", Make.rows("a", 3000))])
        var bytes = try Files.read(archive)
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: archive))

        expectArchiveError(.corrupt) { _ = try extractor.extract(archive: archive, into: folder.path + "/out") }
        #expect(try Make.names(folder.path + "/out").isEmpty)
    }

    @Test func membersSharingABaseNameGetTheirWholePath() throws {
        let folder = try TemporaryFolder("dup")
        let archive = folder.file("days.zip")
        try Make.zip(archive, [("2024/03/e.csv", "march"), ("2024/04/e.csv", "april"), ("x.csv", "x")])

        let members = try extractor.extract(archive: archive, into: folder.path + "/out")

        #expect(members.map { ($0.path as NSString).lastPathComponent } == ["2024_03_e.csv", "2024_04_e.csv", "x.csv"])
        #expect(try Make.text(folder.path + "/out/2024_04_e.csv") == "april")
    }

    @Test func plainFilePassesThroughAsAHardLink() throws {
        let folder = try TemporaryFolder("plain")
        let input = try folder.write("in/events.csv", Make.rows("p"))

        let members = try extractor.extract(archive: input, into: folder.path + "/out")

        #expect(
            members == [
                ExtractedMember(
                    path: folder.path + "/out/events.csv", memberName: "events.csv",
                    size: Int64(Make.rows("p").utf8.count))
            ])
        let original = try FileManager.default.attributesOfItem(atPath: input)
        let copy = try FileManager.default.attributesOfItem(atPath: folder.path + "/out/events.csv")
        #expect(original[.systemFileNumber] as? Int == copy[.systemFileNumber] as? Int)
    }

    @Test func reExtractingReplacesTheSameNames() throws {
        let folder = try TemporaryFolder("rerun")
        let archive = folder.file("events.zip")
        try Make.zip(archive, [("a.csv", "one"), ("b.csv", "two")])
        let first = try extractor.extract(archive: archive, into: folder.path + "/out")
        let second = try extractor.extract(archive: archive, into: folder.path + "/out")
        #expect(first == second)
        #expect(try Make.names(folder.path + "/out") == ["a.csv", "b.csv"])
    }
}
