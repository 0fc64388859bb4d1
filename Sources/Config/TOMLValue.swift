/// A value read from a TOML document, with the 1-based line it starts on so errors can point at it.
public struct TOMLValue: Sendable, Equatable {
    /// The kinds of value this reader supports (dates and times are refused by the parser).
    public enum Kind: Sendable, Equatable {
        case string(String)
        case integer(Int64)
        case float(Double)
        case boolean(Bool)
        case array([TOMLValue])
        case table(TOMLTable)
    }

    public var kind: Kind
    /// The line where the value starts (for a table: its header, or the first key that created it).
    public var line: Int

    public init(_ kind: Kind, line: Int) {
        self.kind = kind
        self.line = line
    }

    /// The kind with its article, for messages: "a string", "an integer", "a table"…
    public var typeDescription: String {
        switch kind {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .boolean: "a boolean"
        case .array: "an array"
        case .table: "a table"
        }
    }

    public var string: String? { if case .string(let value) = kind { value } else { nil } }
    public var integer: Int64? { if case .integer(let value) = kind { value } else { nil } }
    public var boolean: Bool? { if case .boolean(let value) = kind { value } else { nil } }
    public var array: [TOMLValue]? { if case .array(let value) = kind { value } else { nil } }
    public var table: TOMLTable? { if case .table(let value) = kind { value } else { nil } }

    /// A float, or an integer read as a float (so `ratio = 1` works where `1.0` is meant).
    public var number: Double? {
        switch kind {
        case .float(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }
}

/// A TOML table: its keys in document order, and their values.
public struct TOMLTable: Sendable, Equatable {
    /// The keys in the order they first appeared.
    public var keys: [String]
    public var entries: [String: TOMLValue]
    /// The line of the table's header or of the key that created it (1 for the root table).
    public var line: Int

    public init(keys: [String] = [], entries: [String: TOMLValue] = [:], line: Int) {
        self.keys = keys
        self.entries = entries
        self.line = line
    }

    public subscript(key: String) -> TOMLValue? { entries[key] }
}
