import Core
import Foundation

/// Responsys Connect event files for the reliability scenarios, written fast and deterministically:
/// `count` files of `rows` data rows each, for two accounts and five event types, every row distinct.
/// What a complete import must store is exactly `expected`: each file's data lines, 2 through rows + 1.
struct EventFiles {
    struct File: Sendable {
        /// The plain CSV name, which is also the `source_file` of its events.
        var name: String
        var rows: Int
    }

    var files: [File] = []

    var expectedEvents: Int { files.reduce(0) { $0 + $1.rows } }

    /// Writes the files into `folder`; file `index` gets `rows(index)` data rows. `padding` > 0 adds a
    /// `NOTE` column of that many bytes to every row (big files with few events, for transfer scenarios).
    static func write(
        count: Int, from first: Int = 0, rows: (Int) -> Int, padding: Int = 0, into folder: String
    ) throws -> EventFiles {
        try Files.makeDirectory(folder)
        var result = EventFiles()
        let types: [(name: String, id: Int, extra: [String])] = [
            ("SENT", 1, ["EMAIL", "EMAIL_ISP", "EMAIL_FORMAT", "MESSAGE_SIZE"]),
            ("OPEN", 4, ["EMAIL_FORMAT", "BROWSER"]),
            ("CLICK", 5, ["EMAIL_FORMAT", "OFFER_NAME", "OFFER_NUMBER", "OFFER_URL"]),
            ("BOUNCE", 2, ["EMAIL", "EMAIL_FORMAT", "BOUNCE_TYPE", "REASON", "REASON_CODE"]),
            ("OPT_OUT", 8, ["EMAIL", "EMAIL_FORMAT", "SOURCE", "REASON"]),
        ]
        let prefix = [
            "EVENT_TYPE_ID", "ACCOUNT_ID", "LIST_ID", "RIID", "CUSTOMER_ID", "EVENT_CAPTURED_DT",
            "EVENT_STORED_DT", "CAMPAIGN_ID", "LAUNCH_ID",
        ]
        for index in first..<(first + count) {
            let type = types[index % types.count]
            let account = index % 2 == 0 ? 1234 : 5678
            // Distinct names: the time part counts files.
            let name = String(format: "%d_%@_20261204_%02d%02d00.txt", account, type.name, index / 60, index % 60)
            let rowCount = rows(index)
            var text = Data()
            text.reserveCapacity(rowCount * 220)
            let note = padding > 0 ? ["NOTE"] : []
            text.append(contentsOf: ((prefix + type.extra + note).joined(separator: ",") + "\n").utf8)
            let pad = String(repeating: "p", count: padding)
            for row in 0..<rowCount {
                let riid = 80_000_000 + index * 1_000_000 + row
                let minute = row % 60
                let hour = (row / 60) % 24
                let time = String(format: "%02d-Nov-2026 %02d:%02d:%02d", 1 + row % 28, hour, minute, row % 59)
                var fields = [
                    String(type.id), String(account), "55501", String(riid), "cust-\(riid)", time, time, "9911",
                    "440022",
                ]
                let email = "user\(riid)@example.org"
                switch type.name {
                case "SENT": fields += [email, "example.org", "H", String(40_000 + row % 9_000)]
                case "OPEN": fields += ["H", "\"Firefox, desktop\""]
                case "CLICK": fields += ["H", "\"Winter sale, 20% off\"", "3", "https://shop.example.org/p?id=\(riid)"]
                case "BOUNCE": fields += [email, "H", "H", "USER_NOT_FOUND", "\"550 5.1.1 unknown user\""]
                default: fields += [email, "H", "WEB", "unsubscribe link"]
                }
                if padding > 0 { fields.append(pad) }
                text.append(contentsOf: (fields.joined(separator: ",") + "\n").utf8)
            }
            try Files.writeAtomically(text, to: folder + "/" + name)
            result.files.append(File(name: name, rows: rowCount))
        }
        return result
    }
}

/// A seeded random number generator (SplitMix64), so a failing kill schedule can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
