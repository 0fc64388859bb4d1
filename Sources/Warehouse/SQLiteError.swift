import CSQLite3
import Core

/// A failure reported by SQLite: which database, what we were doing, SQLite's own text, and what to do.
///
/// Built only by `SQLiteDatabase.check`, the one place that reads SQLite result codes. Bound values never
/// appear in the description; the SQL text does (it holds placeholders, not data).
public struct SQLiteError: DiagnosedError, Equatable {
    /// What kind of failure this is; callers and tests match on it, never on the text.
    public enum Code: String, Sendable {
        /// The database file cannot be opened or created (missing folder, permissions).
        case cannotOpen
        /// Another connection holds a lock longer than the busy timeout.
        case busy
        /// The SQL is wrong (syntax, unknown table or column), or a parameter does not exist.
        case sql
        /// A constraint (UNIQUE, NOT NULL, CHECK) refused a row.
        case constraint
        /// The database is read-only or the file permissions forbid writing.
        case readOnly
        /// The file is not a database or is damaged.
        case corrupt
        /// A disk or I/O failure, including a full disk.
        case io
        /// Anything else SQLite reported.
        case failed
    }

    public var code: Code
    /// SQLite's extended result code.
    public var resultCode: Int32
    public var message: String
    public var underlying: String?

    public init(_ code: Code, resultCode: Int32, _ message: String, underlying: String? = nil) {
        self.code = code
        self.resultCode = resultCode
        self.message = message
        self.underlying = underlying
    }

    /// The code for a SQLite result code (primary or extended).
    public static func code(for resultCode: Int32) -> Code {
        switch resultCode & 0xFF {
        case SQLITE_CANTOPEN: .cannotOpen
        case SQLITE_BUSY, SQLITE_LOCKED: .busy
        case SQLITE_ERROR, SQLITE_RANGE: .sql
        case SQLITE_CONSTRAINT: .constraint
        case SQLITE_READONLY, SQLITE_PERM, SQLITE_AUTH: .readOnly
        case SQLITE_CORRUPT, SQLITE_NOTADB: .corrupt
        case SQLITE_IOERR, SQLITE_FULL: .io
        default: .failed
        }
    }

    public var exitStatus: ExitStatus {
        code == .busy ? .temporaryFailure : .stageFailed
    }

    public var remedy: String? {
        switch code {
        case .cannotOpen: "check that the folder exists and is writable by this user"
        case .busy: "another process is using the database; try again when it has finished"
        case .readOnly: "check the permissions of the database file and its folder"
        case .corrupt: "the file is not a usable SQLite database; restore it or point the sink at a new path"
        case .io: "check free disk space and the health of the file system"
        case .sql, .constraint, .failed: nil
        }
    }

    public var description: String {
        var text = message
        if let underlying { text += ": \(underlying)" }
        if let remedy { text += " (\(remedy))" }
        return text
    }
}
