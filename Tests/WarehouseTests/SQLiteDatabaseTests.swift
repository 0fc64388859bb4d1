import Core
import Foundation
import TestSupport
import Testing

@testable import Warehouse

@Suite struct SQLiteDatabaseTests {
    @Test func createsInsertsAndReadsBackEveryType() throws {
        let folder = try TemporaryFolder("sqlite")
        let db = try SQLiteDatabase(path: folder.file("a.sqlite"))
        try db.execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n TEXT)")
        let insert = try db.prepare("INSERT INTO t VALUES (:i, :r, :s, :b, :n)")
        try insert.bind(42, named: ":i")
        try insert.bind(2.5, named: ":r")
        try insert.bind("Zoë 😀", named: ":s")
        try insert.bind(.blob([0, 1, 255]), named: ":b")
        try insert.bind(nil as String?, named: ":n")
        #expect(try insert.run() == 1)

        let rows = try db.query("SELECT i, r, s, b, n, length(s) FROM t")
        #expect(rows == [[.integer(42), .real(2.5), .text("Zoë 😀"), .blob([0, 1, 255]), .null, .integer(5)]])
    }

    @Test func emptyTextIsNotNull() throws {
        let db = try SQLiteDatabase(path: ":memory:")
        let rows = try db.query("SELECT ?1 IS NULL, length(?1)", [.text("")])
        #expect(rows == [[.integer(0), .integer(0)]])
    }

    @Test func positionalBindingAndStepping() throws {
        let db = try SQLiteDatabase(path: ":memory:")
        try db.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER); INSERT INTO t VALUES ('a', 1), ('b', 2);")
        let select = try db.prepare("SELECT k, v FROM t WHERE v >= ? ORDER BY k")
        try select.bind(2, at: 1)
        #expect(try select.step())
        #expect(select.text(at: 0) == "b")
        #expect(select.int(at: 1) == 2)
        #expect(select.columnNames == ["k", "v"])
        #expect(try select.step() == false)
    }

    @Test func badSQLThrowsSQLCodeWithSQLiteText() throws {
        let db = try SQLiteDatabase(path: ":memory:")
        let error = #expect(throws: SQLiteError.self) { try db.prepare("SELEKT 1") }
        #expect(error?.code == .sql)
        #expect(error?.description.contains("syntax error") == true)
        #expect(error?.description.contains(":memory:") == true)
    }

    @Test func unknownParameterNameThrows() throws {
        let db = try SQLiteDatabase(path: ":memory:")
        let statement = try db.prepare("SELECT :a")
        let error = #expect(throws: SQLiteError.self) { try statement.bind(1, named: ":b") }
        #expect(error?.code == .sql)
    }

    @Test func twoStatementsInPrepareAreRefused() throws {
        let db = try SQLiteDatabase(path: ":memory:")
        let error = #expect(throws: SQLiteError.self) { try db.prepare("SELECT 1; SELECT 2") }
        #expect(error?.code == .sql)
        _ = try db.prepare("SELECT 1;  \n")
    }

    @Test func constraintViolationHasConstraintCode() throws {
        let db = try SQLiteDatabase(path: ":memory:")
        try db.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
        try db.execute("INSERT INTO t VALUES ('x')")
        let error = #expect(throws: SQLiteError.self) { try db.execute("INSERT INTO t VALUES ('x')") }
        #expect(error?.code == .constraint)
    }

    @Test func transactionRollsBackWhenTheBodyThrows() throws {
        let folder = try TemporaryFolder("sqlite")
        let db = try SQLiteDatabase(path: folder.file("t.sqlite"))
        try db.execute("CREATE TABLE t (v INTEGER)")
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try db.transaction {
                try db.execute("INSERT INTO t VALUES (1)")
                throw Stop()
            }
        }
        try db.transaction { try db.execute("INSERT INTO t VALUES (2)") }
        #expect(try db.query("SELECT v FROM t") == [[.integer(2)]])
    }

    @Test func opensInWriteAheadLogMode() throws {
        let folder = try TemporaryFolder("sqlite")
        let db = try SQLiteDatabase(path: folder.file("w.sqlite"))
        #expect(try db.query("PRAGMA journal_mode") == [[.text("wal")]])
    }

    @Test func aNewDatabaseAndItsWriteAheadLogAreReadableOnlyByTheOwner() throws {
        let folder = try TemporaryFolder("sqlite")
        let path = folder.file("events.sqlite")
        let db = try SQLiteDatabase(path: path)
        try db.execute("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('personal data');")
        func mode(_ file: String) throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int ?? -1) & 0o777
        }
        #expect(try mode(path) == 0o600)
        #expect(try mode(path + "-wal") == 0o600)
        #expect(try mode(path + "-shm") == 0o600)
        // An existing database keeps the mode its owner gave it.
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)
        _ = try SQLiteDatabase(path: path)
        #expect(try mode(path) == 0o640)
    }

    @Test func missingFolderIsCannotOpen() throws {
        let folder = try TemporaryFolder("sqlite")
        let error = #expect(throws: SQLiteError.self) {
            try SQLiteDatabase(path: folder.file("no/such/folder/db.sqlite"))
        }
        #expect(error?.code == .cannotOpen)
        #expect(error?.remedy != nil)
    }

    @Test func aFileThatIsNotADatabaseIsCorrupt() throws {
        let folder = try TemporaryFolder("sqlite")
        let path = try folder.write("junk.sqlite", String(repeating: "this is not sqlite\n", count: 100))
        let error = #expect(throws: SQLiteError.self) { try SQLiteDatabase(path: path) }
        #expect(error?.code == .corrupt)
    }

    @Test func aSecondWriterWaitsThenReportsBusy() throws {
        let folder = try TemporaryFolder("sqlite")
        let path = folder.file("busy.sqlite")
        let first = try SQLiteDatabase(path: path)
        try first.execute("CREATE TABLE t (v INTEGER)")
        let second = try SQLiteDatabase(path: path, options: .init(busyTimeoutMilliseconds: 50))
        try first.execute("BEGIN IMMEDIATE")
        let error = #expect(throws: SQLiteError.self) { try second.execute("BEGIN IMMEDIATE") }
        #expect(error?.code == .busy)
        #expect(error?.exitStatus == .temporaryFailure)
        try first.execute("COMMIT")
    }
}
