import CSQLite3
import Core

/// A value read from or bound to SQLite.
public enum SQLiteValue: Sendable, Equatable, Hashable, CustomStringConvertible {
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case null

    public var description: String {
        switch self {
        case .integer(let value): String(value)
        case .real(let value): String(value)
        case .text(let value): value
        case .blob(let bytes): "<\(bytes.count) bytes>"
        case .null: "NULL"
        }
    }

    public var intValue: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var textValue: String? {
        if case .text(let value) = self { return value }
        return nil
    }
}

/// A compiled statement; finalized in `deinit`. Keeps its database open while it exists.
///
/// Parameters are numbered from 1 as in SQL; columns from 0 as in `sqlite3_column_*`.
public final class SQLiteStatement {
    public let database: SQLiteDatabase
    let handle: OpaquePointer
    /// The SQL text, for error messages.
    public let sql: String

    init(database: SQLiteDatabase, handle: OpaquePointer, sql: String) {
        self.database = database
        self.handle = handle
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    private func check(_ status: Int32, _ doing: @autoclosure () -> String) throws {
        try database.check(status, "\(doing()) for \(SQLiteDatabase.summary(of: sql))")
    }

    // MARK: Binding

    /// The 1-based index of a named parameter (`:name`, `@name` or `$name`, prefix included), or nil.
    public func parameterIndex(_ name: String) -> Int32? {
        let index = sqlite3_bind_parameter_index(handle, name)
        return index > 0 ? index : nil
    }

    public var parameterCount: Int32 { sqlite3_bind_parameter_count(handle) }

    public func bind(_ value: Int, at index: Int32) throws {
        try check(sqlite3_bind_int64(handle, index, Int64(value)), "cannot bind parameter \(index)")
    }

    public func bind(_ value: Int64, at index: Int32) throws {
        try check(sqlite3_bind_int64(handle, index, value), "cannot bind parameter \(index)")
    }

    public func bind(_ value: Double, at index: Int32) throws {
        try check(sqlite3_bind_double(handle, index, value), "cannot bind parameter \(index)")
    }

    /// Binds text by its UTF-8 bytes (SQLite copies them); nil binds NULL.
    public func bind(_ value: String?, at index: Int32) throws {
        guard var value else { return try bindNull(at: index) }
        try value.withUTF8 { try bind(utf8: UnsafeRawBufferPointer($0), at: index) }
    }

    /// Binds text given as UTF-8 bytes, without building a `String` (SQLite copies them).
    public func bind(utf8 bytes: UnsafeRawBufferPointer, at index: Int32) throws {
        // A NULL pointer would bind SQL NULL; empty text needs a valid pointer with length 0.
        let status: Int32
        if let base = bytes.baseAddress, bytes.count > 0 {
            status = retl_sqlite3_bind_text(handle, index, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count))
        } else {
            status = "".withCString { retl_sqlite3_bind_text(handle, index, $0, 0) }
        }
        try check(status, "cannot bind parameter \(index)")
    }

    public func bind(blob bytes: [UInt8], at index: Int32) throws {
        // A NULL pointer would bind SQL NULL; an empty blob is a zero-length blob.
        let status =
            bytes.isEmpty
            ? sqlite3_bind_zeroblob(handle, index, 0)
            : bytes.withUnsafeBytes { retl_sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count)) }
        try check(status, "cannot bind parameter \(index)")
    }

    public func bindNull(at index: Int32) throws {
        try check(sqlite3_bind_null(handle, index), "cannot bind parameter \(index)")
    }

    public func bind(_ value: SQLiteValue, at index: Int32) throws {
        switch value {
        case .integer(let number): try bind(number, at: index)
        case .real(let number): try bind(number, at: index)
        case .text(let text): try bind(text, at: index)
        case .blob(let bytes): try bind(blob: bytes, at: index)
        case .null: try bindNull(at: index)
        }
    }

    /// Binds by parameter name (`":now"`); a name the statement does not have throws `.sql`.
    public func bind(_ value: SQLiteValue, named name: String) throws {
        try bind(value, at: try index(named: name))
    }

    public func bind(_ value: String?, named name: String) throws {
        try bind(value, at: try index(named: name))
    }

    public func bind(_ value: Int, named name: String) throws {
        try bind(value, at: try index(named: name))
    }

    public func bind(_ value: Double, named name: String) throws {
        try bind(value, at: try index(named: name))
    }

    private func index(named name: String) throws -> Int32 {
        guard let index = parameterIndex(name) else {
            throw SQLiteError(
                .sql, resultCode: SQLITE_RANGE,
                "the statement \(SQLiteDatabase.summary(of: sql)) has no parameter \(name) (database \(database.path))"
            )
        }
        return index
    }

    /// Resets the statement so it can run again; bindings are kept until `clearBindings`.
    public func reset() {
        // The error of the last step was already thrown by `step`; reset repeats it, so it is ignored here.
        sqlite3_reset(handle)
    }

    public func clearBindings() {
        sqlite3_clear_bindings(handle)
    }

    // MARK: Running

    /// Advances to the next row: true when a row is available, false when the statement is done.
    public func step() throws -> Bool {
        let status = sqlite3_step(handle)
        if status == SQLITE_ROW { return true }
        if status == SQLITE_DONE { return false }
        sqlite3_reset(handle)
        try check(status, "cannot run the statement")
        return false
    }

    /// Runs a statement that returns no rows, then resets it for the next use. Returns the rows changed.
    @discardableResult
    public func run() throws -> Int {
        defer { sqlite3_reset(handle) }
        while try step() {}
        return database.changes
    }

    /// Every remaining row, then resets the statement.
    public func allRows() throws -> [[SQLiteValue]] {
        defer { sqlite3_reset(handle) }
        var rows: [[SQLiteValue]] = []
        while try step() {
            rows.append((0..<columnCount).map { value(at: $0) })
        }
        return rows
    }

    // MARK: Reading the current row

    public var columnCount: Int32 { sqlite3_column_count(handle) }

    public func columnName(at index: Int32) -> String {
        sqlite3_column_name(handle, index).map { String(cString: $0) } ?? ""
    }

    public var columnNames: [String] { (0..<columnCount).map { columnName(at: $0) } }

    public func isNull(at index: Int32) -> Bool { sqlite3_column_type(handle, index) == SQLITE_NULL }

    public func int(at index: Int32) -> Int64 { sqlite3_column_int64(handle, index) }

    public func double(at index: Int32) -> Double { sqlite3_column_double(handle, index) }

    /// The column as text (numbers are converted by SQLite); nil when NULL.
    public func text(at index: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, index) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, index))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    public func value(at index: Int32) -> SQLiteValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER: return .integer(int(at: index))
        case SQLITE_FLOAT: return .real(double(at: index))
        case SQLITE_NULL: return .null
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, index))
            guard count > 0, let pointer = sqlite3_column_blob(handle, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: pointer, count: count)))
        default: return .text(text(at: index) ?? "")
        }
    }
}
