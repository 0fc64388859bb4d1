import Core
import Foundation

/// Reading and writing the small JSON files of the staging area (run.json, markers, item records):
/// sorted keys and indentation so a person can read and diff them, atomic replacement so a crash
/// leaves the old file or the new one.
enum JSONFiles {
    static func write<Value: Encodable>(_ value: Value, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.iso8601(date, fractional: true))
        }
        var data = try encoder.encode(value)
        data.append(0x0A)
        try Files.writeAtomically(data, to: path)
    }

    /// The decoded file, nil when it does not exist; a file that exists but does not parse is an error,
    /// because staging files are only ever replaced whole.
    static func read<Value: Decodable>(_ type: Value.Type, from path: String) throws -> Value? {
        guard Files.exists(path) else { return nil }
        let data = try Files.read(path)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = parseISO8601(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: text))
            }
            return date
        }
        do {
            return try decoder.decode(type, from: data)
        } catch {
            throw ETLError(
                .corruptStaging, "\(path) is not a valid staging file", underlying: "\(error)",
                remedy: "re-run the stage with --force")
        }
    }

    /// Parses `2026-12-04T15:00:00Z` and `2026-12-04T15:00:00.123Z`.
    static func parseISO8601(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            let date = Timestamp.utcDate(
                year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        else { return nil }
        var fraction = 0.0
        if bytes.count > 21, bytes[19] == UInt8(ascii: "."), let digits = number(20..<(bytes.count - 1)) {
            fraction = Double(digits) / pow(10, Double(bytes.count - 21))
        }
        return date.addingTimeInterval(fraction)
    }
}
