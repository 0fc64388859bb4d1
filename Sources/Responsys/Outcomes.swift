import Foundation

/// What Responsys answered for one record of a merge or delete.
public enum RecordOutcome: Sendable, Equatable {
    /// Merged or deleted; the member's RIID.
    case riid(String)
    /// Refused: `MERGEFAILED: Record N = CODE: text` or `DELETEFAILED: text`. `index` is the record's
    /// position (0-based) in the request.
    case failed(index: Int, code: String, message: String)
}

/// The per-record answer of a merge or delete. HTTP 200 does not mean that every record succeeded.
public struct MergeOutcome: Sendable, Equatable {
    public var records: [RecordOutcome]

    public init(records: [RecordOutcome]) { self.records = records }

    public var failures: [(index: Int, code: String, message: String)] {
        records.compactMap {
            if case .failed(let index, let code, let message) = $0 { return (index, code, message) }
            return nil
        }
    }

    public var succeeded: Int { records.count - failures.count }
}

/// One item of a Merge Trigger Email answer.
public struct RecipientOutcome: Sendable, Equatable {
    /// The RIID; -1 (or nil) when the recipient failed.
    public var recipientId: Int64?
    public var success: Bool
    public var errorMessage: String?

    public init(recipientId: Int64?, success: Bool, errorMessage: String?) {
        self.recipientId = recipientId
        self.success = success
        self.errorMessage = errorMessage
    }
}

/// The result of a Merge Trigger Email call.
public enum TriggerOutcome: Sendable, Equatable {
    /// Responsys answered, one item per recipient sent, in order.
    case answered([RecipientOutcome])
    /// The request may have reached Responsys, but no usable answer came back (dropped connection,
    /// timeout after sending, 5xx). The emails may or may not have gone out; the request is not repeated.
    case outcomeUnknown(reason: String)
}

/// One entry of `GET /rest/api/ratelimit`.
public struct RateLimitEntry: Sendable, Equatable {
    public var api: String
    public var resourcePath: String
    public var verb: String
    public var limit: Int
    public var description: String
}

enum OutcomeParser {
    /// `recordData.records` of a merge or delete answer, one outcome per row.
    static func records(_ body: Data) -> [RecordOutcome]? {
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any],
            let data = object["recordData"] as? [String: Any], let rows = data["records"] as? [[Any]]
        else { return nil }
        var outcomes: [RecordOutcome] = []
        for (index, row) in rows.enumerated() {
            guard let first = row.first else { return nil }
            let text = (first as? String) ?? "\(first)"
            outcomes.append(recordOutcome(text, index: index))
        }
        return outcomes
    }

    /// `"70012345"`, `"MERGEFAILED: Record 3 = INVALID_PARAMETER: text"` or `"DELETEFAILED: text"`.
    static func recordOutcome(_ text: String, index: Int) -> RecordOutcome {
        for prefix in ["MERGEFAILED:", "DELETEFAILED:"] where text.hasPrefix(prefix) {
            let rest = text.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)
            // "Record N = CODE: message"; anything else keeps the whole text as the message.
            if rest.hasPrefix("Record "), let equals = rest.range(of: " = ") {
                let tail = rest[equals.upperBound...]
                if let colon = tail.range(of: ": ") {
                    let code = String(tail[..<colon.lowerBound])
                    if !code.isEmpty && code.allSatisfy({ $0.isUppercase || $0 == "_" || $0.isNumber }) {
                        return .failed(index: index, code: code, message: String(tail[colon.upperBound...]))
                    }
                }
                return .failed(index: index, code: String(prefix.dropLast()), message: String(tail))
            }
            return .failed(index: index, code: String(prefix.dropLast()), message: rest)
        }
        return .riid(text)
    }

    static func recipients(_ body: Data) -> [RecipientOutcome]? {
        guard let items = (try? JSONSerialization.jsonObject(with: body)) as? [[String: Any]] else { return nil }
        var outcomes: [RecipientOutcome] = []
        for item in items {
            guard let success = item["success"] as? Bool else { return nil }
            let id: Int64? =
                (item["recipientId"] as? NSNumber)?.int64Value ?? (item["recipientId"] as? String).flatMap { Int64($0) }
            outcomes.append(
                RecipientOutcome(recipientId: id, success: success, errorMessage: item["errorMessage"] as? String))
        }
        return outcomes
    }

    static func rateLimits(_ body: Data) -> [RateLimitEntry]? {
        let parsed = try? JSONSerialization.jsonObject(with: body)
        // An array at the top, or an object holding the array (the exact envelope is not documented).
        let items =
            (parsed as? [[String: Any]])
            ?? ((parsed as? [String: Any])?.values.first { $0 is [[String: Any]] } as? [[String: Any]])
        guard let items else { return nil }
        return items.compactMap { item in
            guard let limit = (item["limit"] as? NSNumber)?.intValue ?? (item["limit"] as? String).flatMap({ Int($0) })
            else { return nil }
            return RateLimitEntry(
                api: item["api"] as? String ?? "", resourcePath: item["resource_path"] as? String ?? "",
                verb: (item["verb"] as? String ?? "").uppercased(), limit: limit,
                description: item["description"] as? String ?? "")
        }
    }

    /// How many records a request body carries (`recordData.records`, `mergeTriggerRecords` or `ids`).
    static func recordCount(_ body: Data) -> Int? {
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else { return nil }
        if let data = object["recordData"] as? [String: Any], let rows = data["records"] as? [Any] { return rows.count }
        if let data = object["mergeTriggerRecordData"] as? [String: Any],
            let rows = data["mergeTriggerRecords"] as? [Any]
        {
            return rows.count
        }
        if let ids = object["ids"] as? [Any] {
            return ids.reduce(0) { $0 + (($1 as? [Any])?.count ?? 1) }
        }
        return nil
    }
}
