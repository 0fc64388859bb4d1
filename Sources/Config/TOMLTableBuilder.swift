/// A mutable table while a document is being read: it remembers how it was created, so the parser can
/// refuse what TOML forbids (a table defined twice, a key added to an inline table, a duplicate key).
final class TOMLTableBuilder {
    /// How a table came to exist.
    enum Origin {
        /// Created on the way to a deeper `[a.b.c]` header; may still get its own header later.
        case implicit
        /// Defined by its own `[header]`.
        case header
        /// Created by a dotted key `a.b = 1`.
        case dottedKey
        /// An inline table `{ … }`: complete as written.
        case inline
    }

    enum Entry {
        case table(TOMLTableBuilder)
        case value(TOMLValue)

        var line: Int {
            switch self {
            case .table(let table): table.line
            case .value(let value): value.line
            }
        }
    }

    var origin: Origin
    var line: Int
    private(set) var order: [String] = []
    private(set) var entries: [String: Entry] = [:]

    init(origin: Origin, line: Int) {
        self.origin = origin
        self.line = line
    }

    subscript(key: String) -> Entry? { entries[key] }

    func insert(_ key: String, _ entry: Entry) {
        if entries[key] == nil { order.append(key) }
        entries[key] = entry
    }

    /// The finished, immutable table.
    func build() -> TOMLTable {
        var built: [String: TOMLValue] = [:]
        for (key, entry) in entries {
            switch entry {
            case .table(let table): built[key] = TOMLValue(.table(table.build()), line: table.line)
            case .value(let value): built[key] = value
            }
        }
        return TOMLTable(keys: order, entries: built, line: line)
    }
}
