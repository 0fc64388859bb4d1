import Core

/// Everything wrong with a configuration file, each problem with its file, line and full dotted key.
///
/// The loader collects every problem it can find before throwing, so a user fixes them in one pass.
/// Descriptions never contain a secret: a value is quoted only for keys that cannot hold one.
public struct ConfigError: DiagnosedError, Equatable {
    /// What kind of problem this is; tests and callers match on it, never on the text.
    public enum Code: String, Sendable, Equatable {
        /// The configuration file does not exist.
        case missingFile
        /// The configuration file (or a secret file) exists but cannot be read, or is not UTF-8.
        case unreadable
        /// The text is not valid TOML.
        case syntax
        /// Valid TOML that this reader does not support (dates, multi-line strings, arrays of tables…).
        case unsupported
        /// A key defined twice, or a table header repeated.
        case duplicateKey
        /// A value of the wrong TOML type (a string where an integer belongs).
        case wrongType
        /// A key the configuration does not know (often a misspelling: the remedy suggests the known key).
        case unknownKey
        /// A required key is absent.
        case missingKey
        /// A value of the right type that is not allowed (a bad choice, a bad fingerprint, out of range).
        case invalidValue
        /// Over a Responsys limit: more than 29 fields, a column name over 30 characters.
        case limitExceeded
        /// A secret written in the file itself instead of through `*_env` / `*_file`.
        case inlineSecret
        /// Keys that exclude each other both given (`instance` and `base_url`), or neither.
        case conflictingKeys
        /// A workflow's `auth` names no auth, or one of the wrong type.
        case unknownAuth
        /// `workflow(named:)` was asked for a workflow the file does not define.
        case unknownWorkflow
        /// The environment variable that holds a secret is not set (or is empty).
        case missingSecret
    }

    /// One problem: where it is and what to do about it.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var code: Code
        public var file: String
        /// The 1-based line, when the problem has one.
        public var line: Int?
        /// The full dotted key, e.g. `workflows.events.stable_seconds`.
        public var key: String?
        public var message: String
        public var remedy: String?

        public init(_ code: Code, file: String, line: Int?, key: String?, message: String, remedy: String? = nil) {
            self.code = code
            self.file = file
            self.line = line
            self.key = key
            self.message = message
            self.remedy = remedy
        }

        /// `FILE:LINE: key 'a.b': message (remedy)`.
        public var description: String {
            var text = file
            if let line { text += ":\(line)" }
            text += ": "
            if let key { text += "key '\(key)': " }
            text += message
            if let remedy { text += " (\(remedy))" }
            return text
        }
    }

    /// The problems, in the order of their lines.
    public var problems: [Problem]

    public init(problems: [Problem]) {
        precondition(!problems.isEmpty, "a ConfigError needs at least one problem")
        self.problems = problems
    }

    public init(_ code: Code, file: String, line: Int?, key: String?, message: String, remedy: String? = nil) {
        self.init(problems: [Problem(code, file: file, line: line, key: key, message: message, remedy: remedy)])
    }

    /// The code of the first problem.
    public var code: Code { problems[0].code }
    /// The codes of every problem.
    public var codes: [Code] { problems.map(\.code) }

    /// A bad configuration is bad usage: exit status 2.
    public var exitStatus: ExitStatus { .usage }

    /// The remedy, when there is one problem (with several, each line carries its own).
    public var remedy: String? { problems.count == 1 ? problems[0].remedy : nil }

    /// One line per problem.
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
