import Core
import Foundation

/// A run's identity: its start time in UTC, `20261204T150000Z`. Sorting ids sorts runs by time.
public struct RunID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let text: String
    public let date: Date

    public init(date: Date) {
        // Whole seconds: the id is a folder name and must round-trip through `init?(text:)`.
        let whole = Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
        self.date = whole
        self.text = Timestamp.compact(whole)
    }

    public init?(text: String) {
        guard let date = Timestamp.parseCompact(text) else { return nil }
        self.text = text
        self.date = date
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = RunID(text: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a run id"))
        }
        self = id
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }

    public var description: String { text }

    public static func < (lhs: RunID, rhs: RunID) -> Bool { lhs.text < rhs.text }
}

/// The stages of every workflow, in the order they run. Export workflows skip `decrypt`.
public enum StageName: String, Codable, Sendable, CaseIterable, Comparable {
    case extract, decrypt, transform, load

    public static func < (lhs: StageName, rhs: StageName) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
