import Core
import Foundation
import SFTP
import TestSupport
import Testing

/// Counts the extra sessions a ranged download opens.
final class SessionCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

private func sha256(_ data: Data) -> String {
    var digest = SHA256()
    digest.update(data)
    return digest.finalizeHex()
}

private func contents(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

/// A sidecar as the ranged download writes it: `[start, end, done]` per range.
private func writeLedger(_ path: String, size: Int, ranges: [(Int, Int, Int)]) throws {
    let items = ranges.map { #"{"done":\#($0.2),"end":\#($0.1),"start":\#($0.0)}"# }
    let text = #"{"ranges":[\#(items.joined(separator: ","))],"size":\#(size)}"#
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

/// A `.part` holding `data`'s bytes where `good` says, and 0xAA (never in a correct copy at those offsets
/// by chance over whole ranges) everywhere else.
private func writePart(_ path: String, data: Data, good: [Range<Int>]) throws {
    var bytes = [UInt8](repeating: 0xAA, count: data.count)
    for range in good { bytes.replaceSubrange(range, with: data[range]) }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

@Suite struct RangedDownloadTests {
    let fixture: ServerFixture
    let opened = SessionCounter()

    init() throws { fixture = try ServerFixture() }

    func parallel(_ connections: Int = 2, threshold: Int64 = 1 << 20) -> ParallelDownload {
        let fixture = fixture
        let opened = opened
        return ParallelDownload(connections: connections, threshold: threshold) {
            opened.increment()
            return try fixture.authenticated()
        }
    }

    @Test func largeFileIsFetchedInRangesToIdenticalBytes() throws {
        let data = try fixture.makeRemoteFile("big file.bin", count: 3_000_001)
        let local = fixture.folder.file("big file.bin")
        var lastProgress: Int64 = 0
        let result = try fixture.authenticated().download(
            remotePath: fixture.remote + "/big file.bin", to: local, expectedSize: Int64(data.count),
            readBufferSize: 65536, parallel: parallel(3)
        ) { received, _ in lastProgress = received }
        #expect(result == DownloadResult(bytes: 3_000_001, resumedFrom: 0, sha256: sha256(data)))
        #expect(try contents(local) == data)
        #expect(try Files.digest(local).sha256 == result.sha256)
        #expect(opened.value == 2)
        #expect(lastProgress == 3_000_001)
        #expect(!Files.exists(local + ".part") && !Files.exists(local + ".part.ranges"))
        let mode = try FileManager.default.attributesOfItem(atPath: local)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    /// When no second session can be opened, its range is read over the first one.
    @Test func rangeWithoutASessionIsReadOverTheFirst() throws {
        let data = try fixture.makeRemoteFile("g.bin", count: 2_500_000)
        let local = fixture.folder.file("g.bin")
        let opened = opened
        let refusing = ParallelDownload(connections: 2, threshold: 1 << 20) {
            opened.increment()
            throw SFTPError(.connectionRefused, "no more sessions")
        }
        let result = try fixture.authenticated().download(
            remotePath: fixture.remote + "/g.bin", to: local, expectedSize: Int64(data.count), readBufferSize: 65536,
            parallel: refusing)
        #expect(opened.value == 1)
        #expect(result.sha256 == sha256(data))
        #expect(try contents(local) == data)
    }

    @Test func smallFileKeepsTheSequentialPath() throws {
        let data = try fixture.makeRemoteFile("small.bin", count: 100_000)
        let local = fixture.folder.file("small.bin")
        let result = try fixture.authenticated().download(
            remotePath: fixture.remote + "/small.bin", to: local, expectedSize: Int64(data.count),
            parallel: parallel(threshold: 1 << 20))
        #expect(result.sha256 == sha256(data))
        #expect(opened.value == 0)
    }

    @Test func wrongListedSizeIsRefusedAndLeavesNothing() throws {
        try fixture.makeRemoteFile("a.bin", count: 2 << 20)
        let local = fixture.folder.file("a.bin")
        let session = try fixture.authenticated()
        for listed in [Int64(2 << 20) - 1, Int64(2 << 20) + 1] {
            #expect(
                sftpErrorCode {
                    _ = try session.download(
                        remotePath: fixture.remote + "/a.bin", to: local, expectedSize: listed, readBufferSize: 65536,
                        parallel: parallel())
                } == .sizeMismatch)
            #expect(!Files.exists(local) && !Files.exists(local + ".part") && !Files.exists(local + ".part.ranges"))
        }
    }

    /// The server's session processes are killed mid-file; the sidecar records what was written, and the next
    /// run resumes every range to a byte-identical file.
    @Test func downloadCutMidFileResumesToIdenticalBytes() throws {
        let size = 20 << 20
        let data = try fixture.makeRemoteFile("big.bin", count: size)
        let remotePath = fixture.remote + "/big.bin"
        let local = fixture.folder.file("big.bin")

        var killed = false
        let error = try #require(
            sftpError {
                _ = try fixture.authenticated().download(
                    remotePath: remotePath, to: local, expectedSize: Int64(size), readBufferSize: 65536,
                    parallel: parallel()
                ) { received, _ in
                    if !killed && received >= 5 << 20 {
                        fixture.server.killSessions()
                        killed = true
                    }
                }
            })
        #expect(error.code == .connectionLost)
        #expect(!Files.exists(local))
        #expect(try Files.size(local + ".part") == Int64(size))
        let ledger = try JSONSerialization.jsonObject(with: try contents(local + ".part.ranges")) as? [String: Any]
        let ranges = try #require(ledger?["ranges"] as? [[String: Int]])
        let done = ranges.reduce(0) { $0 + ($1["done"] ?? 0) }
        #expect(ranges.count == 2 && ledger?["size"] as? Int == size)
        #expect(done >= 5 << 20 && done < size)

        let result = try fixture.authenticated().download(
            remotePath: remotePath, to: local, expectedSize: Int64(size), readBufferSize: 65536, parallel: parallel())
        #expect(result.resumedFrom == Int64(done))
        #expect(result.sha256 == sha256(data))
        #expect(try contents(local) == data)
        #expect(!Files.exists(local + ".part") && !Files.exists(local + ".part.ranges"))
    }

    /// A crash after bytes were written but before the sidecar counted them: only counted bytes are trusted,
    /// whatever else the .part holds.
    @Test func resumeAfterCrashTrustsOnlyWhatTheSidecarCounts() throws {
        let size = 4 << 20
        let data = try fixture.makeRemoteFile("c.bin", count: size)
        let local = fixture.folder.file("c.bin")
        let half = size / 2
        // Range 0 has 1 MiB counted, range 1 has 100 000 bytes counted; the rest is junk.
        try writePart(local + ".part", data: data, good: [0..<(1 << 20), half..<(half + 100_000)])
        try writeLedger(local + ".part.ranges", size: size, ranges: [(0, half, 1 << 20), (half, size, 100_000)])
        let result = try fixture.authenticated().download(
            remotePath: fixture.remote + "/c.bin", to: local, expectedSize: Int64(size), readBufferSize: 65536,
            parallel: parallel())
        #expect(result.resumedFrom == Int64((1 << 20) + 100_000))
        #expect(try contents(local) == data)
        #expect(result.sha256 == sha256(data))
    }

    /// A sidecar counting bytes past the end of a shorter .part (a crash before the file was extended).
    @Test func sidecarCountingBeyondTheFileIsClamped() throws {
        let size = 4 << 20
        let data = try fixture.makeRemoteFile("d.bin", count: size)
        let local = fixture.folder.file("d.bin")
        try data.prefix(300_000).write(to: URL(fileURLWithPath: local + ".part"))
        try writeLedger(local + ".part.ranges", size: size, ranges: [(0, size / 2, size / 2), (size / 2, size, 10)])
        let result = try fixture.authenticated().download(
            remotePath: fixture.remote + "/d.bin", to: local, expectedSize: Int64(size), readBufferSize: 65536,
            parallel: parallel())
        #expect(result.resumedFrom == 300_000)
        #expect(try contents(local) == data)
    }

    /// A sidecar for another size, or one that is not JSON: nothing in the .part is trusted.
    @Test func staleOrDamagedSidecarRestarts() throws {
        let size = 3 << 20
        let data = try fixture.makeRemoteFile("e.bin", count: size)
        let local = fixture.folder.file("e.bin")
        for sidecar in ["stale", "damaged"] {
            try writePart(local + ".part", data: data, good: [0..<(1 << 20)])
            if sidecar == "stale" {
                try writeLedger(local + ".part.ranges", size: size + 1, ranges: [(0, size + 1, 1 << 20)])
            } else {
                try Data("{\"ranges\": [".utf8).write(to: URL(fileURLWithPath: local + ".part.ranges"))
            }
            let result = try fixture.authenticated().download(
                remotePath: fixture.remote + "/e.bin", to: local, expectedSize: Int64(size), readBufferSize: 65536,
                parallel: parallel())
            #expect(result.resumedFrom == 0, "\(sidecar)")
            #expect(try contents(local) == data, "\(sidecar)")
            try Files.remove(local)
        }
    }

    /// The sequential path meets a ranged download's .part (e.g. the threshold changed): it keeps only the
    /// finished prefix and removes the sidecar; and a sequential .part is resumed by the ranged path as a prefix.
    @Test func sequentialAndRangedPathsResumeEachOther() throws {
        let size = 4 << 20
        let data = try fixture.makeRemoteFile("f.bin", count: size)
        let remotePath = fixture.remote + "/f.bin"
        let local = fixture.folder.file("f.bin")
        let half = size / 2

        try writePart(local + ".part", data: data, good: [0..<700_000, half..<size])
        try writeLedger(local + ".part.ranges", size: size, ranges: [(0, half, 700_000), (half, size, half)])
        let sequential = try fixture.authenticated().download(
            remotePath: remotePath, to: local, expectedSize: Int64(size), readBufferSize: 65536)
        #expect(sequential.resumedFrom == 700_000)
        #expect(try contents(local) == data)
        #expect(!Files.exists(local + ".part.ranges"))
        try Files.remove(local)

        try data.prefix(3_000_000).write(to: URL(fileURLWithPath: local + ".part"))
        let ranged = try fixture.authenticated().download(
            remotePath: remotePath, to: local, expectedSize: Int64(size), readBufferSize: 65536, parallel: parallel())
        #expect(ranged.resumedFrom == 3_000_000)
        #expect(ranged.sha256 == sha256(data))
        #expect(try contents(local) == data)
    }
}
