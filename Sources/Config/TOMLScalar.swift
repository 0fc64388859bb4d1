/// Reads a bare TOML token as a boolean, an integer or a float, and refuses the forms this reader
/// does not support (dates and times, hexadecimal/octal/binary integers, inf and nan) by name.
/// Messages never quote the token: an unquoted secret (`password = Sup3r!`) lands here.
enum TOMLScalar {
    /// What is wrong with a token, for the caller to turn into an error with a line.
    enum Failure: Error {
        case unsupported(String)
        case invalid(String)
    }

    static func read(_ token: String) throws(Failure) -> TOMLValue.Kind {
        if token == "true" { return .boolean(true) }
        if token == "false" { return .boolean(false) }
        if token.isEmpty { throw .invalid("expected a value") }
        let bytes = Array(token.utf8)
        if looksLikeDateOrTime(bytes) {
            throw .unsupported("dates and times are not supported; write the value as a quoted string")
        }
        let unsigned =
            bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") ? bytes.dropFirst() : bytes[...]
        if unsigned.elementsEqual("inf".utf8) || unsigned.elementsEqual("nan".utf8) {
            throw .unsupported("inf and nan are not supported; only finite numbers are")
        }
        if unsigned.starts(with: "0x".utf8) || unsigned.starts(with: "0o".utf8) || unsigned.starts(with: "0b".utf8) {
            throw .unsupported("only decimal integers are supported (no 0x, 0o or 0b)")
        }
        guard let first = unsigned.first, isDigit(first) else {
            throw .invalid("the value is not a TOML value (strings need quotes)")
        }
        if bytes.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            return .float(try float(bytes))
        }
        return .integer(try integer(bytes))
    }

    private static func integer(_ bytes: [UInt8]) throws(Failure) -> Int64 {
        var position = 0
        let negative = bytes.first == UInt8(ascii: "-")
        if negative || bytes.first == UInt8(ascii: "+") { position = 1 }
        let digits = try digitRun(bytes, &position)
        guard position == bytes.count else { throw .invalid("the value is not a number") }
        if digits.count > 1 && digits.first == UInt8(ascii: "0") {
            throw .invalid("leading zeros are not allowed in a number")
        }
        guard let value = Int64((negative ? "-" : "") + String(decoding: digits, as: UTF8.self)) else {
            throw .invalid("the number does not fit in a 64-bit integer")
        }
        return value
    }

    private static func float(_ bytes: [UInt8]) throws(Failure) -> Double {
        var position = 0
        var text = ""
        if bytes.first == UInt8(ascii: "-") || bytes.first == UInt8(ascii: "+") {
            text.append(Character(UnicodeScalar(bytes[0])))
            position = 1
        }
        let whole = try digitRun(bytes, &position)
        if whole.count > 1 && whole.first == UInt8(ascii: "0") {
            throw .invalid("leading zeros are not allowed in a number")
        }
        text += String(decoding: whole, as: UTF8.self)
        if position < bytes.count && bytes[position] == UInt8(ascii: ".") {
            position += 1
            text += "." + String(decoding: try digitRun(bytes, &position), as: UTF8.self)
        }
        if position < bytes.count && (bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E")) {
            position += 1
            text += "e"
            if position < bytes.count && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-"))
            {
                text.append(Character(UnicodeScalar(bytes[position])))
                position += 1
            }
            text += String(decoding: try digitRun(bytes, &position), as: UTF8.self)
        }
        guard position == bytes.count, let value = Double(text), value.isFinite else {
            throw .invalid("the value is not a number")
        }
        return value
    }

    /// Digits with single underscores between them; at least one digit.
    private static func digitRun(_ bytes: [UInt8], _ position: inout Int) throws(Failure) -> [UInt8] {
        var digits: [UInt8] = []
        var lastWasDigit = false
        while position < bytes.count {
            let byte = bytes[position]
            if isDigit(byte) {
                digits.append(byte)
                lastWasDigit = true
            } else if byte == UInt8(ascii: "_") {
                guard lastWasDigit, position + 1 < bytes.count, isDigit(bytes[position + 1]) else {
                    throw .invalid("an underscore in a number must sit between two digits")
                }
                lastWasDigit = false
            } else {
                break
            }
            position += 1
        }
        guard !digits.isEmpty else { throw .invalid("the value is not a number") }
        return digits
    }

    /// `1979-05-27`, `07:32:00` and their combinations.
    private static func looksLikeDateOrTime(_ bytes: [UInt8]) -> Bool {
        let isDate =
            bytes.count >= 10 && bytes[0..<4].allSatisfy(isDigit) && bytes[4] == UInt8(ascii: "-")
            && bytes[5..<7].allSatisfy(isDigit) && bytes[7] == UInt8(ascii: "-")
        let isTime = bytes.count >= 5 && bytes[0..<2].allSatisfy(isDigit) && bytes[2] == UInt8(ascii: ":")
        return isDate || isTime
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
