import CSQLite3
import Core

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One connection to a SQLite database file; the only owner of its `sqlite3*` handle, closed in `deinit`.
///
/// Not thread-safe: use one connection per thread (the handle is opened with `SQLITE_OPEN_NOMUTEX`).
/// Every SQLite result code passes through `check`, which turns failures into `SQLiteError`.
///
/// ```swift
/// let db = try SQLiteDatabase(path: "data/warehouse.sqlite")
/// try db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, name TEXT)")
/// try db.transaction {
///     let insert = try db.prepare("INSERT INTO t (name) VALUES (:name)")
///     try insert.bind("ann", named: ":name")
///     try insert.run()
/// }
/// ```
public final class SQLiteDatabase {
    /// How the database is opened.
    public struct Options: Sendable {
        /// Open without write access; the file must exist.
        public var readOnly: Bool
        /// How long a statement waits for another connection's lock before failing with `.busy`.
        public var busyTimeoutMilliseconds: Int32
        /// Switch the file to write-ahead logging (readers do not block the writer). Ignored when read-only.
        public var writeAheadLog: Bool

        public init(readOnly: Bool = false, busyTimeoutMilliseconds: Int32 = 10_000, writeAheadLog: Bool = true) {
            self.readOnly = readOnly
            self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
            self.writeAheadLog = writeAheadLog
        }
    }

    /// The path given at open, for messages. `:memory:` is an in-memory database.
    public let path: String
    let handle: OpaquePointer

    /// Opens (and, unless read-only, creates) the database at `path`. The parent folder must exist.
    /// A database it creates is mode 0600, and so are its `-wal` and `-shm` files (SQLite gives them the
    /// database file's mode); an existing file keeps its mode.
    public init(path: String, options: Options = Options()) throws {
        self.path = path
        if !options.readOnly && path != ":memory:" && !path.isEmpty && !path.hasPrefix("file:") {
            try SQLiteDatabase.createPrivately(path)
        }
        var opened: OpaquePointer?
        let flags =
            (options.readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
            | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &opened, flags, nil)
        guard let opened else {
            throw SQLiteError(
                .failed, resultCode: status, "cannot open the database \(path)", underlying: "out of memory")
        }
        guard status == SQLITE_OK else {
            let text = String(cString: sqlite3_errmsg(opened))
            sqlite3_close_v2(opened)
            throw SQLiteError(
                SQLiteError.code(for: status), resultCode: status, "cannot open the database \(path)", underlying: text)
        }
        handle = opened
        sqlite3_extended_result_codes(handle, 1)
        try check(sqlite3_busy_timeout(handle, options.busyTimeoutMilliseconds), "setting the busy timeout")
        if options.writeAheadLog && !options.readOnly && path != ":memory:" {
            try execute("PRAGMA journal_mode=WAL")
        }
        // Detect a file that is not a database now, with a clear message, rather than at the first query.
        try execute("SELECT count(*) FROM sqlite_schema")
    }

    /// Creates `path` empty with mode 0600 unless something exists there (SQLite itself would create it 0644 minus the
    /// umask); an empty file is a valid empty database.
    private static func createPrivately(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let number = errno
            // An existing file (or folder) is left to SQLite, which opens it or says why not.
            if number == EEXIST { return }
            throw SQLiteError(
                .cannotOpen, resultCode: SQLITE_CANTOPEN, "cannot create the database \(path)",
                underlying: systemErrorText(number))
        }
        close(fd)
    }

    deinit {
        // Statements hold a reference to their database, so none is left unfinalized here.
        sqlite3_close_v2(handle)
    }

    /// The single choke point: returns when `status` is a success code, throws `SQLiteError` otherwise,
    /// reading SQLite's message for this connection immediately.
    func check(_ status: Int32, _ doing: @autoclosure () -> String) throws {
        switch status {
        case SQLITE_OK, SQLITE_ROW, SQLITE_DONE: return
        default:
            let text = String(cString: sqlite3_errmsg(handle))
            throw SQLiteError(
                SQLiteError.code(for: status), resultCode: status, "\(doing()) in the database \(path)",
                underlying: text)
        }
    }

    /// Runs one or more statements separated by semicolons, discarding any rows (schema files, pragmas).
    public func execute(_ sql: String) throws {
        var errorText: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &errorText)
        if let errorText { sqlite3_free(errorText) }
        try check(status, "cannot run \(SQLiteDatabase.summary(of: sql))")
    }

    /// Compiles one statement. Trailing text after the first statement is an error, so nothing is ignored.
    public func prepare(_ sql: String) throws -> SQLiteStatement {
        var statement: OpaquePointer?
        var tail: UnsafePointer<CChar>?
        var sql = sql
        let status = sql.withUTF8 { bytes -> Int32 in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                let result = sqlite3_prepare_v2(handle, chars.baseAddress, Int32(chars.count), &statement, &tail)
                if result == SQLITE_OK, let tail, let base = chars.baseAddress {
                    let rest = UnsafeBufferPointer(start: tail, count: chars.count - (tail - base))
                    if rest.contains(where: { !($0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 || $0 == 59) }) {
                        return SQLITE_MISUSE
                    }
                }
                return result
            }
        }
        if status == SQLITE_MISUSE {
            sqlite3_finalize(statement)
            throw SQLiteError(
                .sql, resultCode: status,
                "cannot prepare \(SQLiteDatabase.summary(of: sql)) in the database \(path)",
                underlying: "more than one statement; use execute() for scripts")
        }
        try check(status, "cannot prepare \(SQLiteDatabase.summary(of: sql))")
        guard let statement else {
            throw SQLiteError(
                .sql, resultCode: SQLITE_MISUSE, "cannot prepare \(SQLiteDatabase.summary(of: sql)) in \(path)",
                underlying: "the text holds no statement")
        }
        return SQLiteStatement(database: self, handle: statement, sql: sql)
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`; rolls back and rethrows when `body` or the commit throws.
    /// Immediate mode takes the write lock at the start, so a busy database fails before any work is done.
    @discardableResult
    public func transaction<Result>(_ body: () throws -> Result) throws -> Result {
        precondition(sqlite3_get_autocommit(handle) != 0, "SQLiteDatabase.transaction does not nest")
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            if sqlite3_get_autocommit(handle) == 0 {
                sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
            }
            throw error
        }
    }

    /// All rows of a query, with `bindings` bound by position (1-based in SQL, in order here).
    public func query(_ sql: String, _ bindings: [SQLiteValue] = []) throws -> [[SQLiteValue]] {
        let statement = try prepare(sql)
        for (offset, value) in bindings.enumerated() {
            try statement.bind(value, at: Int32(offset + 1))
        }
        return try statement.allRows()
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE on this connection.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// Rows changed since the connection was opened.
    public var totalChanges: Int { Int(sqlite3_total_changes(handle)) }

    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// The first line of a statement, shortened, for error messages.
    static func summary(of sql: String) -> String {
        let firstLine = sql.split(whereSeparator: { $0 == "\n" }).first.map(String.init) ?? sql
        let trimmed = firstLine.trimmingSpaces
        return "\"" + (trimmed.count > 80 ? String(trimmed.prefix(80)) + "…" : trimmed) + "\""
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\r" { text = text.dropLast() }
        return String(text)
    }
}
