import Core
import Foundation

/// What the name of a Responsys Connect event file says:
/// `<account>_[<channel>_]<EVENT>_<YYYYMMDD>_<HHMMSS>[.ext…]`, e.g. `1234_SMS_CLICK_20240307_060001.txt`.
///
/// The channel is EMAIL when absent; `<EVENT>` may hold underscores (`OPT_OUT`, `LAUNCH_STATE`). The time
/// in the name is taken as UTC (Responsys does not document its zone).
public struct EventFileName: Sendable, Equatable {
    /// The channels that appear between the account and the event in non-email file names.
    public static let channels: Set<String> = ["EMAIL", "SMS", "MMS", "PUSH", "WEBPUSH"]

    /// The Responsys account id, digits only.
    public var account: Int64
    /// `EMAIL`, `SMS`, `MMS`, `PUSH` or `WEBPUSH`.
    public var channel: String
    /// The event token, upper case: `CLICK`, `OPT_OUT`, `LAUNCH_STATE`…
    public var eventType: String
    /// The date and time in the name.
    public var fileTimestamp: Date

    public init(account: Int64, channel: String, eventType: String, fileTimestamp: Date) {
        self.account = account
        self.channel = channel
        self.eventType = eventType
        self.fileTimestamp = fileTimestamp
    }

    /// Parses a file name or path; everything from the first `.` of the last path component is ignored.
    public static func parse(_ name: String) throws -> EventFileName {
        let base = (name as NSString).lastPathComponent
        let stem =
            base.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let parts = stem.split(separator: "_", omittingEmptySubsequences: false).map(String.init)
        func fail(_ why: String) -> TransformError {
            TransformError(
                .unrecognizedFileName,
                "the file name \(base) is not a Responsys event file name: \(why)",
                remedy:
                    "expected <account>_[<channel>_]<EVENT>_<YYYYMMDD>_<HHMMSS>, e.g. 1234_CLICK_20240307_060001.txt")
        }
        guard parts.count >= 4 else { throw fail("too few parts separated by _") }
        guard let account = Int64(parts[0]), parts[0].allSatisfy(\.isASCII), account >= 0 else {
            throw fail("the account \"\(parts[0])\" is not a number")
        }
        let date = parts[parts.count - 2]
        let time = parts[parts.count - 1]
        guard date.count == 8, time.count == 6, date.allSatisfy({ $0.isASCII && $0.isNumber }),
            time.allSatisfy({ $0.isASCII && $0.isNumber })
        else { throw fail("it does not end with _YYYYMMDD_HHMMSS") }
        let digits = Array((date + time).utf8).map { Int($0) - 48 }
        func number(_ range: Range<Int>) -> Int { digits[range].reduce(0) { $0 * 10 + $1 } }
        guard
            let timestamp = Timestamp.utcDate(
                year: number(0..<4), month: number(4..<6), day: number(6..<8), hour: number(8..<10),
                minute: number(10..<12), second: number(12..<14))
        else { throw fail("\(date)_\(time) is not a valid date and time") }

        var middle = Array(parts[1..<(parts.count - 2)])
        var channel = "EMAIL"
        if middle.count >= 2, channels.contains(middle[0].uppercased()) {
            channel = middle[0].uppercased()
            middle.removeFirst()
        }
        let event = middle.joined(separator: "_").uppercased()
        guard !event.isEmpty, middle.allSatisfy({ !$0.isEmpty }),
            event.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
        else { throw fail("the event \"\(middle.joined(separator: "_"))\" is not a word like CLICK or OPT_OUT") }
        return EventFileName(account: account, channel: channel, eventType: event, fileTimestamp: timestamp)
    }
}

/// A failure that stops transforming a whole file.
public typealias TransformError = CodedError<TransformErrorCode>

/// What kind of failure a `TransformError` is; callers and tests match on it, never on the text.
public enum TransformErrorCode: String, ErrorCode {
    /// The file name does not have the shape of a Responsys event file.
    case unrecognizedFileName
    /// The first row names none of the columns of a Responsys event file: the header is missing (the first
    /// row is data) or the file is not an event file.
    case noEventHeader
    /// An option has a value that cannot be used.
    case badOption

    public var exitStatus: ExitStatus { self == .badOption ? .usage : .stageFailed }
}
