/// The header row of a CSV file: its column names, made unique.
///
/// An empty name becomes `column_<position>`, and a name already used by an earlier column becomes
/// `<name>_<position>` (positions are 1-based), so `email,,email` reads as `email, column_2, email_3`.
/// If that new name is itself taken, `_2`, `_3`… are appended until it is free. Every rename is
/// listed in `renames`, so the caller can report it.
public struct CSVHeader: Sendable, Equatable {
    /// A column whose name was changed to make it usable.
    public struct Rename: Sendable, Equatable, CustomStringConvertible {
        /// 1-based column position.
        public var position: Int
        public var original: String
        public var name: String

        public var description: String {
            "column \(position) \(original.isEmpty ? "(empty name)" : "\"\(original)\"") renamed to \"\(name)\""
        }
    }

    /// The names as they appear in the file, spaces around them removed.
    public let originalNames: [String]
    /// The unique names, one per column.
    public let names: [String]
    public let renames: [Rename]

    public init(_ originalNames: [String]) {
        self.originalNames = originalNames.map(CSVHeader.trimmed)
        (names, renames) = CSVHeader.uniqueNames(self.originalNames)
    }

    public var count: Int { names.count }

    /// The position (0-based) of a column, by its unique name.
    public func index(of name: String) -> Int? { names.firstIndex(of: name) }

    /// Makes `names` unique with the rule above; used for the header and again after names are normalized.
    /// Names in `reserved` count as already taken (keys the caller adds itself).
    public static func uniqueNames(_ names: [String], reserved: Set<String> = []) -> (
        names: [String], renames: [Rename]
    ) {
        var used = reserved
        var result: [String] = []
        var renames: [Rename] = []
        result.reserveCapacity(names.count)
        for (offset, name) in names.enumerated() {
            let position = offset + 1
            var unique = name
            if name.isEmpty {
                unique = "column_\(position)"
            } else if used.contains(name) {
                // Taken by an earlier column or reserved.
                unique = "\(name)_\(position)"
            }
            var suffix = 2
            let base = unique
            while used.contains(unique) || (unique != name && names.contains(unique)) {
                unique = "\(base)_\(suffix)"
                suffix += 1
            }
            used.insert(unique)
            result.append(unique)
            if unique != name { renames.append(Rename(position: position, original: name, name: unique)) }
        }
        return (result, renames)
    }

    static func trimmed(_ text: String) -> String {
        var slice = Substring(text)
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
