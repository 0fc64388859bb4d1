/// The byte-level half of the TOML reader: whitespace, comments, keys, strings and scalar values.
/// It tracks the current line so every error and every value carries one.
struct TOMLLexer {
    let bytes: [UInt8]
    let file: String
    private(set) var index = 0
    private(set) var line = 1

    init(text: String, file: String) {
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        self.bytes = bytes
        self.file = file
    }

    var atEnd: Bool { index >= bytes.count }
    var current: UInt8? { index < bytes.count ? bytes[index] : nil }
    func peek(_ offset: Int) -> UInt8? { index + offset < bytes.count ? bytes[index + offset] : nil }

    mutating func advance() {
        if bytes[index] == UInt8(ascii: "\n") { line += 1 }
        index += 1
    }

    func error(_ code: ConfigError.Code, _ message: String, line: Int? = nil, remedy: String? = nil) -> ConfigError {
        ConfigError(code, file: file, line: line ?? self.line, key: nil, message: message, remedy: remedy)
    }

    // MARK: Whitespace, comments and line ends

    mutating func skipSpaces() {
        while let byte = current, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { index += 1 }
    }

    /// Skips a comment up to (not including) the end of its line.
    mutating func skipComment() throws {
        guard current == UInt8(ascii: "#") else { return }
        while let byte = current, byte != UInt8(ascii: "\n") {
            if byte == UInt8(ascii: "\r") && peek(1) == UInt8(ascii: "\n") { break }
            if isControl(byte) { throw error(.syntax, "control character in a comment") }
            index += 1
        }
    }

    /// Skips spaces, newlines and comments: the filler between statements and between array elements.
    mutating func skipBlankLines() throws {
        while let byte = current {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"): advance()
            case UInt8(ascii: "\r") where peek(1) == UInt8(ascii: "\n"): advance()
            case UInt8(ascii: "#"): try skipComment()
            default: return
            }
        }
    }

    /// After a statement: spaces, an optional comment, then a newline or the end of the text.
    mutating func expectLineEnd() throws {
        skipSpaces()
        try skipComment()
        if atEnd { return }
        if current == UInt8(ascii: "\r") && peek(1) == UInt8(ascii: "\n") { advance() }
        guard current == UInt8(ascii: "\n") else {
            throw error(.syntax, "found \(describe(current)) after the value; expected the end of the line")
        }
        advance()
    }

    // MARK: Keys

    /// A dotted key: `a`, `a.b`, `"quoted key".c`, with optional spaces around the dots.
    mutating func dottedKey() throws -> [String] {
        var parts = [try simpleKey()]
        while true {
            let save = index
            skipSpaces()
            guard current == UInt8(ascii: ".") else {
                index = save
                return parts
            }
            index += 1
            skipSpaces()
            parts.append(try simpleKey())
        }
    }

    mutating func simpleKey() throws -> String {
        switch current {
        case UInt8(ascii: "\""):
            if peek(1) == UInt8(ascii: "\"") && peek(2) == UInt8(ascii: "\"") {
                throw error(.syntax, "a key cannot be a multi-line string")
            }
            return try basicString()
        case UInt8(ascii: "'"):
            if peek(1) == UInt8(ascii: "'") && peek(2) == UInt8(ascii: "'") {
                throw error(.syntax, "a key cannot be a multi-line string")
            }
            return try literalString()
        default:
            let start = index
            while let byte = current, isBareKeyByte(byte) { index += 1 }
            guard index > start else { throw error(.syntax, "expected a key, found \(describe(current))") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
    }

    // MARK: Strings

    /// A basic string `"…"` with the escapes \b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX.
    mutating func basicString() throws -> String {
        index += 1
        var result: [UInt8] = []
        while true {
            guard let byte = current, byte != UInt8(ascii: "\n"), byte != UInt8(ascii: "\r") else {
                throw error(.syntax, "unterminated string: a basic string must close on the line it opens")
            }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: result, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try escape(into: &result)
            default:
                if isControl(byte) { throw error(.syntax, "control character in a string; write it as an escape") }
                result.append(byte)
            }
        }
    }

    private mutating func escape(into result: inout [UInt8]) throws {
        guard let byte = current else { throw error(.syntax, "unterminated string") }
        index += 1
        let simple: [UInt8: UInt8] = [
            UInt8(ascii: "b"): 0x08, UInt8(ascii: "t"): 0x09, UInt8(ascii: "n"): 0x0A, UInt8(ascii: "f"): 0x0C,
            UInt8(ascii: "r"): 0x0D, UInt8(ascii: "\""): 0x22, UInt8(ascii: "\\"): 0x5C,
        ]
        if let replacement = simple[byte] {
            result.append(replacement)
            return
        }
        let digits: Int
        switch byte {
        case UInt8(ascii: "u"): digits = 4
        case UInt8(ascii: "U"): digits = 8
        default:
            throw error(
                .syntax, "invalid escape in a string (use \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX or \\UXXXXXXXX)")
        }
        var scalarValue: UInt32 = 0
        for _ in 0..<digits {
            guard let digit = current.flatMap(hexValue) else {
                throw error(.syntax, "'\\\(digits == 4 ? "u" : "U")' needs \(digits) hexadecimal digits")
            }
            scalarValue = scalarValue << 4 | UInt32(digit)
            index += 1
        }
        guard let scalar = Unicode.Scalar(scalarValue) else {
            throw error(.syntax, "a '\\\(digits == 4 ? "u" : "U")' escape is not a Unicode scalar value")
        }
        result.append(contentsOf: Array(String(Character(scalar)).utf8))
    }

    /// A literal string `'…'`: no escapes.
    mutating func literalString() throws -> String {
        index += 1
        let start = index
        while true {
            guard let byte = current, byte != UInt8(ascii: "\n"), byte != UInt8(ascii: "\r") else {
                throw error(.syntax, "unterminated literal string: it must close on the line it opens")
            }
            if byte == UInt8(ascii: "'") { break }
            if isControl(byte) { throw error(.syntax, "control character in a literal string") }
            index += 1
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        index += 1
        return text
    }

    // MARK: Bare values: booleans and numbers

    /// The text of a bare value (boolean, number, or an unsupported date), up to a delimiter.
    mutating func bareToken() -> String {
        let start = index
        while let byte = current, !isValueDelimiter(byte) { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    // MARK: Byte classes

    func isControl(_ byte: UInt8) -> Bool { (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7F }

    func isBareKeyByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: "-")
    }

    func isValueDelimiter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: ","),
            UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: "#"):
            true
        default: false
        }
    }

    private func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// A byte for a message: punctuation quoted as itself, anything else by its class. Letters, digits and
    /// other bytes are never shown: the text around them may be an unquoted secret.
    func describe(_ byte: UInt8?) -> String {
        guard let byte else { return "end of file" }
        switch byte {
        case UInt8(ascii: "\n"), UInt8(ascii: "\r"): return "end of line"
        case UInt8(ascii: " "), UInt8(ascii: "\t"): return "a space"
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): return "a letter"
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return "a digit"
        case 0x21..<0x7F: return "'" + String(UnicodeScalar(byte)) + "'"
        default: return "a control or non-ASCII byte"
        }
    }
}
