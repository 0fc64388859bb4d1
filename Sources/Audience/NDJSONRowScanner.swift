import Foundation

/// Reads one NDJSON source line straight into a `RowBuilder`: keys are matched as bytes against the
/// columns the workflow reads, values of other keys are checked and skipped without building them, the
/// email is normalized from the line's bytes, and `audiences` entries are matched without making strings.
/// This is the extract's hot path (millions of lines); it accepts and rejects exactly what `JSONParser`
/// does for a top-level object.
struct NDJSONRowScanner {
    let reader: AudienceSnapshotReader
    /// Keys seen so far and what they mean; files repeat the same few keys on every line.
    private var known: [(key: [UInt8], slot: AudienceSnapshotReader.Slot)] = []

    init(reader: AudienceSnapshotReader) {
        self.reader = reader
    }

    private mutating func slot(for key: UnsafeRawBufferPointer) -> AudienceSnapshotReader.Slot {
        for entry in known where entry.key.count == key.count {
            if key.isEmpty { return entry.slot }
            if entry.key.withUnsafeBytes({ memcmp($0.baseAddress!, key.baseAddress!, key.count) }) == 0 {
                return entry.slot
            }
        }
        let slot = reader.slot(for: String(decoding: key, as: UTF8.self))
        if known.count < 64 { known.append((Array(key), slot)) }
        return slot
    }

    mutating func scan(
        _ line: UnsafeRawBufferPointer, into builder: inout AudienceSnapshotReader.RowBuilder
    ) throws(JSONSyntaxError) {
        var parser = JSONParser(line)
        parser.skipSpace()
        guard parser.current == UInt8(ascii: "{") else {
            guard parser.index < line.count else { throw parser.failure("unexpected end of line") }
            // Not an object: say what it is when it is other JSON.
            _ = try parser.value()
            throw JSONSyntaxError(reason: "the line is not a JSON object", offset: -1)
        }
        parser.index += 1
        parser.skipSpace()
        if parser.current == UInt8(ascii: "}") {
            parser.index += 1
        } else {
            while true {
                parser.skipSpace()
                guard parser.current == UInt8(ascii: "\"") else { throw parser.failure("expected a key") }
                let keyStart = parser.index
                let key = try parser.rawString()
                let slot: AudienceSnapshotReader.Slot
                if key.escaped {
                    parser.index = keyStart
                    slot = reader.slot(for: try parser.string())
                } else {
                    slot = self.slot(for: key.bytes)
                }
                parser.skipSpace()
                guard parser.current == UInt8(ascii: ":") else { throw parser.failure("expected ':'") }
                parser.index += 1
                parser.skipSpace()
                try value(for: slot, parser: &parser, builder: &builder)
                parser.skipSpace()
                if parser.current == UInt8(ascii: ",") {
                    parser.index += 1
                } else if parser.current == UInt8(ascii: "}") {
                    parser.index += 1
                    break
                } else {
                    throw parser.failure(parser.index < line.count ? "expected ',' or '}'" : "unexpected end of line")
                }
            }
        }
        parser.skipSpace()
        guard parser.index == line.count else { throw parser.failure("text after the JSON value") }
    }

    private func value(
        for slot: AudienceSnapshotReader.Slot, parser: inout JSONParser,
        builder: inout AudienceSnapshotReader.RowBuilder
    ) throws(JSONSyntaxError) {
        switch slot {
        case .ignored:
            try parser.skipValue()
        case .email where parser.current == UInt8(ascii: "\""):
            let start = parser.index
            let raw = try parser.rawString()
            if raw.escaped {
                parser.index = start
                builder.email = .text(try parser.string())
                builder.normalizedEmail = nil
            } else {
                builder.email = nil
                builder.normalizedEmail = EmailAddress.normalize(bytes: raw.bytes)
            }
        case .audienceList where parser.current == UInt8(ascii: "["):
            parser.index += 1
            parser.skipSpace()
            if parser.current == UInt8(ascii: "]") {
                parser.index += 1
                return
            }
            while true {
                parser.skipSpace()
                if parser.current == UInt8(ascii: "\"") {
                    let start = parser.index
                    let raw = try parser.rawString()
                    if raw.escaped {
                        parser.index = start
                        builder.list(name: try parser.string())
                    } else {
                        builder.list(name: raw.bytes)
                    }
                } else {
                    try parser.skipValue()
                    builder.listUnsupported = true
                }
                parser.skipSpace()
                if parser.current == UInt8(ascii: ",") {
                    parser.index += 1
                } else if parser.current == UInt8(ascii: "]") {
                    parser.index += 1
                    return
                } else {
                    throw parser.failure(
                        parser.index < parser.bytes.count ? "expected ',' or ']'" : "unexpected end of line")
                }
            }
        default:
            builder.set(slot, reader.sourceValue(try parser.value()))
        }
    }
}
