import Foundation
import Testing

@testable import Core

@Suite struct SHA256Tests {
    @Test func knownVectors() {
        #expect(SHA256.hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA256.hex(long) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func streamingInOddPiecesEqualsOneShot() {
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var hasher = SHA256()
        var offset = 0
        for size in [1, 63, 64, 65, 127, 1000, 3] where offset < bytes.count {
            let end = min(offset + size, bytes.count)
            bytes[offset..<end].withUnsafeBytes { hasher.update($0) }
            offset = end
        }
        bytes[offset...].withUnsafeBytes { hasher.update($0) }
        #expect(hasher.finalizeHex() == SHA256.hex(bytes))
    }
}

@Suite struct TextAndTimeTests {
    @Test func jsonQuotingEscapesControlsAndOptionallyNonASCII() {
        #expect(JSONText.quote("a\"b\\c\n\u{1}") == #""a\"b\\c\n\u0001""#)
        #expect(JSONText.quote("Zoë 😀", asciiOnly: true) == #""Zo\u00eb \ud83d\ude00""#)
        #expect(JSONText.quote("Zoë") == "\"Zoë\"")
    }

    @Test func timestampsAreUTCAndValidated() {
        let date = Timestamp.utcDate(year: 2024, month: 2, day: 29, hour: 23, minute: 59, second: 1)
        #expect(date.map { Timestamp.iso8601($0) } == "2024-02-29T23:59:01Z")
        #expect(Timestamp.utcDate(year: 2023, month: 2, day: 29, hour: 0, minute: 0, second: 0) == nil)
        #expect(Timestamp.compact(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
        #expect(Timestamp.parseCompact("19700101T000001Z") == Date(timeIntervalSince1970: 1))
    }

    @Test func durations() {
        #expect(DurationText.seconds("7d") == 604_800)
        #expect(DurationText.seconds("90s") == 90)
        #expect(DurationText.seconds("2w") == 1_209_600)
        #expect(DurationText.seconds("7") == nil)
        #expect(DurationText.seconds("-1d") == nil)
        #expect(DurationText.seconds("d") == nil)
    }
}

@Suite struct LoggerTests {
    @Test func textLinesCarryLevelMessageAndQuotedFields() throws {
        let sink = MemoryLogSink()
        let logger = Logger(level: .info, format: .text, sink: sink).with(["workflow": "events"])
        logger.debug("hidden")
        logger.info("file downloaded", ["file": "a b.txt", "bytes": 12])
        #expect(sink.lines.count == 1)
        let line = try #require(sink.lines.first)
        #expect(line.contains(" INFO file downloaded workflow=events file=\"a b.txt\" bytes=12"))
    }

    @Test func jsonLinesParse() throws {
        let sink = MemoryLogSink()
        Logger(level: .debug, format: .json, sink: sink).warn("slow", ["stage": "load", "msg": "clash"])
        let object = try JSONSerialization.jsonObject(with: Data(sink.lines[0].utf8)) as? [String: String]
        #expect(object?["level"] == "warn")
        #expect(object?["msg"] == "slow")
        #expect(object?["stage"] == "load")
    }

    /// Numbers stay numbers in JSON (collectors sum and compare them); text that looks like one stays text; a
    /// number that held a secret is redacted as text.
    @Test func jsonLinesWriteNumbersBare() throws {
        let sink = MemoryLogSink()
        let logger = Logger(level: .info, format: .json, sink: sink).with(["attempt": 2])
        logger.addSecret("4711")
        logger.info(
            "loaded",
            ["rows": 150_000, "seconds": 0.5, "dry_run": false, "customer": "00123", "pin": 4711, "exit": Int32(2)])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(sink.lines[0].utf8)) as? [String: Any])
        #expect(object["rows"] as? Int == 150_000)
        #expect(object["seconds"] as? Double == 0.5)
        #expect(object["dry_run"] as? Bool == false)
        #expect(object["attempt"] as? Int == 2)
        #expect(object["exit"] as? Int == 2)
        #expect(object["customer"] as? String == "00123")
        #expect(object["pin"] as? String == "[REDACTED]")
        #expect(sink.lines[0].contains("\"rows\":150000"))
    }

    @Test func aKeyGivenAgainReplacesTheEarlierValue() {
        let sink = MemoryLogSink()
        let logger = Logger(level: .info, sink: sink).with(["stage": "extract", "run": "r1"]).with(["stage": "decrypt"])
        logger.info("unwrapped", ["run": "r2"])
        #expect(sink.lines[0].hasSuffix(" INFO unwrapped stage=decrypt run=r2"))
    }

    @Test func secretsAreRedactedInMessagesFieldsAndChildLoggers() {
        let sink = MemoryLogSink()
        let logger = Logger(level: .info, sink: sink)
        let child = logger.with(["stage": "load"])
        logger.addSecret("hunter22")
        child.error("login failed with hunter22", ["detail": "password=hunter22"])
        #expect(!sink.lines[0].contains("hunter22"))
        #expect(sink.lines[0].contains("[REDACTED]"))
    }

    /// A library error that quotes most of a secret (SQLite's `near "…": syntax error` over a query that held
    /// it) shows none of it; words a secret merely contains stay readable.
    @Test func mostOfASecretIsRedactedToo() {
        let redactor = Redactor()
        redactor.add("Sup3rSecretRestPw!")
        let quoted = redactor.redact(#"near "3rSecretRestPw!', 5)": syntax error"#)
        #expect(quoted == #"near "[REDACTED]', 5)": syntax error"#)
        let prefix = redactor.redact("password 'Sup3rSecretRes' was refused")
        #expect(prefix == "password '[REDACTED]' was refused")
        #expect(redactor.redact("Secret Rest Pw: secrets are not allowed") == "Secret Rest Pw: secrets are not allowed")
        #expect(redactor.redact("x Sup3rSecretRestPw! y") == "x [REDACTED] y")

        let short = Redactor()
        short.add("hunter22")
        #expect(short.redact("hunter2 and hunter22") == "hunter2 and [REDACTED]")
    }
}

@Suite struct AtomicFileWriterTests {
    @Test func publishesOnlyOnCommitWithItsDigest() throws {
        let folder = NSTemporaryDirectory() + "/retl-core-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let writer = try AtomicFileWriter(path: folder + "/out.txt")
        try writer.write("hello")
        #expect(!Files.exists(folder + "/out.txt"))
        let digest = try writer.commit()
        #expect(digest == SHA256.hex(Array("hello".utf8)))
        #expect(try Files.digest(folder + "/out.txt").sha256 == digest)
        #expect(try Files.list(folder) == ["out.txt"])
    }
}

@Suite struct ProgressTests {
    @Test func rendersDoneRateAndETA() {
        let progress = Progress(label: "downloading", unit: .bytes, total: 4 << 20, enabled: false)
        progress.advance(by: 1 << 20)
        // Disabled progress draws nothing and keeps no count: a scheduled run's log never sees it.
        #expect(progress.render(elapsed: 1).hasPrefix("downloading 0 KiB of 4.0 MiB"))
        let shown = Progress(label: "rows", unit: .records, total: 100, enabled: true)
        shown.advance(by: 25)
        let line = shown.render(elapsed: 5)
        #expect(line.contains("25 of 100 at 5/s ETA 15s"))
    }
}
