import Core
import Foundation
import SFTP
import TestSupport
import Testing

@Suite struct ListingTests {
    @Test func emptyFolderListsNothing() throws {
        let fixture = try ServerFixture()
        #expect(try fixture.authenticated().list(directory: fixture.remote) == [])
    }

    @Test func namesWithSpacesNonASCIIZeroBytesAndLinksAreListed() throws {
        let fixture = try ServerFixture()
        try fixture.makeRemoteFile("b with spaces.txt", count: 3)
        try fixture.makeRemoteFile("ünïcødé_日本.txt", count: 17)
        try fixture.makeRemoteFile("empty.txt", count: 0)
        try Files.makeDirectory(fixture.remote + "/sub")
        symlink(fixture.remote + "/empty.txt", fixture.remote + "/link.txt")
        symlink(fixture.remote + "/missing", fixture.remote + "/dangling")

        let entries = try fixture.authenticated().list(directory: fixture.remote)
        #expect(
            entries.map(\.name) == ["b with spaces.txt", "dangling", "empty.txt", "link.txt", "sub", "ünïcødé_日本.txt"])
        let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
        #expect(byName["ünïcødé_日本.txt"]?.size == 17)
        #expect(byName["empty.txt"]?.size == 0 && byName["empty.txt"]?.isRegular == true)
        #expect(byName["link.txt"]?.isSymlink == true && byName["link.txt"]?.isRegular == true)
        #expect(byName["dangling"]?.isRegular == false)
        #expect(byName["sub"]?.isRegular == false)
        let modified = try FileManager.default.attributesOfItem(atPath: fixture.remote + "/empty.txt")[
            .modificationDate]
        #expect(byName["empty.txt"]?.mtime == Int64((modified as? Date)?.timeIntervalSince1970 ?? -1))
    }

    @Test func tenThousandFilesAreListed() throws {
        let fixture = try ServerFixture()
        for index in 0..<10_000 {
            let path = fixture.remote + "/f\(index).txt"
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        let entries = try fixture.authenticated().list(directory: fixture.remote)
        #expect(entries.count == 10_000)
        #expect(Set(entries.map(\.name)).count == 10_000)
        #expect(entries.contains { $0.name == "f9999.txt" })
    }

    @Test func missingFolderIsRemoteNotFound() throws {
        let fixture = try ServerFixture()
        let session = try fixture.authenticated()
        #expect(sftpErrorCode { _ = try session.list(directory: fixture.remote + "/nope") } == .remoteNotFound)
    }

    @Test func growingFileIsNotTakenAndReadyFileGates() throws {
        let fixture = try ServerFixture()
        let session = try fixture.authenticated()
        try fixture.makeRemoteFile("done.txt", count: 100)
        try fixture.makeRemoteFile("growing.txt", count: 100)
        try fixture.makeRemoteFile("gated.txt", count: 5)
        let earlier = try session.list(directory: fixture.remote)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: fixture.remote + "/growing.txt"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("more".utf8))
        try handle.close()
        let later = try session.list(directory: fixture.remote)

        let stable = RemoteFileSelector(pattern: "*.txt", readySuffix: nil).select(later, earlier: earlier, ledger: [])
        #expect(stable.taken.map(\.name) == ["done.txt", "gated.txt"])
        #expect(stable.skipped.map(\.entry.name) == ["growing.txt"])

        try fixture.makeRemoteFile("gated.txt.ready", count: 0)
        let gated = RemoteFileSelector(pattern: "*", readySuffix: ".ready")
            .select(try session.list(directory: fixture.remote), ledger: [])
        #expect(gated.taken.map(\.name) == ["gated.txt"])
    }
}

@Suite struct DownloadTests {
    @Test func downloadsWithDigestModeAndNoLeftovers() throws {
        let fixture = try ServerFixture()
        let data = try fixture.makeRemoteFile("ünï code.txt", count: 300_000)
        let session = try fixture.authenticated()
        let local = fixture.folder.file("ünï code.txt")
        var progressCalls = 0
        let result = try session.download(
            remotePath: fixture.remote + "/ünï code.txt", to: local, expectedSize: Int64(data.count),
            readBufferSize: 65536
        ) { _, _ in progressCalls += 1 }
        #expect(result == DownloadResult(bytes: 300_000, resumedFrom: 0, sha256: try Files.digest(local).sha256))
        #expect(try Data(contentsOf: URL(fileURLWithPath: local)) == data)
        #expect(progressCalls >= 1)
        #expect(!Files.exists(local + ".part"))
        let mode = try FileManager.default.attributesOfItem(atPath: local)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func zeroByteFileDownloads() throws {
        let fixture = try ServerFixture()
        try fixture.makeRemoteFile("empty.txt", count: 0)
        let local = fixture.folder.file("empty.txt")
        let result = try fixture.authenticated().download(
            remotePath: fixture.remote + "/empty.txt", to: local, expectedSize: 0)
        #expect(result.bytes == 0)
        #expect(result.sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(try Files.size(local) == 0)
    }

    @Test func sizeDifferentFromTheListingIsRefusedAndLeavesNothing() throws {
        let fixture = try ServerFixture()
        try fixture.makeRemoteFile("a.txt", count: 1000)
        let local = fixture.folder.file("a.txt")
        let session = try fixture.authenticated()
        #expect(
            sftpErrorCode {
                _ = try session.download(remotePath: fixture.remote + "/a.txt", to: local, expectedSize: 999)
            } == .sizeMismatch)
        #expect(!Files.exists(local) && !Files.exists(local + ".part"))
        #expect(
            sftpErrorCode {
                _ = try session.download(remotePath: fixture.remote + "/none.txt", to: local, expectedSize: 1)
            } == .remoteNotFound)
    }

    /// The server's session processes are killed mid-file; the next run resumes from the .part file and the
    /// result is byte-identical.
    @Test func downloadCutMidFileResumesToIdenticalBytes() throws {
        let fixture = try ServerFixture()
        let size = 20 << 20
        let data = try fixture.makeRemoteFile("big.bin", count: size)
        let remotePath = fixture.remote + "/big.bin"
        let local = fixture.folder.file("big.bin")

        let first = try fixture.authenticated()
        var killed = false
        let error = try #require(
            sftpError {
                _ = try first.download(remotePath: remotePath, to: local, expectedSize: Int64(size)) { received, _ in
                    if !killed && received >= 5 << 20 {
                        fixture.server.killSessions()
                        killed = true
                    }
                }
            })
        #expect(error.code == .connectionLost)
        #expect(error.exitStatus == .temporaryFailure)
        #expect(!Files.exists(local))
        let partial = try #require(try Files.size(local + ".part"))
        #expect(partial >= 5 << 20 && partial < Int64(size))

        let result = try fixture.authenticated().download(remotePath: remotePath, to: local, expectedSize: Int64(size))
        #expect(result.resumedFrom == partial)
        #expect(result.bytes == Int64(size))
        var digest = SHA256()
        digest.update(data)
        #expect(result.sha256 == digest.finalizeHex())
        #expect(try Files.digest(local).sha256 == result.sha256)
        #expect(!Files.exists(local + ".part"))
    }

    @Test func afterImportDeletesOrMovesOnTheServer() throws {
        let fixture = try ServerFixture()
        try fixture.makeRemoteFile("a.txt", count: 1)
        try fixture.makeRemoteFile("b.txt", count: 2)
        try fixture.makeRemoteFile("c.txt", count: 3)
        let session = try fixture.authenticated()
        try AfterImportAction.keep.apply(to: fixture.remote + "/a.txt", session: session)
        try AfterImportAction.delete.apply(to: fixture.remote + "/b.txt", session: session)
        let archive = fixture.folder.file("archive")
        try AfterImportAction.move(toDirectory: archive).apply(to: fixture.remote + "/c.txt", session: session)
        #expect(try session.list(directory: fixture.remote).map(\.name) == ["a.txt"])
        #expect(try session.list(directory: archive).map(\.name) == ["c.txt"])
        // The archive folder exists now; moving another file there works too.
        try AfterImportAction.move(toDirectory: archive).apply(to: fixture.remote + "/a.txt", session: session)
        #expect(try session.list(directory: archive).map(\.name) == ["a.txt", "c.txt"])
    }
}
