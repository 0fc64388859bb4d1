/// A small CSV reader for audience snapshot files: a header row, then records; the delimiter (comma,
/// semicolon, tab or pipe) detected from the header; RFC 4180 quoting with fields spanning lines; CRLF;
/// a UTF-8 byte-order mark.
// TODO: switch to Records.CSVReader once the `records` branch lands it; this reader stays until then.
final class SnapshotCSVReader {
    private let lines: LineReader
    private let path: String
    private(set) var delimiter: UInt8 = UInt8(ascii: ",")
    private var pending: [UInt8] = []

    init(lines: LineReader, path: String) {
        self.lines = lines
        self.path = path
    }

    /// The header, lower-cased and trimmed; nil for an empty file.
    func readHeader() throws -> [String]? {
        guard var first = try lines.next() else { return nil }
        if first.count >= 3 && first[0] == 0xEF && first[1] == 0xBB && first[2] == 0xBF {
            first = UnsafeRawBufferPointer(rebasing: first[3...])
        }
        var counts: [UInt8: Int] = [:]
        var quoted = false
        for byte in first {
            if byte == 0x22 { quoted.toggle() }
            if !quoted, [UInt8(ascii: ","), UInt8(ascii: ";"), 0x09, UInt8(ascii: "|")].contains(byte) {
                counts[byte, default: 0] += 1
            }
        }
        if let best = counts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }) {
            delimiter = best.key
        }
        guard let header = try record(startingWith: first) else { return nil }
        guard header.validUTF8 else {
            throw AudienceError(.badSource, "the header of \(path) is not valid UTF-8", remedy: "export the file as UTF-8")
        }
        return header.fields.map { $0.trimmingSpaces.lowercased() }
    }

    /// The next record with the number of the line it starts on; nil at the end. `validUTF8` is false
    /// when a field held bytes that are not UTF-8 (the caller rejects the row).
    func next() throws -> (fields: [String], line: Int, validUTF8: Bool)? {
        guard let first = try lines.next() else { return nil }
        return try record(startingWith: first)
    }

    private func record(startingWith first: UnsafeRawBufferPointer) throws -> (
        fields: [String], line: Int, validUTF8: Bool
    )? {
        let startLine = lines.lineNumber
        var valid = true
        pending.removeAll(keepingCapacity: true)
        pending.append(contentsOf: first)
        // A record continues on the next line while a quote is open.
        while pending.reduce(0, { $0 + ($1 == 0x22 ? 1 : 0) }) % 2 == 1 {
            guard let more = try lines.next() else {
                throw AudienceError(
                    .badSource, "\(path) line \(startLine): a quoted field is never closed",
                    remedy: "fix the quoting in the file")
            }
            pending.append(0x0A)
            pending.append(contentsOf: more)
        }
        var fields: [String] = []
        var field: [UInt8] = []
        var index = 0
        var inQuotes = false
        while index < pending.count {
            let byte = pending[index]
            if inQuotes {
                if byte == 0x22 {
                    if index + 1 < pending.count && pending[index + 1] == 0x22 {
                        field.append(0x22)
                        index += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    field.append(byte)
                }
            } else if byte == 0x22 {
                inQuotes = true
            } else if byte == delimiter {
                fields.append(text(field, valid: &valid))
                field.removeAll(keepingCapacity: true)
            } else {
                field.append(byte)
            }
            index += 1
        }
        fields.append(text(field, valid: &valid))
        return (fields, startLine, valid)
    }

    private func text(_ bytes: [UInt8], valid: inout Bool) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        valid = false
        return String(decoding: bytes, as: UTF8.self)
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
