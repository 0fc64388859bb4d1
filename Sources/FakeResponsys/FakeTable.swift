/// The rows of one fake profile list or extension table, in the order they were inserted, with an index on
/// each key column so that finding a member costs the same in a list of 200,000 as in a list of 20. (A
/// linear search made a 20,000-member load take minutes against the fake, which no real list does.)
///
/// Key columns compare as Responsys matches them: `EMAIL_ADDRESS_…` without regard to case, others exactly.
/// Other columns are searched row by row.
struct FakeTable {
    static let indexedColumns: Set<String> = ["RIID_", "EMAIL_ADDRESS_", "CUSTOMER_ID_", "MOBILE_NUMBER_"]

    /// Rows by a stable id that grows with each insert, so "the first match" is the smallest id.
    private var rows: [Int: [String: String]] = [:]
    private var nextID = 0
    /// Column → key → ids of the rows holding that key.
    private var indexes: [String: [String: Set<Int>]] = [:]

    var count: Int { rows.count }

    /// Every row, in insertion order (for `/_fake/state`).
    var all: [[String: String]] { rows.keys.sorted().map { rows[$0]! } }

    subscript(id: Int) -> [String: String] { rows[id] ?? [:] }

    static func key(_ value: String, column: String) -> String {
        column.hasPrefix("EMAIL_ADDRESS") ? value.lowercased() : value
    }

    /// Ids of the rows whose `column` matches `value`, oldest first.
    func ids(column: String, value: String) -> [Int] {
        let key = Self.key(value, column: column)
        if Self.indexedColumns.contains(column) {
            return (indexes[column]?[key] ?? []).sorted()
        }
        return rows.keys.sorted().filter { id in rows[id]?[column].map { Self.key($0, column: column) } == key }
    }

    /// The oldest row whose `column` matches `value`.
    func firstID(column: String, value: String) -> Int? {
        if Self.indexedColumns.contains(column) {
            return indexes[column]?[Self.key(value, column: column)]?.min()
        }
        return ids(column: column, value: value).first
    }

    @discardableResult
    mutating func insert(_ row: [String: String]) -> Int {
        let id = nextID
        nextID += 1
        rows[id] = row
        index(row, id: id, adding: true)
        return id
    }

    /// Sets `fields` on row `id`, keeping the indexes right when a key column changes.
    mutating func update(_ id: Int, with fields: [String: String]) {
        guard let old = rows[id] else { return }
        index(old, id: id, adding: false)
        let new = old.merging(fields) { _, given in given }
        rows[id] = new
        index(new, id: id, adding: true)
    }

    mutating func remove(_ id: Int) {
        guard let old = rows.removeValue(forKey: id) else { return }
        index(old, id: id, adding: false)
    }

    private mutating func index(_ row: [String: String], id: Int, adding: Bool) {
        for column in Self.indexedColumns {
            guard let value = row[column] else { continue }
            let key = Self.key(value, column: column)
            if adding {
                indexes[column, default: [:]][key, default: []].insert(id)
            } else {
                indexes[column]?[key]?.remove(id)
                if indexes[column]?[key]?.isEmpty == true { indexes[column]?[key] = nil }
            }
        }
    }
}
