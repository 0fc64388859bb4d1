/// How the bytes of an input file are read.
///
/// `utf8` is strict: a row holding a byte sequence that is not UTF-8 is rejected with the byte offset of
/// the first bad byte. The other two never fail: every byte maps to one Unicode scalar and is transcoded
/// to UTF-8 with the tables below (Foundation on Linux does not decode Windows-1252 reliably).
public enum TextEncoding: String, Sendable, CaseIterable {
    case utf8 = "utf-8"
    case windows1252 = "windows-1252"
    case latin1 = "latin-1"

    /// Accepts the configuration spellings, case-insensitively: `utf-8`/`utf8`, `windows-1252`/`cp1252`,
    /// `latin-1`/`latin1`/`iso-8859-1`.
    public init?(name: String) {
        switch name.lowercased() {
        case "utf-8", "utf8": self = .utf8
        case "windows-1252", "cp1252", "windows1252": self = .windows1252
        case "latin-1", "latin1", "iso-8859-1", "iso8859-1": self = .latin1
        default: return nil
        }
    }

    /// The Unicode scalar of a byte 0x80…0x9F in Windows-1252, as the WHATWG Encoding Standard defines it
    /// (the five unassigned bytes 0x81, 0x8D, 0x8F, 0x90, 0x9D map to the C1 control of the same value).
    static let windows1252High: [UInt16] = [
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
        0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
        0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
        0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
    ]

    /// For each byte 0x80…0xFF, its UTF-8 encoding in this single-byte encoding: up to 3 bytes, packed
    /// little-endian in the low 24 bits, with the length in the top byte.
    static func transcodingTable(for encoding: TextEncoding) -> [UInt32] {
        (0x80...0xFF).map { byte -> UInt32 in
            let scalar: UInt32 =
                encoding == .windows1252 && byte < 0xA0 ? UInt32(windows1252High[byte - 0x80]) : UInt32(byte)
            if scalar < 0x800 {
                return 2 << 24 | (0x80 | scalar & 0x3F) << 8 | (0xC0 | scalar >> 6)
            }
            return 3 << 24 | (0x80 | scalar & 0x3F) << 16 | (0x80 | (scalar >> 6) & 0x3F) << 8 | (0xE0 | scalar >> 12)
        }
    }
}

/// UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
enum UTF8Validation {
    /// The index of the first byte that does not belong to a valid UTF-8 sequence, or nil when all are valid.
    static func firstInvalidByte(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let count = bytes.count
        var index = 0
        // ASCII fast path, eight bytes at a time.
        while index < count {
            while index + 8 <= count,
                (base + index).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0
            {
                index += 8
            }
            if index >= count { break }
            let lead = base.load(fromByteOffset: index, as: UInt8.self)
            if lead < 0x80 {
                index += 1
                continue
            }
            let length: Int
            var lower: UInt8 = 0x80
            var upper: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0:
                length = 3
                lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED:
                length = 3
                upper = 0x9F
            case 0xF0:
                length = 4
                lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4:
                length = 4
                upper = 0x8F
            default: return index
            }
            guard index + length <= count else { return index }
            let second = base.load(fromByteOffset: index + 1, as: UInt8.self)
            guard second >= lower && second <= upper else { return index }
            for offset in 2..<length {
                let byte = base.load(fromByteOffset: index + offset, as: UInt8.self)
                guard byte & 0xC0 == 0x80 else { return index }
            }
            index += length
        }
        return nil
    }
}
