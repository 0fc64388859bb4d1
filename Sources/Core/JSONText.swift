/// Minimal JSON string quoting, shared by the logger and every writer of JSON text.
public enum JSONText {
    /// `value` as a JSON string literal, quotes included. Control characters are escaped; with
    /// `asciiOnly`, every non-ASCII scalar is written as `\uXXXX` (surrogate pairs above U+FFFF), as
    /// Responsys requires for `optionalData`.
    public static func quote(_ value: String, asciiOnly: Bool = false) -> String {
        var out = "\""
        out.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += escaped(UInt16(scalar.value))
                } else if asciiOnly && scalar.value > 0x7E {
                    for unit in String(scalar).utf16 { out += escaped(unit) }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static let hexDigits = Array("0123456789abcdef")

    private static func escaped(_ unit: UInt16) -> String {
        var text = "\\u"
        for shift in stride(from: 12, through: 0, by: -4) {
            text.append(hexDigits[Int((unit >> UInt16(shift)) & 0xF)])
        }
        return text
    }
}
