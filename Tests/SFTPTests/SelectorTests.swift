import Foundation
import SFTP
import Testing

@Suite struct GlobPatternTests {
    @Test func starQuestionAndSets() {
        let pattern = GlobPattern("1234_*_[0-9][0-9]??????_*.txt")
        #expect(pattern.matches("1234_CLICK_20240307_060001.txt"))
        #expect(pattern.matches("1234_OPT_OUT_20240307_060001.txt"))
        #expect(!pattern.matches("1234_CLICK_x0240307_060001.txt"))
        #expect(!pattern.matches("1234_CLICK_20240307_060001.txt.ready"))
        #expect(!pattern.matches("9999_CLICK_20240307_060001.txt"))
    }

    @Test func negatedSetsEscapesAndUnclosedBracket() {
        #expect(GlobPattern("[!a]*").matches("b.txt"))
        #expect(!GlobPattern("[!a]*").matches("a.txt"))
        #expect(GlobPattern("[^a]*").matches("b"))
        #expect(GlobPattern("a\\*b").matches("a*b"))
        #expect(!GlobPattern("a\\*b").matches("axb"))
        #expect(GlobPattern("[abc").matches("[abc"))
        #expect(GlobPattern("[]]x").matches("]x"))
    }

    @Test func questionMarkIsOneCharacterWhateverItsUTF8Length() {
        #expect(GlobPattern("caf?.txt").matches("café.txt"))
        #expect(GlobPattern("* *").matches("name with spaces"))
        #expect(GlobPattern("*").matches(""))
        #expect(!GlobPattern("?").matches(""))
    }

    @Test func manyStarsOnALongNameStayCorrect() {
        let name = String(repeating: "a", count: 200) + "b"
        #expect(!GlobPattern("*a*a*a*a*a*c").matches(name))
        #expect(GlobPattern("*a*a*a*a*a*b").matches(name))
    }
}

@Suite struct RemoteFileSelectorTests {
    let ledger = [LedgerEntry(name: "old.txt", size: 10, mtime: 1000, importedAt: "2024-03-07T06:00:00Z", runID: "r1")]

    @Test func readyFileGatesDataFilesAndIsNeverTaken() {
        let selector = RemoteFileSelector(pattern: "*", readySuffix: ".ready")
        let listing = [
            RemoteEntry(name: "a.txt", size: 5, mtime: 1),
            RemoteEntry(name: "a.txt.ready", size: 0, mtime: 1),
            RemoteEntry(name: "b.txt", size: 7, mtime: 1),
        ]
        let selection = selector.select(listing, ledger: [])
        #expect(selection.taken.map(\.name) == ["a.txt"])
        #expect(selection.skipped == [.init(entry: listing[2], reason: .readyFileMissing)])
        #expect(!selector.needsEarlierListing)
    }

    @Test func ledgerSkipsOnlyTheSameNameSizeAndMtime() {
        let selector = RemoteFileSelector(pattern: "*.txt", readySuffix: nil)
        let listing = [
            RemoteEntry(name: "old.txt", size: 10, mtime: 1000),
            RemoteEntry(name: "new.txt", size: 3, mtime: 2000),
        ]
        let selection = selector.select(listing, earlier: listing, ledger: ledger)
        #expect(selection.taken.map(\.name) == ["new.txt"])
        #expect(selection.skipped.map(\.reason) == [.alreadyImported])

        // Same name, rewritten on the server: a different file, so it is taken.
        let rewritten = [RemoteEntry(name: "old.txt", size: 11, mtime: 1000)]
        #expect(selector.select(rewritten, earlier: rewritten, ledger: ledger).taken == rewritten)
    }

    @Test func stabilityTakesOnlyFilesUnchangedBetweenListings() {
        let selector = RemoteFileSelector(pattern: "*", readySuffix: nil)
        #expect(selector.needsEarlierListing)
        let earlier = [
            RemoteEntry(name: "done.txt", size: 100, mtime: 50),
            RemoteEntry(name: "growing.txt", size: 100, mtime: 50),
            RemoteEntry(name: "touched.txt", size: 100, mtime: 50),
        ]
        let later = [
            RemoteEntry(name: "done.txt", size: 100, mtime: 50),
            RemoteEntry(name: "growing.txt", size: 180, mtime: 52),
            RemoteEntry(name: "touched.txt", size: 100, mtime: 51),
            RemoteEntry(name: "arrived.txt", size: 1, mtime: 52),
        ]
        let selection = selector.select(later, earlier: earlier, ledger: [])
        #expect(selection.taken.map(\.name) == ["done.txt"])
        #expect(Set(selection.skipped.map(\.entry.name)) == ["growing.txt", "touched.txt", "arrived.txt"])
        #expect(selection.skipped.allSatisfy { $0.reason == .stillChanging })
    }

    @Test func foldersAndDanglingLinksAreNotTakenButReported() {
        let selector = RemoteFileSelector(pattern: "*", readySuffix: ".ready")
        let listing = [
            RemoteEntry(name: "sub", size: 4096, mtime: 1, isRegular: false),
            RemoteEntry(name: "sub.ready", size: 0, mtime: 1),
            RemoteEntry(name: "link.txt", size: 5, mtime: 1, isRegular: true, isSymlink: true),
            RemoteEntry(name: "link.txt.ready", size: 0, mtime: 1),
        ]
        let selection = selector.select(listing, ledger: [])
        #expect(selection.taken.map(\.name) == ["link.txt"])
        #expect(selection.skipped.map(\.reason) == [.notRegular])
    }

    @Test func emptyListingSelectsNothing() {
        let selection = RemoteFileSelector(pattern: "*", readySuffix: nil).select([], earlier: [], ledger: ledger)
        #expect(selection.taken.isEmpty && selection.skipped.isEmpty)
    }

    @Test func ledgerEntryRoundTripsThroughJSON() throws {
        let data = try JSONEncoder().encode(ledger[0])
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"runID\":\"r1\""))
        #expect(try JSONDecoder().decode(LedgerEntry.self, from: data) == ledger[0])
    }

    @Test func afterImportParsesItsThreeForms() {
        #expect(AfterImportAction(configValue: "keep") == .keep)
        #expect(AfterImportAction(configValue: "delete") == .delete)
        #expect(AfterImportAction(configValue: "move:/archive") == .move(toDirectory: "/archive"))
        #expect(AfterImportAction(configValue: "move:") == nil)
        #expect(AfterImportAction(configValue: "archive") == nil)
    }
}
