import Core
import Foundation
import Records
import Warehouse

/// What to read from each row of an audience source.
public struct AudienceSnapshotOptions: Sendable, Equatable {
    /// The column or key holding the email (`email_field`, default `email`).
    public var emailField: String
    /// `additional_fields`: columns copied into the member's fields (at most 29, checked by the config).
    public var additionalFields: [String]
    /// `audience_memberships`: the audiences tracked, each read from a column of its name, or else from
    /// the row's `audiences` field.
    public var audienceMemberships: [String]

    public init(emailField: String = "email", additionalFields: [String] = [], audienceMemberships: [String] = []) {
        self.emailField = emailField
        self.additionalFields = additionalFields
        self.audienceMemberships = audienceMemberships
    }
}

/// A source row that cannot become a member: its line (1-based; for CSV the line the record starts on)
/// and why. Written to the extract stage's `rejects.ndjson`.
public struct SnapshotReject: Sendable, Equatable {
    public var line: Int
    public var reason: String
    /// The row's normalized email when the email itself was valid and another value was bad: the member
    /// is "held" (see `HeldMembers`), not exited.
    public var email: String?

    public init(line: Int, reason: String, email: String? = nil) {
        self.line = line
        self.reason = reason
        self.email = email
    }

    /// `{"line":12,"reason":"…"}`, with `"email":"…"` when the row's email was valid.
    public var jsonLine: String {
        let emailPart = email.map { ",\"email\":" + JSONText.quote($0) } ?? ""
        return "{\"line\":\(line),\"reason\":\(JSONText.quote(reason))\(emailPart)}"
    }
}

/// The format of a snapshot file.
public enum SnapshotFileFormat: String, Sendable {
    case csv, ndjson

    /// From the name (`.csv`, `.tsv`, `.txt` → CSV; `.ndjson`, `.jsonl`, `.json` → NDJSON; a `.gz`
    /// suffix is looked through), or nil when the name does not tell.
    public static func guess(path: String) -> SnapshotFileFormat? {
        var name = (path as NSString).lastPathComponent.lowercased()
        if name.hasSuffix(".gz") { name = String(name.dropLast(3)) }
        switch (name as NSString).pathExtension {
        case "csv", "tsv", "txt": return .csv
        case "ndjson", "jsonl", "json": return .ndjson
        default: return nil
        }
    }
}

/// How many rows a read saw.
public struct SnapshotReadCounts: Sendable, Equatable {
    /// Rows read (blank NDJSON lines are not rows).
    public var rows = 0
    /// Rows sent to rejects.
    public var rejected = 0

    public init(rows: Int = 0, rejected: Int = 0) {
        self.rows = rows
        self.rejected = rejected
    }
}

/// A row turned into member data, before it is a member: values by position in the options.
struct ExtractedRow {
    var email: String
    /// By index in `additionalFields`; nil or "" when the row has no value.
    var values: [String?]
    /// By index in `audienceMemberships`.
    var memberships: [Bool]
}

/// Reads an audience source — a CSV or NDJSON file (optionally gzip) or the rows of a SQLite query —
/// into members: email trimmed and lower-cased, the configured fields, the configured audiences.
/// A row with an invalid email (or an unreadable membership value) goes to `reject` with its line.
/// Duplicates are not removed here: the external sort keeps the last row of each email.
public struct AudienceSnapshotReader: Sendable {
    public let options: AudienceSnapshotOptions

    public init(options: AudienceSnapshotOptions) {
        self.options = options
    }

    /// Reads a file, calling `member` for each valid row in file order and `reject` for each other row.
    public func readFile(
        _ path: String, format: SnapshotFileFormat? = nil,
        member: (AudienceMember) throws -> Void, reject: (SnapshotReject) throws -> Void
    ) throws -> SnapshotReadCounts {
        try readFile(path, format: format, row: { try member(self.member(from: $0)) }, reject: reject)
    }

    /// Runs the SQL of `queryFile` against the SQLite database at `databasePath` (opened read-only) with
    /// the run's `now` bound as `:now` (ISO 8601 text, e.g. `2026-12-04T15:00:00Z`) when the query uses
    /// it. Column names play the part of CSV headers; a rejected row's `line` is its position in the
    /// result (1-based).
    public func readSQLite(
        databasePath: String, queryFile: String, now: Date,
        member: (AudienceMember) throws -> Void, reject: (SnapshotReject) throws -> Void
    ) throws -> SnapshotReadCounts {
        try readSQLite(
            databasePath: databasePath, queryFile: queryFile, now: now, row: { try member(self.member(from: $0)) },
            reject: reject)
    }

    func readSQLite(
        databasePath: String, queryFile: String, now: Date,
        row: (ExtractedRow) throws -> Void, reject: (SnapshotReject) throws -> Void
    ) throws -> SnapshotReadCounts {
        let sql: String
        do {
            sql = String(decoding: try Files.read(queryFile), as: UTF8.self)
        } catch {
            throw AudienceError(
                .io, "cannot read the query file \(queryFile)", underlying: "\(error)",
                remedy: "check query_file in the workflow's source")
        }
        guard Files.exists(databasePath) else {
            throw AudienceError(
                .io, "the SQLite database \(databasePath) does not exist", remedy: "check path in the workflow's source"
            )
        }
        let database = try SQLiteDatabase(path: databasePath, options: .init(readOnly: true, writeAheadLog: false))
        let statement = try database.prepare(sql)
        if statement.parameterIndex(":now") != nil {
            try statement.bind(Timestamp.iso8601(now), named: ":now")
        }
        let slots = statement.columnNames.map { slot(for: $0) }
        guard slots.contains(.email) else {
            throw AudienceError(
                .badSource, "the query \(queryFile) returns no column \(options.emailField)",
                remedy: "select the email as \(options.emailField), or set email_field")
        }
        var counts = SnapshotReadCounts()
        var builder = RowBuilder(options: options)
        while try statement.step() {
            counts.rows += 1
            builder.reset()
            for (index, slot) in slots.enumerated() where slot != .ignored {
                let value: SourceValue
                switch statement.value(at: Int32(index)) {
                case .text(let text): value = .text(text)
                case .integer(let number): value = .text(String(number))
                case .real(let number): value = .text(String(number))
                case .null: value = .null
                case .blob: value = .unsupported("blob")
                }
                builder.set(slot, value)
            }
            switch builder.build() {
            case .success(let extracted): try row(extracted)
            case .failure(let reason):
                counts.rejected += 1
                try reject(SnapshotReject(line: counts.rows, reason: reason.text, email: reason.email))
            }
        }
        return counts
    }

    func member(from row: ExtractedRow) -> AudienceMember {
        var fields: [String: String] = [:]
        for (index, name) in options.additionalFields.enumerated() {
            if let value = row.values[index], !value.isEmpty { fields[name] = value }
        }
        var audiences: Set<String> = []
        for (index, name) in options.audienceMemberships.enumerated() where row.memberships[index] {
            audiences.insert(name)
        }
        return AudienceMember(email: row.email, fields: fields, audiences: audiences)
    }

    func readFile(
        _ path: String, format: SnapshotFileFormat?,
        row: (ExtractedRow) throws -> Void, reject: (SnapshotReject) throws -> Void
    ) throws -> SnapshotReadCounts {
        let chosen = try format ?? SnapshotFileFormat.guess(path: path) ?? sniff(path)
        switch chosen {
        case .ndjson: return try readNDJSON(try LineReader(path: path), path: path, row: row, reject: reject)
        case .csv: return try readCSV(path, row: row, reject: reject)
        }
    }

    /// NDJSON when the first non-blank byte is `{`, CSV otherwise.
    func sniff(_ path: String) throws -> SnapshotFileFormat {
        let lines = try LineReader(path: path, bufferSize: 1 << 16)
        while let line = try lines.next() {
            for byte in line where byte != 0x20 && byte != 0x09 {
                return byte == UInt8(ascii: "{") ? .ndjson : .csv
            }
        }
        return .ndjson
    }

    // MARK: Columns

    /// What a source column or key means to the reader.
    enum Slot: Equatable {
        case email, field(Int), audience(Int), audienceList, ignored
    }

    func slot(for name: String) -> Slot {
        func same(_ a: String, _ b: String) -> Bool { a == b || a.lowercased() == b.lowercased() }
        if same(name, options.emailField) { return .email }
        if let index = options.additionalFields.firstIndex(where: { same($0, name) }) { return .field(index) }
        if let index = options.audienceMemberships.firstIndex(where: { same($0, name) }) { return .audience(index) }
        if same(name, "audiences") { return .audienceList }
        return .ignored
    }

    /// A value as read from a source, before interpretation.
    enum SourceValue {
        case text(String)
        case bool(Bool)
        case list([String])
        case null
        case unsupported(String)
    }

    /// Turns the slots and values of one row into member data, or the reason the row is rejected.
    /// One builder serves a whole file (`reset` between rows), so a row allocates little.
    struct RowBuilder {
        let options: AudienceSnapshotOptions
        /// The audience names lower-cased, for matching the entries of an `audiences` field.
        private let audienceNames: [[UInt8]]
        var email: SourceValue?
        /// Set instead of `email` by the NDJSON scanner, which normalizes straight from the line's bytes.
        var normalizedEmail: Result<String, EmailAddress.InvalidEmail>?
        var values: [String?]
        var memberships: [Bool?]
        /// Audiences named in the `audiences` field, by index.
        var listed: [Bool]
        var listUnsupported = false
        var problem: String?
        private var resolved: [Bool]

        init(options: AudienceSnapshotOptions) {
            self.options = options
            audienceNames = options.audienceMemberships.map { Array($0.lowercased().utf8) }
            values = Array(repeating: nil, count: options.additionalFields.count)
            memberships = Array(repeating: nil, count: options.audienceMemberships.count)
            listed = Array(repeating: false, count: options.audienceMemberships.count)
            resolved = listed
        }

        mutating func reset() {
            email = nil
            normalizedEmail = nil
            for index in values.indices { values[index] = nil }
            for index in memberships.indices {
                memberships[index] = nil
                listed[index] = false
            }
            listUnsupported = false
            problem = nil
        }

        /// Marks the audience named by `name` (trimmed, any case) as listed; unknown names are ignored.
        mutating func list(name: UnsafeRawBufferPointer) {
            var start = 0
            var end = name.count
            while start < end && (name[start] == 0x20 || name[start] == 0x09) { start += 1 }
            while end > start && (name[end - 1] == 0x20 || name[end - 1] == 0x09) { end -= 1 }
            for (index, candidate) in audienceNames.enumerated() where candidate.count == end - start {
                var same = true
                for offset in 0..<candidate.count {
                    var byte = name[start + offset]
                    if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { byte += 32 }
                    if byte != candidate[offset] {
                        same = false
                        break
                    }
                }
                if same { listed[index] = true }
            }
        }

        mutating func list(name: String) {
            var name = name
            name.withUTF8 { list(name: UnsafeRawBufferPointer($0)) }
        }

        mutating func set(_ slot: Slot, _ value: SourceValue) {
            switch slot {
            case .email:
                email = value
                normalizedEmail = nil
            case .field(let index):
                switch value {
                case .text(let text): values[index] = text
                case .bool(let flag): values[index] = flag ? "true" : "false"
                case .null: values[index] = nil
                case .list, .unsupported:
                    problem =
                        problem ?? "field \(options.additionalFields[index]) holds a list or an object, not a value"
                }
            case .audience(let index):
                switch value {
                case .bool(let flag): memberships[index] = flag
                case .null: memberships[index] = false
                case .text(let text):
                    switch text.trimmingSpaces.lowercased() {
                    case "true", "1", "yes", "y", "t": memberships[index] = true
                    case "false", "0", "no", "n", "f", "": memberships[index] = false
                    default:
                        problem =
                            problem
                            ?? "audience column \(options.audienceMemberships[index]) holds \(JSONText.quote(String(text.prefix(40)))); expected true/false, 1/0 or yes/no"
                    }
                case .list, .unsupported:
                    problem =
                        problem ?? "audience column \(options.audienceMemberships[index]) holds a list or an object"
                }
            case .audienceList:
                switch value {
                case .list(let names): for name in names { list(name: name) }
                case .text(let text): for name in text.split(separator: ";") { list(name: String(name)) }
                case .unsupported: listUnsupported = true
                case .bool, .null: break
                }
            case .ignored: break
            }
        }

        mutating func build() -> Result<ExtractedRow, SnapshotRejectReason> {
            let emailResult = normalizedEmail ?? rawEmailNormalized()
            // A bad value beside a valid email: the reject names the member, so they are held, not exited.
            let validEmail = try? emailResult.get()
            if let problem { return .failure(SnapshotRejectReason(text: problem, email: validEmail)) }
            let normalized: String
            switch emailResult {
            case .success(let value): normalized = value
            case .failure(let invalid): return .failure(SnapshotRejectReason(text: invalid.reason))
            }
            if listUnsupported {
                return .failure(SnapshotRejectReason(text: "the audiences field is not a list", email: normalized))
            }
            // Audiences without a column of their own come from the `audiences` field.
            for index in memberships.indices { resolved[index] = memberships[index] ?? listed[index] }
            return .success(ExtractedRow(email: normalized, values: values, memberships: resolved))
        }

        private func rawEmailNormalized() -> Result<String, EmailAddress.InvalidEmail> {
            switch email {
            case .text(let text): EmailAddress.normalize(text)
            case nil, .null: .failure(EmailAddress.InvalidEmail(reason: "the row has no \(options.emailField)"))
            default: .failure(EmailAddress.InvalidEmail(reason: "\(options.emailField) is not a text value"))
            }
        }
    }

    struct SnapshotRejectReason: Error {
        var text: String
        /// The row's normalized email when it was valid (another value was bad).
        var email: String? = nil
    }

    // MARK: NDJSON

    /// One NDJSON line into member data, or the reason it is rejected.
    func scanLine(
        _ line: UnsafeRawBufferPointer, scanner: inout NDJSONRowScanner, builder: inout RowBuilder
    ) -> Result<ExtractedRow, SnapshotRejectReason> {
        builder.reset()
        do {
            try scanner.scan(line, into: &builder)
            return builder.build()
        } catch {
            // A negative offset marks valid JSON that is not an object.
            return .failure(
                SnapshotRejectReason(
                    text: error.offset < 0 ? error.reason : "not JSON: \(error.reason) at byte \(error.offset + 1)"))
        }
    }

    private func readNDJSON(
        _ lines: LineReader, path: String,
        row: (ExtractedRow) throws -> Void, reject: (SnapshotReject) throws -> Void
    ) throws -> SnapshotReadCounts {
        var counts = SnapshotReadCounts()
        var scanner = NDJSONRowScanner(reader: self)
        var builder = RowBuilder(options: options)
        while let line = try lines.next() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            counts.rows += 1
            let outcome = scanLine(line, scanner: &scanner, builder: &builder)
            switch outcome {
            case .success(let extracted): try row(extracted)
            case .failure(let reason):
                counts.rejected += 1
                try reject(SnapshotReject(line: lines.lineNumber, reason: reason.text, email: reason.email))
            }
        }
        return counts
    }

    func sourceValue(_ value: JSONValue) -> SourceValue {
        switch value {
        case .string(let text), .number(let text): return .text(text)
        case .bool(let flag): return .bool(flag)
        case .null: return .null
        case .array(let elements):
            var names: [String] = []
            for element in elements {
                guard case .string(let name) = element else { return .unsupported("array") }
                names.append(name)
            }
            return .list(names)
        case .object: return .unsupported("object")
        }
    }

    // MARK: CSV

    private func readCSV(
        _ path: String, row: (ExtractedRow) throws -> Void, reject: (SnapshotReject) throws -> Void
    ) throws -> SnapshotReadCounts {
        let feeder = path.hasSuffix(".gz") ? try GzipFeeder(path: path) : nil
        var counts = SnapshotReadCounts()
        do {
            counts = try readCSV(
                try feeder.map { try CSVReader(fileDescriptor: $0.readDescriptor, name: path, ownsDescriptor: true) }
                    ?? CSVReader(path: path),
                path: path, row: row, reject: reject)
        } catch {
            // The reader is released (its descriptor closed), so the feeder stops; the reader's error wins.
            try? feeder?.finish()
            throw error
        }
        try feeder?.finish()
        return counts
    }

    private func readCSV(
        _ reader: CSVReader, path: String, row: (ExtractedRow) throws -> Void, reject: (SnapshotReject) throws -> Void
    ) throws -> SnapshotReadCounts {
        var counts = SnapshotReadCounts()
        let header = reader.header.originalNames.map { $0.trimmingSpaces }
        guard !header.isEmpty else { return counts }
        let slots = header.map { slot(for: $0) }
        guard slots.contains(.email) else {
            throw AudienceError(
                .badSource, "\(path) has no column \(options.emailField)",
                remedy: "set email_field to the name of the email column")
        }
        var builder = RowBuilder(options: options)
        while let record = try reader.nextRow() {
            counts.rows += 1
            func refuse(_ reason: String, email: String? = nil) throws {
                counts.rejected += 1
                try reject(SnapshotReject(line: record.line, reason: reason, email: email))
            }
            if let problem = record.problem {
                try refuse(problem.reason)
                continue
            }
            guard record.count == header.count else {
                try refuse("the row has \(record.count) columns, the header \(header.count)")
                continue
            }
            builder.reset()
            for (index, slot) in slots.enumerated() where slot != .ignored {
                builder.set(slot, .text(record.string(at: index)))
            }
            switch builder.build() {
            case .success(let extracted): try row(extracted)
            case .failure(let reason): try refuse(reason.text, email: reason.email)
            }
        }
        return counts
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and line breaks.
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
