/// A TOML reader for the subset the configuration uses: `[tables]`, dotted keys, inline tables, arrays
/// (multi-line, trailing comma), basic strings with escapes, literal strings, decimal integers and floats,
/// booleans and comments. Everything else (dates and times, multi-line strings, arrays of tables,
/// hexadecimal integers, inf/nan) is refused with an error naming the file and the line, as are duplicate
/// keys and tables defined twice. Every value keeps the line it starts on.
public struct TOMLParser {
    private var lexer: TOMLLexer
    private let root: TOMLTableBuilder
    private var currentTable: TOMLTableBuilder
    /// Dotted path of the current table, for messages.
    private var currentPath: [String] = []

    /// - Parameters:
    ///   - text: the document (a leading byte-order mark is skipped).
    ///   - file: the file name used in error messages.
    public init(text: String, file: String) {
        lexer = TOMLLexer(text: text, file: file)
        root = TOMLTableBuilder(origin: .header, line: 1)
        currentTable = root
    }

    /// Reads a whole document into its root table.
    /// - Throws: `ConfigError` with code `.syntax`, `.unsupported` or `.duplicateKey`, naming the line.
    public static func parse(text: String, file: String) throws(ConfigError) -> TOMLTable {
        var parser = TOMLParser(text: text, file: file)
        return try parser.parseDocument()
    }

    /// Reads the document into its root table (see `parse(text:file:)`).
    public mutating func parseDocument() throws(ConfigError) -> TOMLTable {
        do {
            while true {
                try lexer.skipBlankLines()
                guard let byte = lexer.current else { break }
                if byte == UInt8(ascii: "[") {
                    try tableHeader()
                } else {
                    try keyValue(into: currentTable, origin: currentPath)
                }
                try lexer.expectLineEnd()
            }
        } catch let error as ConfigError {
            throw error
        } catch {
            throw lexer.error(.syntax, "\(error)")
        }
        return root.build()
    }

    // MARK: Statements

    private mutating func tableHeader() throws {
        let line = lexer.line
        lexer.advance()
        if lexer.current == UInt8(ascii: "[") {
            throw lexer.error(
                .unsupported, "arrays of tables ([[…]]) are not supported",
                remedy: "use a table per item, e.g. [workflows.name]")
        }
        lexer.skipSpaces()
        let path = try lexer.dottedKey()
        lexer.skipSpaces()
        guard lexer.current == UInt8(ascii: "]") else {
            throw lexer.error(
                .syntax, "expected ']' to close the table header, found \(lexer.describe(lexer.current))")
        }
        lexer.advance()

        var table = root
        for (depth, part) in path.enumerated() {
            let isLast = depth == path.count - 1
            let dotted = path[0...depth].joined(separator: ".")
            switch table[part] {
            case nil:
                let created = TOMLTableBuilder(origin: isLast ? .header : .implicit, line: line)
                table.insert(part, .table(created))
                table = created
            case .table(let existing):
                if existing.origin == .inline {
                    throw lexer.error(
                        .duplicateKey,
                        "table '\(dotted)' was written inline on line \(existing.line) and cannot be extended")
                }
                if isLast {
                    guard existing.origin == .implicit else {
                        throw lexer.error(
                            .duplicateKey, "table '\(dotted)' is already defined on line \(existing.line)")
                    }
                    existing.origin = .header
                    existing.line = line
                }
                table = existing
            case .value(let value):
                throw lexer.error(
                    .duplicateKey, "key '\(dotted)' already holds a value (line \(value.line)), not a table")
            }
        }
        currentTable = table
        currentPath = path
    }

    /// `key = value`, where key may be dotted; the value goes into `table` (or tables below it).
    private mutating func keyValue(into table: TOMLTableBuilder, origin path: [String]) throws {
        let line = lexer.line
        let key = try lexer.dottedKey()
        lexer.skipSpaces()
        guard lexer.current == UInt8(ascii: "=") else {
            // The "key" is not quoted back: a line with no '=' may be a secret pasted on a line of its own.
            throw lexer.error(.syntax, "expected '=' after the key: each line must be `key = value`")
        }
        lexer.advance()
        lexer.skipSpaces()
        let value: TOMLTableBuilder.Entry
        do {
            value = try parseValue()
        } catch var error as ConfigError where error.problems[0].key == nil {
            // Name the key, never the value: an unquoted secret is exactly what fails to parse here.
            error.problems[0].key = (path + key).joined(separator: ".")
            throw error
        }

        var target = table
        for (depth, part) in key.dropLast().enumerated() {
            let dotted = (path + key[0...depth]).joined(separator: ".")
            switch target[part] {
            case nil:
                let created = TOMLTableBuilder(origin: .dottedKey, line: line)
                target.insert(part, .table(created))
                target = created
            case .table(let existing) where existing.origin == .dottedKey || existing.origin == .implicit:
                target = existing
            case .some(let entry):
                throw lexer.error(.duplicateKey, "key '\(dotted)' is already defined on line \(entry.line)", line: line)
            }
        }
        let last = key[key.count - 1]
        if let existing = target[last] {
            let dotted = (path + key).joined(separator: ".")
            throw lexer.error(.duplicateKey, "key '\(dotted)' is already defined on line \(existing.line)", line: line)
        }
        if case .table(let inline) = value {
            target.insert(last, .table(inline))
        } else if case .value(let plain) = value {
            target.insert(last, .value(plain))
        }
    }

    // MARK: Values

    private mutating func parseValue() throws -> TOMLTableBuilder.Entry {
        let line = lexer.line
        switch lexer.current {
        case UInt8(ascii: "\""):
            if lexer.peek(1) == UInt8(ascii: "\"") && lexer.peek(2) == UInt8(ascii: "\"") {
                throw lexer.error(.unsupported, "multi-line strings (\"\"\") are not supported")
            }
            return .value(TOMLValue(.string(try lexer.basicString()), line: line))
        case UInt8(ascii: "'"):
            if lexer.peek(1) == UInt8(ascii: "'") && lexer.peek(2) == UInt8(ascii: "'") {
                throw lexer.error(.unsupported, "multi-line literal strings (''') are not supported")
            }
            return .value(TOMLValue(.string(try lexer.literalString()), line: line))
        case UInt8(ascii: "["):
            return .value(try array())
        case UInt8(ascii: "{"):
            return .table(try inlineTable())
        case nil, UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "#"):
            throw lexer.error(.syntax, "expected a value after '='")
        default:
            let token = lexer.bareToken()
            do {
                return .value(TOMLValue(try TOMLScalar.read(token), line: line))
            } catch .unsupported(let message) {
                throw lexer.error(.unsupported, message, line: line)
            } catch .invalid(let message) {
                throw lexer.error(.syntax, message, line: line)
            }
        }
    }

    /// `[ v, v, … ]` over several lines if need be, comments allowed, a trailing comma allowed.
    private mutating func array() throws -> TOMLValue {
        let line = lexer.line
        lexer.advance()
        var elements: [TOMLValue] = []
        while true {
            try lexer.skipBlankLines()
            if lexer.current == UInt8(ascii: "]") { break }
            if lexer.atEnd { throw lexer.error(.syntax, "unterminated array opened on line \(line)") }
            switch try parseValue() {
            case .value(let value): elements.append(value)
            case .table(let table): elements.append(TOMLValue(.table(table.build()), line: table.line))
            }
            try lexer.skipBlankLines()
            if lexer.current == UInt8(ascii: ",") {
                lexer.advance()
            } else if lexer.current != UInt8(ascii: "]") {
                throw lexer.error(
                    .syntax,
                    "expected ',' or ']' in the array opened on line \(line), found \(lexer.describe(lexer.current))")
            }
        }
        lexer.advance()
        return TOMLValue(.array(elements), line: line)
    }

    /// `{ k = v, a.b = v }` on one line, without a trailing comma.
    private mutating func inlineTable() throws -> TOMLTableBuilder {
        let table = TOMLTableBuilder(origin: .inline, line: lexer.line)
        lexer.advance()
        lexer.skipSpaces()
        if lexer.current == UInt8(ascii: "}") {
            lexer.advance()
            return table
        }
        while true {
            lexer.skipSpaces()
            if lexer.current == UInt8(ascii: "}") {
                throw lexer.error(.syntax, "trailing comma in an inline table")
            }
            if lexer.current == UInt8(ascii: "\n") || lexer.current == UInt8(ascii: "\r") || lexer.atEnd {
                throw lexer.error(.syntax, "an inline table must close on the line it opens (use a [table] instead)")
            }
            try keyValue(into: table, origin: [])
            lexer.skipSpaces()
            if lexer.current == UInt8(ascii: ",") {
                lexer.advance()
            } else if lexer.current == UInt8(ascii: "}") {
                lexer.advance()
                return table
            } else {
                throw lexer.error(
                    .syntax, "expected ',' or '}' in the inline table, found \(lexer.describe(lexer.current))")
            }
        }
    }
}
