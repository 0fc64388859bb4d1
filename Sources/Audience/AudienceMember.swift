import Foundation

/// One member of an audience snapshot: a normalized email, the configured `additional_fields` that have
/// a value, and the configured `audience_memberships` the member belongs to.
///
/// Fields holding an empty value are not kept: for Responsys an empty value and an absent one mean the
/// same thing, and whether an empty value overwrites is decided when the bodies are written.
public struct AudienceMember: Equatable, Sendable {
    public var email: String
    public var fields: [String: String]
    public var audiences: Set<String>

    public init(email: String, fields: [String: String] = [:], audiences: Set<String> = []) {
        self.email = email
        self.fields = fields.filter { !$0.value.isEmpty }
        self.audiences = audiences
    }

    /// The canonical NDJSON line of a sorted snapshot (without the line break):
    /// `{"email":…,"fields":{…},"audiences":[…]}` with keys and audiences sorted, so two members are
    /// equal exactly when their lines are equal byte for byte.
    public var snapshotLine: String {
        var bytes: [UInt8] = []
        appendSnapshotLine(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    func appendSnapshotLine(to out: inout [UInt8]) {
        out.append("{\"email\":")
        appendJSONString(email, to: &out)
        out.append(",\"fields\":{")
        var first = true
        for key in fields.keys.sorted() {
            if !first { out.append(0x2C) }
            first = false
            appendJSONString(key, to: &out)
            out.append(0x3A)
            appendJSONString(fields[key] ?? "", to: &out)
        }
        out.append("},\"audiences\":[")
        first = true
        for audience in audiences.sorted() {
            if !first { out.append(0x2C) }
            first = false
            appendJSONString(audience, to: &out)
        }
        out.append("]}")
    }

    /// Reads a line written by `snapshotLine` (a `baseline` mark or other extra keys are ignored).
    init(snapshotLine line: UnsafeRawBufferPointer, file: String, lineNumber: Int) throws {
        let value: JSONValue
        do {
            value = try JSONParser.parse(line)
        } catch {
            throw AudienceError(
                .badSnapshot, "\(file) line \(lineNumber) is not JSON", underlying: error.reason,
                remedy: "snapshot files are written by the extract stage; re-run it")
        }
        try self.init(snapshotValue: value, file: file, lineNumber: lineNumber)
    }

    /// Reads a parsed snapshot line.
    init(snapshotValue value: JSONValue, file: String, lineNumber: Int) throws {
        guard case .object(let members) = value,
            let emailValue = members.first(where: { $0.key == "email" })?.value, case .string(let email) = emailValue
        else {
            throw AudienceError(.badSnapshot, "\(file) line \(lineNumber) has no email")
        }
        var fields: [String: String] = [:]
        var audiences: Set<String> = []
        for member in members {
            switch (member.key, member.value) {
            case ("fields", .object(let pairs)):
                for pair in pairs { if case .string(let text) = pair.value { fields[pair.key] = text } }
            case ("audiences", .array(let names)):
                for name in names { if case .string(let text) = name { audiences.insert(text) } }
            default: break
            }
        }
        self.init(email: email, fields: fields, audiences: audiences)
    }

    init(snapshotLine text: String) throws {
        var text = text
        self = try text.withUTF8 {
            try AudienceMember(snapshotLine: UnsafeRawBufferPointer($0), file: "line", lineNumber: 1)
        }
    }
}

/// Byte-level views of a canonical snapshot line, used by the sort, the diff and the state merge,
/// which never need to decode a whole line.
enum SnapshotLine {
    static let emailPrefix: StaticString = "{\"email\":\""
    static let baselineSuffix: StaticString = ",\"baseline\":true}"
    static let audiencesKey: StaticString = ",\"audiences\":["

    /// The email bytes of a canonical line. Normalized emails hold no `"` or `\`, so the email ends at
    /// the next quote.
    static func email(of line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        let prefixCount = emailPrefix.utf8CodeUnitCount
        guard line.count > prefixCount, memcmp(line.baseAddress!, emailPrefix.utf8Start, prefixCount) == 0,
            let quote = memchr(line.baseAddress! + prefixCount, 0x22, line.count - prefixCount)
        else { return nil }
        let end = line.baseAddress!.distance(to: UnsafeRawPointer(quote))
        return UnsafeRawBufferPointer(rebasing: line[prefixCount..<end])
    }

    /// Whether the line carries the baseline mark (recorded on a first run without sending).
    static func isBaseline(_ line: UnsafeRawBufferPointer) -> Bool {
        let count = baselineSuffix.utf8CodeUnitCount
        return line.count > count
            && memcmp(line.baseAddress! + line.count - count, baselineSuffix.utf8Start, count) == 0
    }

    /// The line's content without the final `}` and without the baseline mark: two lines describe the
    /// same member data exactly when their contents are equal.
    static func content(of line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let cut = isBaseline(line) ? baselineSuffix.utf8CodeUnitCount : 1
        return UnsafeRawBufferPointer(rebasing: line[0..<max(0, line.count - cut)])
    }

    /// Splits a content into the part up to the audiences (email + fields) and the audiences part.
    static func splitAudiences(_ content: UnsafeRawBufferPointer) -> (
        fields: UnsafeRawBufferPointer, audiences: UnsafeRawBufferPointer
    ) {
        let key = audiencesKey.utf8CodeUnitCount
        var index = content.count - key
        while index >= 0 {
            if memcmp(content.baseAddress! + index, audiencesKey.utf8Start, key) == 0 {
                return (
                    UnsafeRawBufferPointer(rebasing: content[0..<index]),
                    UnsafeRawBufferPointer(rebasing: content[index...])
                )
            }
            index -= 1
        }
        return (content, UnsafeRawBufferPointer(rebasing: content[content.count...]))
    }

    static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
    }

    /// Byte order of two emails (the sort order of every snapshot file).
    static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let common = min(a.count, b.count)
        if common > 0 {
            let order = memcmp(a.baseAddress!, b.baseAddress!, common)
            if order != 0 { return Int(order) }
        }
        return a.count - b.count
    }
}
