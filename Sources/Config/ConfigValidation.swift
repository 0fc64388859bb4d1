import Foundation

/// Collects the problems found while validating, so all of them are reported at once.
final class Diagnostics {
    let file: String
    /// The folder relative paths are resolved against.
    let folder: String
    private(set) var problems: [ConfigError.Problem] = []

    init(file: String, folder: String) {
        self.file = file
        self.folder = folder
    }

    func add(_ code: ConfigError.Code, line: Int, key: String, _ message: String, remedy: String? = nil) {
        problems.append(ConfigError.Problem(code, file: file, line: line, key: key, message: message, remedy: remedy))
    }

    /// Throws every problem found, in line order, if there is any.
    func throwIfAny() throws(ConfigError) {
        guard !problems.isEmpty else { return }
        throw ConfigError(
            problems: problems.enumerated().sorted {
                ($0.element.line ?? 0, $0.offset) < ($1.element.line ?? 0, $1.offset)
            }.map(\.element))
    }

    /// `path` made absolute: `~/…` against the home folder, a relative path against the config file's folder;
    /// `.` and `..` components removed.
    func resolve(_ path: String) -> String {
        let absolute: String
        if path.hasPrefix("/") {
            absolute = path
        } else if path == "~" || path.hasPrefix("~/") {
            absolute = NSHomeDirectory() + path.dropFirst()
        } else {
            absolute = (folder as NSString).appendingPathComponent(path)
        }
        return (absolute as NSString).standardizingPath
    }
}

/// Reads the keys of one table with their types, reporting wrong types, missing keys and bad values to
/// `Diagnostics` (a getter returns nil then), and at `finish()` every key that was never read.
final class TableReader {
    let table: TOMLTable
    /// The table's full dotted key ("" for the root).
    let path: String
    let diagnostics: Diagnostics
    private var read: Set<String> = []
    /// Every key name asked about, present or not: the candidates of "did you mean".
    private var known: Set<String> = []

    init(_ table: TOMLTable, path: String, diagnostics: Diagnostics) {
        self.table = table
        self.path = path
        self.diagnostics = diagnostics
    }

    var line: Int { table.line }

    func key(_ name: String) -> String { path.isEmpty ? name : path + "." + name }

    func has(_ name: String) -> Bool {
        known.insert(name)
        return table[name] != nil
    }

    /// The raw value, marked as read.
    func value(_ name: String) -> TOMLValue? {
        read.insert(name)
        known.insert(name)
        return table[name]
    }

    func problem(_ code: ConfigError.Code, _ name: String, _ message: String, remedy: String? = nil) {
        diagnostics.add(code, line: table[name]?.line ?? table.line, key: key(name), message, remedy: remedy)
    }

    func missing(_ name: String, _ what: String) {
        diagnostics.add(.missingKey, line: table.line, key: key(name), "is required: \(what)")
    }

    private func typed<T>(_ name: String, _ expected: String, _ extract: (TOMLValue) -> T?) -> T? {
        guard let value = value(name) else { return nil }
        if let result = extract(value) { return result }
        problem(.wrongType, name, "expected \(expected), found \(value.typeDescription)")
        return nil
    }

    // MARK: Scalars

    /// A string; an empty one is reported as invalid.
    func string(_ name: String) -> String? {
        guard let text = typed(name, "a string", \.string) else { return nil }
        if text.isEmpty {
            problem(.invalidValue, name, "must not be empty")
            return nil
        }
        return text
    }

    func requiredString(_ name: String, _ what: String) -> String? {
        if !has(name) { missing(name, what) }
        return string(name)
    }

    /// A local path from the config, made absolute against the config file's folder.
    func path(_ name: String) -> String? { string(name).map(diagnostics.resolve) }

    func requiredPath(_ name: String, _ what: String) -> String? {
        requiredString(name, what).map(diagnostics.resolve)
    }

    func bool(_ name: String) -> Bool? { typed(name, "a boolean (true or false)", \.boolean) }

    func integer(_ name: String, in range: ClosedRange<Int>) -> Int? {
        guard let number = typed(name, "an integer", \.integer) else { return nil }
        guard let value = Int(exactly: number), range.contains(value) else {
            problem(.invalidValue, name, "must be between \(range.lowerBound) and \(range.upperBound), found \(number)")
            return nil
        }
        return value
    }

    /// A number between 0 and 1 (an integer 0 or 1 is accepted too).
    func ratio(_ name: String) -> Double? {
        guard let number = typed(name, "a number between 0 and 1", \.number) else { return nil }
        guard (0...1).contains(number) else {
            problem(.invalidValue, name, "must be between 0 and 1, found \(number)")
            return nil
        }
        return number
    }

    /// One of the raw values of `E` (the value is quoted in the message: choice keys hold no secret).
    func choice<E: RawRepresentable & CaseIterable>(_ name: String, _: E.Type) -> E? where E.RawValue == String {
        guard let text = typed(name, "a string", \.string) else { return nil }
        if let result = E(rawValue: text) { return result }
        let allowed = E.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        problem(.invalidValue, name, "'\(text)' is not one of \(allowed)")
        return nil
    }

    func stringArray(_ name: String) -> [String]? {
        guard let elements = typed(name, "an array of strings", \.array) else { return nil }
        var strings: [String] = []
        for (position, element) in elements.enumerated() {
            guard let text = element.string else {
                diagnostics.add(
                    .wrongType, line: element.line, key: key(name) + "[\(position)]",
                    "expected a string, found \(element.typeDescription)")
                return nil
            }
            strings.append(text)
        }
        return strings
    }

    func subtable(_ name: String) -> TableReader? {
        guard let table = typed(name, "a table", \.table) else { return nil }
        return TableReader(table, path: key(name), diagnostics: diagnostics)
    }

    // MARK: Secrets

    /// A secret given as `NAME_env` or `NAME_file` (exactly one). `NAME` itself, inline, is reported by
    /// `finish()`.
    func secret(_ name: String, required: Bool) -> SecretRef? {
        let environment = string(name + "_env")
        let file = path(name + "_file")
        if let environment, !Self.isEnvironmentName(environment) {
            // Not quoted: a user who wrote the secret itself here must not see it echoed.
            problem(
                .invalidValue, name + "_env", "is not an environment variable name (letters, digits and '_')",
                remedy: "\(name)_env names the variable that holds the secret, not the secret itself")
            return nil
        }
        switch (environment, file) {
        case (let variable?, nil):
            return .environment(variable)
        case (nil, let file?):
            return .file(file)
        case (.some, .some):
            problem(.conflictingKeys, name + "_file", "give either \(name)_env or \(name)_file, not both")
            return nil
        case (nil, nil):
            if required && !has(name) && !has(name + "_env") && !has(name + "_file") {
                missing(name + "_env", "set \(name)_env (an environment variable) or \(name)_file (a file)")
            }
            return nil
        }
    }

    static func isEnvironmentName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_")
        }
    }

    // MARK: Finishing

    /// Reports every key that was not read: as an inline secret when its name says it holds one (without
    /// its value), as unknown otherwise.
    func finish() {
        for name in table.keys where !read.contains(name) {
            if SecretNames.looksSecret(name) {
                problem(
                    .inlineSecret, name, "secrets are not allowed in the config file",
                    remedy: "use \(name)_env (an environment variable) or \(name)_file (a file) instead")
            } else {
                problem(.unknownKey, name, "unknown key", remedy: Self.suggestion(name, among: known))
            }
        }
    }

    /// "did you mean …" for a misspelt key, when a known key is close.
    private static func suggestion(_ name: String, among known: Set<String>) -> String? {
        let close = known.filter { !SecretNames.looksSecret($0) && editDistance($0, name) <= 2 }.sorted()
        return close.first.map { "did you mean '\($0)'?" }
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8)
        let b = Array(b.utf8)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }
}

/// Key names that hold a secret when written inline.
enum SecretNames {
    static let words = ["password", "passphrase", "secret", "token", "api_key", "apikey", "private_key"]

    static func looksSecret(_ name: String) -> Bool {
        let lower = name.lowercased()
        if lower.hasSuffix("_env") || lower.hasSuffix("_file") { return false }
        return words.contains { lower == $0 || lower.hasSuffix("_" + $0) || lower.hasPrefix($0) }
    }
}
