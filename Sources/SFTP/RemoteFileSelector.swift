import Core

/// One file already imported, as the `state/` ledger records it. A remote file with the same name, size and
/// mtime is not fetched again.
public struct LedgerEntry: Codable, Sendable, Equatable, Hashable {
    public var name: String
    public var size: Int64
    public var mtime: Int64
    /// When the run that imported it finished loading (ISO 8601, UTC).
    public var importedAt: String
    public var runID: String

    public init(name: String, size: Int64, mtime: Int64, importedAt: String, runID: String) {
        self.name = name
        self.size = size
        self.mtime = mtime
        self.importedAt = importedAt
        self.runID = runID
    }
}

/// Picks the remote files a run takes: matching `pattern`, regular files, not in the ledger, and finished —
/// either their ready file exists, or they did not change between two listings `stable_seconds` apart.
/// Pure: it sees listings, never the server, so every rule is tested without one.
public struct RemoteFileSelector: Sendable, Equatable {
    public enum Readiness: Sendable, Equatable {
        /// A file is finished when `name + suffix` exists; the ready files themselves are never taken.
        case readyFile(suffix: String)
        /// A file is finished when its size and mtime are the same in two listings taken some time apart.
        case stable
    }

    public enum SkipReason: String, Sendable, Equatable {
        case alreadyImported, notRegular, readyFileMissing, stillChanging
    }

    public struct Skipped: Sendable, Equatable {
        public var entry: RemoteEntry
        public var reason: SkipReason
    }

    public struct Selection: Sendable, Equatable {
        /// The files to download, sorted by name.
        public var taken: [RemoteEntry]
        /// Files matching the pattern but not taken, and why (for the log).
        public var skipped: [Skipped]
    }

    public let pattern: GlobPattern
    public let readiness: Readiness

    public init(pattern: String, readySuffix: String?) {
        self.pattern = GlobPattern(pattern)
        if let readySuffix, !readySuffix.isEmpty {
            readiness = .readyFile(suffix: readySuffix)
        } else {
            readiness = .stable
        }
    }

    /// Whether `select` needs a second listing taken `stable_seconds` after the first.
    public var needsEarlierListing: Bool { readiness == .stable }

    /// Selects from `listing`. With `.stable` readiness, `earlier` is the listing taken `stable_seconds`
    /// before `listing`; a file missing from it, or different in size or mtime, is still changing.
    public func select(_ listing: [RemoteEntry], earlier: [RemoteEntry]? = nil, ledger: [LedgerEntry]) -> Selection {
        precondition(readiness != .stable || earlier != nil, "stable readiness needs the earlier listing")
        let names = Set(listing.map(\.name))
        let imported = Set(ledger.map { LedgerKey(name: $0.name, size: $0.size, mtime: $0.mtime) })
        var before: [String: RemoteEntry] = [:]
        for entry in earlier ?? [] { before[entry.name] = entry }

        var taken: [RemoteEntry] = []
        var skipped: [Skipped] = []
        for entry in listing.sorted(by: { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }) {
            if case .readyFile(let suffix) = readiness, entry.name.hasSuffix(suffix) { continue }
            guard pattern.matches(entry.name) else { continue }
            let reason: SkipReason?
            if !entry.isRegular {
                reason = .notRegular
            } else if imported.contains(LedgerKey(name: entry.name, size: entry.size, mtime: entry.mtime)) {
                reason = .alreadyImported
            } else {
                switch readiness {
                case .readyFile(let suffix):
                    reason = names.contains(entry.name + suffix) ? nil : .readyFileMissing
                case .stable:
                    let previous = before[entry.name]
                    reason = previous?.size == entry.size && previous?.mtime == entry.mtime ? nil : .stillChanging
                }
            }
            if let reason {
                skipped.append(Skipped(entry: entry, reason: reason))
            } else {
                taken.append(entry)
            }
        }
        return Selection(taken: taken, skipped: skipped)
    }

    private struct LedgerKey: Hashable {
        var name: String
        var size: Int64
        var mtime: Int64
    }
}

/// A shell-style file name pattern: `*` any run of characters, `?` one character, `[abc]`, `[a-z]`, `[!x]`
/// (or `[^x]`) one character from (or not from) a set, `\` quotes the next character. Characters are Unicode
/// scalars, so `?` matches one `é` whatever its UTF-8 length. An unclosed `[` is an ordinary character.
public struct GlobPattern: Sendable, Equatable, CustomStringConvertible {
    public let description: String
    private let tokens: [Token]

    private enum Token: Sendable, Equatable {
        case literal(Unicode.Scalar)
        case any
        case anyRun
        case set(ranges: [ClosedRange<Unicode.Scalar>], negated: Bool)
    }

    public init(_ text: String) {
        description = text
        let scalars = Array(text.unicodeScalars)
        var tokens: [Token] = []
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar {
            case "*":
                if tokens.last != .anyRun { tokens.append(.anyRun) }
                index += 1
            case "?":
                tokens.append(.any)
                index += 1
            case "\\" where index + 1 < scalars.count:
                tokens.append(.literal(scalars[index + 1]))
                index += 2
            case "[":
                if let (set, next) = Self.parseSet(scalars, from: index) {
                    tokens.append(set)
                    index = next
                } else {
                    tokens.append(.literal("["))
                    index += 1
                }
            default:
                tokens.append(.literal(scalar))
                index += 1
            }
        }
        self.tokens = tokens
    }

    /// Parses `[...]` starting at `start`; nil when it is not closed.
    private static func parseSet(_ scalars: [Unicode.Scalar], from start: Int) -> (Token, Int)? {
        var index = start + 1
        var negated = false
        if index < scalars.count && (scalars[index] == "!" || scalars[index] == "^") {
            negated = true
            index += 1
        }
        var ranges: [ClosedRange<Unicode.Scalar>] = []
        var first = true
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "]" && !first { return (.set(ranges: ranges, negated: negated), index + 1) }
            first = false
            if index + 2 < scalars.count && scalars[index + 1] == "-" && scalars[index + 2] != "]" {
                let upper = scalars[index + 2]
                if scalar <= upper { ranges.append(scalar...upper) }
                index += 3
            } else {
                ranges.append(scalar...scalar)
                index += 1
            }
        }
        return nil
    }

    /// Whether the whole of `name` matches. Iterative with one backtrack point for the last `*`, so the cost
    /// stays linear-times-pattern even for hostile names.
    public func matches(_ name: String) -> Bool {
        let text = Array(name.unicodeScalars)
        var t = 0
        var p = 0
        var starPattern = -1
        var starText = 0
        while t < text.count {
            if p < tokens.count, tokens[p] != .anyRun, Self.matchOne(tokens[p], text[t]) {
                p += 1
                t += 1
            } else if p < tokens.count, tokens[p] == .anyRun {
                starPattern = p
                starText = t
                p += 1
            } else if starPattern >= 0 {
                p = starPattern + 1
                starText += 1
                t = starText
            } else {
                return false
            }
        }
        while p < tokens.count && tokens[p] == .anyRun { p += 1 }
        return p == tokens.count
    }

    private static func matchOne(_ token: Token, _ scalar: Unicode.Scalar) -> Bool {
        switch token {
        case .literal(let expected): scalar == expected
        case .any: true
        case .anyRun: false
        case .set(let ranges, let negated): ranges.contains { $0.contains(scalar) } != negated
        }
    }
}
