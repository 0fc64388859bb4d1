import Foundation

/// How important a log line is; lines below the logger's level are not written.
public enum LogLevel: Int, Comparable, Sendable, CaseIterable {
    case debug, info, warn, error

    public init?(name: String) {
        switch name.lowercased() {
        case "debug": self = .debug
        case "info": self = .info
        case "warn", "warning": self = .warn
        case "error": self = .error
        default: return nil
        }
    }

    public var name: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .warn: "warn"
        case .error: "error"
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Human-readable `key=value` text, or one JSON object per line for log collectors.
public enum LogFormat: String, Sendable {
    case text, json
}

/// One log line before formatting: a constant message plus fields.
public struct LogRecord: Sendable {
    public var time: Date
    public var level: LogLevel
    public var message: String
    public var fields: [LogField]
}

/// One `key=value` of a log line. `isNumber`: the value was a Swift number or Bool, so a JSON line writes it
/// bare (`"rows":150000`) and collectors can compare and sum it.
public struct LogField: Sendable {
    public var key: String
    public var value: String
    public var isNumber: Bool

    init(key: String, _ value: Any) {
        self.key = key
        switch value {
        case let flag as Bool:
            (self.value, isNumber) = (flag ? "true" : "false", true)
        case let number as any BinaryInteger:
            (self.value, isNumber) = (String(describing: number), true)
        case let number as Double where number.isFinite:
            (self.value, isNumber) = (String(describing: number), true)
        default:
            (self.value, isNumber) = (String(describing: value), false)
        }
    }

    init(key: String, text: String, isNumber: Bool) {
        (self.key, value, self.isNumber) = (key, text, isNumber)
    }
}

/// Where formatted lines go: stderr for the tool, memory for tests.
public protocol LogSink: Sendable {
    func write(line: String)
}

/// Writes each line to standard error in one `write` call, so lines of concurrent threads never interleave.
public struct StandardErrorSink: LogSink {
    public init() {}
    public func write(line: String) {
        var bytes = Array((line + "\n").utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}

/// Keeps lines in memory, for tests that check what was logged (and what was not: secrets).
public final class MemoryLogSink: LogSink, @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []

    public init() {}

    public func write(line: String) {
        lock.withLock { stored.append(line) }
    }

    public var lines: [String] { lock.withLock { stored } }
}

/// A small structured logger: level, format, sink, and redaction of the secrets it was told about.
///
/// Messages are constant text; what varies goes into fields (`stage=decrypt file=… bytes=…`).
/// Any configured secret value that appears in a message or field is replaced by `[REDACTED]`
/// before the line is formatted, so a secret that slips into an error text still never reaches the log.
public final class Logger: Sendable {
    public let level: LogLevel
    public let format: LogFormat
    private let sink: LogSink
    /// Shared by a logger and every logger made from it with `with(_:)`.
    public let redactor: Redactor
    private let context: [LogField]

    public convenience init(level: LogLevel = .info, format: LogFormat = .text, sink: LogSink = StandardErrorSink()) {
        self.init(level: level, format: format, sink: sink, redactor: Redactor(), context: [])
    }

    private init(
        level: LogLevel, format: LogFormat, sink: LogSink, redactor: Redactor, context: [LogField]
    ) {
        self.level = level
        self.format = format
        self.sink = sink
        self.redactor = redactor
        self.context = context
    }

    /// A logger that adds `fields` to every line, e.g. `workflow=events stage=extract`.
    public func with(_ fields: KeyValuePairs<String, Any>) -> Logger {
        let added = fields.map { LogField(key: $0.key, $0.value) }
        return Logger(
            level: level, format: format, sink: sink, redactor: redactor, context: Logger.merge(context, added))
    }

    /// Registers a secret value; it is redacted from every later line of this logger and its relatives.
    public func addSecret(_ value: String) { redactor.add(value) }

    public func debug(_ message: String, _ fields: KeyValuePairs<String, Any> = [:]) { log(.debug, message, fields) }
    public func info(_ message: String, _ fields: KeyValuePairs<String, Any> = [:]) { log(.info, message, fields) }
    public func warn(_ message: String, _ fields: KeyValuePairs<String, Any> = [:]) { log(.warn, message, fields) }
    public func error(_ message: String, _ fields: KeyValuePairs<String, Any> = [:]) { log(.error, message, fields) }

    public func log(_ level: LogLevel, _ message: String, _ fields: KeyValuePairs<String, Any>) {
        guard level >= self.level else { return }
        let all = Logger.merge(context, fields.map { LogField(key: $0.key, $0.value) })
        let record = LogRecord(
            time: Date(), level: level, message: redactor.redact(message),
            fields: all.map { field in
                let shown = redactor.redact(field.value)
                // A redacted number is no longer one.
                return LogField(key: field.key, text: shown, isNumber: field.isNumber && shown == field.value)
            })
        sink.write(line: LogLineFormatter.format(record, as: format))
    }

    /// `base` with `added` on top: a key given again replaces the earlier value, so a line never carries
    /// the same key twice (which many JSON log collectors refuse).
    static func merge(_ base: [LogField], _ added: [LogField]) -> [LogField] {
        let replaced = Set(added.map(\.key))
        return base.filter { !replaced.contains($0.key) } + added
    }

    /// A logger that writes nothing, for callers that have none to pass.
    public static var silent: Logger { Logger(level: .error, sink: MemoryLogSink()) }
}

/// The secret values known to this process; any text can be passed through it before it is shown.
public final class Redactor: @unchecked Sendable {
    /// A secret, with the pieces of it that are redacted on their own, computed once when it is added (every
    /// field of every log line passes through `redact`).
    private struct Secret {
        let text: String
        /// Two thirds of the secret (at least 8 characters): "most of it" never shows, while a word that a
        /// long secret merely contains stays readable. 0 when the secret is too short to have pieces.
        let pieceLength: Int
        let pieces: Set<ArraySlice<Unicode.Scalar>>

        init(_ text: String) {
            self.text = text
            let scalars = Array(text.unicodeScalars)
            let length = max(8, (scalars.count * 2 + 2) / 3)
            guard scalars.count > length else {
                (pieceLength, pieces) = (0, [])
                return
            }
            pieceLength = length
            pieces = Set((0...(scalars.count - length)).map { scalars[$0..<($0 + length)] })
        }
    }

    private let lock = NSLock()
    private var secrets: [Secret] = []

    public init() {}

    public func add(_ value: String) {
        // Redacting one or two characters would mangle every line and hide nothing.
        guard value.count >= 3 else { return }
        lock.withLock { if !secrets.contains(where: { $0.text == value }) { secrets.append(Secret(value)) } }
    }

    /// Replaces every registered secret in `text` with `[REDACTED]`, and every run of text that is a piece of
    /// one at least two thirds its length (and 8 characters) long: a library error quoting part of a query or
    /// a URL that held the secret shows none of it either.
    public func redact(_ text: String) -> String {
        var result = text
        for secret in lock.withLock({ secrets }) {
            if result.contains(secret.text) {
                result = result.replacingOccurrences(of: secret.text, with: "[REDACTED]")
            }
            result = Redactor.redactPieces(of: secret, in: result)
        }
        return result
    }

    /// `text` with every run covered by pieces of `secret` replaced by `[REDACTED]`.
    private static func redactPieces(of secret: Secret, in text: String) -> String {
        let length = secret.pieceLength
        let scalars = Array(text.unicodeScalars)
        guard length > 0, scalars.count >= length else { return text }
        var covered = [Bool](repeating: false, count: scalars.count)
        var found = false
        for start in 0...(scalars.count - length) where secret.pieces.contains(scalars[start..<(start + length)]) {
            for index in start..<(start + length) { covered[index] = true }
            found = true
        }
        guard found else { return text }
        var result = String.UnicodeScalarView()
        for (index, scalar) in scalars.enumerated() {
            if !covered[index] {
                result.append(scalar)
            } else if index == 0 || !covered[index - 1] {
                result.append(contentsOf: "[REDACTED]".unicodeScalars)
            }
        }
        return String(result)
    }
}

/// Turns a record into one line of text or JSON.
enum LogLineFormatter {
    static func format(_ record: LogRecord, as format: LogFormat) -> String {
        let time = Timestamp.iso8601(record.time, fractional: true)
        switch format {
        case .text:
            var line = "\(time) \(record.level.name.uppercased()) \(record.message)"
            for field in record.fields {
                line += " \(field.key)=\(quoteIfNeeded(field.value))"
            }
            return line
        case .json:
            var line = "{\"time\":\(JSONText.quote(time)),\"level\":\(JSONText.quote(record.level.name))"
            line += ",\"msg\":\(JSONText.quote(record.message))"
            for field in record.fields where !["time", "level", "msg"].contains(field.key) {
                line += ",\(JSONText.quote(field.key)):\(field.isNumber ? field.value : JSONText.quote(field.value))"
            }
            return line + "}"
        }
    }

    /// Values with spaces, quotes or `=` are quoted so a line still splits into fields unambiguously.
    static func quoteIfNeeded(_ value: String) -> String {
        if value.isEmpty { return "\"\"" }
        if value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) {
            return JSONText.quote(value)
        }
        return value
    }
}
