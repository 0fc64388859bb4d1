/// Email normalization for audience snapshots: trimmed, lower-cased, and checked enough that Responsys
/// will not reject it for its shape. Not a full RFC 5322 parser: quoted local parts, comments and
/// non-ASCII addresses are refused (Responsys' `EMAIL_ADDRESS_` rejects them too).
enum EmailAddress {
    /// The normalized address, or the reason it is refused.
    static func normalize(_ raw: String) -> Result<String, InvalidEmail> {
        var raw = raw
        return raw.withUTF8 { normalize(bytes: UnsafeRawBufferPointer($0)) }
    }

    struct InvalidEmail: Error, Equatable {
        var reason: String
    }

    static func normalize(bytes: UnsafeRawBufferPointer) -> Result<String, InvalidEmail> {
        var start = 0
        var end = bytes.count
        while start < end && isSpace(bytes[start]) { start += 1 }
        while end > start && isSpace(bytes[end - 1]) { end -= 1 }
        let count = end - start
        if count == 0 { return .failure(InvalidEmail(reason: "the email is empty")) }
        if count > 254 { return .failure(InvalidEmail(reason: "the email is longer than 254 characters")) }

        var normalized = [UInt8](repeating: 0, count: count)
        var at = -1
        for offset in 0..<count {
            var byte = bytes[start + offset]
            if byte >= 0x80 { return .failure(InvalidEmail(reason: "the email holds a non-ASCII character")) }
            if byte <= 0x20 || byte == 0x7F {
                return .failure(InvalidEmail(reason: "the email holds a space or a control character"))
            }
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: ","),
                UInt8(ascii: ":"), UInt8(ascii: ";"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "["),
                UInt8(ascii: "]"):
                return .failure(InvalidEmail(reason: "the email holds a character not allowed in an address"))
            case UInt8(ascii: "@"):
                if at >= 0 { return .failure(InvalidEmail(reason: "the email holds more than one @")) }
                at = offset
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                byte += 32
            default: break
            }
            normalized[offset] = byte
        }
        guard at > 0 else {
            return .failure(InvalidEmail(reason: at < 0 ? "the email has no @" : "the email has nothing before the @"))
        }
        if at > 64 { return .failure(InvalidEmail(reason: "the part before the @ is longer than 64 characters")) }
        let domain = normalized[(at + 1)...]
        guard !domain.isEmpty else { return .failure(InvalidEmail(reason: "the email has no domain after the @")) }
        guard domain.contains(UInt8(ascii: ".")), domain.first != UInt8(ascii: "."), domain.last != UInt8(ascii: ".")
        else { return .failure(InvalidEmail(reason: "the domain after the @ is not a domain name")) }
        for index in normalized.indices.dropFirst()
        where normalized[index] == UInt8(ascii: ".") && normalized[index - 1] == UInt8(ascii: ".") {
            return .failure(InvalidEmail(reason: "the email holds two dots in a row"))
        }
        if normalized[0] == UInt8(ascii: ".") || normalized[at - 1] == UInt8(ascii: ".") {
            return .failure(InvalidEmail(reason: "the part before the @ starts or ends with a dot"))
        }
        return .success(String(decoding: normalized, as: UTF8.self))
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0B || byte == 0x0C
    }
}
