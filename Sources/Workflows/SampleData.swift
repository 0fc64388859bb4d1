import Core
import Foundation

/// The demo's input, made by our own code: Responsys Connect event files for two accounts, with the
/// columns of reference/responsys.md §7, and a small users table. Deterministic for a given `now`, so two
/// demo runs on the same day make the same files.
public struct SampleData {
    public let folder: String
    public let now: Date

    public init(folder: String, now: Date) {
        self.folder = folder
        self.now = now
    }

    /// A sample user: the users table and the event files agree on these.
    public struct User: Sendable {
        public let riid: Int
        public let email: String
        public let firstName: String
        public let lastName: String
        public let city: String
        public let customerID: String
        public let highValue: Bool
    }

    public static let users: [User] = {
        let first = ["Ann", "Bob", "Chloé", "Dmitri", "Eve", "Farid", "Grace", "Hiro", "Inès", "Jamal", "Kim", "Lena"]
        let last = ["Smith", "Okafor", "Dubois", "Ivanov", "Novak", "Haddad", "Hopper", "Tanaka", "Núñez", "Reed"]
        let cities = ["Lyon", "Austin", "Osaka", "Berlin", "Toronto", "Madrid"]
        return (0..<24).map { index in
            let firstName = first[index % first.count]
            let lastName = last[index % last.count]
            let plain = { (name: String) in name.lowercased().folding(options: .diacriticInsensitive, locale: nil) }
            return User(
                riid: 70_000_100 + index, email: "\(plain(firstName)).\(plain(lastName))\(index)@example.org",
                firstName: firstName, lastName: lastName, city: cities[index % cities.count],
                customerID: "cust-\(1000 + index)", highValue: index % 3 == 0)
        }
    }()

    /// The files written, by name; `notes` says which file the demo should wrap (zip, PGP) or hold back.
    public struct Written: Sendable {
        public var files: [String] = []
        public var expectedEvents = 0
        public var expectedRejects = 0
    }

    /// Writes the event files and `users.csv` into `folder`.
    public func write() throws -> Written {
        try Files.makeDirectory(folder)
        var written = Written()
        let stamp = fileStamp(now.addingTimeInterval(-3600))
        let prefix = [
            "EVENT_TYPE_ID", "ACCOUNT_ID", "LIST_ID", "RIID", "CUSTOMER_ID", "EVENT_CAPTURED_DT",
            "EVENT_STORED_DT", "CAMPAIGN_ID", "LAUNCH_ID",
        ]

        func rows(_ account: Int, _ typeID: Int, _ users: ArraySlice<User>, extra: (User) -> [String]) -> [[String]] {
            users.enumerated().map { offset, user in
                let captured = now.addingTimeInterval(-Double(offset + 1) * 7_200)
                return [
                    String(typeID), String(account), "55501", String(user.riid), user.customerID,
                    responsysTime(captured), responsysTime(captured.addingTimeInterval(31)), "9911", "440022",
                ]
                    + extra(user)
            }
        }
        let users = SampleData.users[...]

        // SENT for account 1234: plain comma-separated text.
        written.expectedEvents += try writeFile(
            "1234_SENT_\(stamp).txt", header: prefix + ["EMAIL", "EMAIL_ISP", "EMAIL_FORMAT", "MESSAGE_SIZE"],
            rows: rows(1234, 1, users) { [$0.email, "example.org", "H", "48213"] }, into: &written)
        // OPEN for account 1234: the demo zips it.
        written.expectedEvents += try writeFile(
            "1234_OPEN_\(stamp).txt", header: prefix + ["EMAIL_FORMAT", "BROWSER"],
            rows: rows(1234, 4, users.prefix(14)) { _ in ["H", "Firefox"] }, into: &written)
        // CLICK for account 1234: quoted URLs with commas; the demo PGP-encrypts it.
        written.expectedEvents += try writeFile(
            "1234_CLICK_\(stamp).txt",
            header: prefix + ["EMAIL_FORMAT", "OFFER_NAME", "OFFER_NUMBER", "OFFER_URL"],
            rows: rows(1234, 5, users.prefix(9)) { user in
                ["H", "Winter sale, 20% off", "3", "https://shop.example.org/p?id=\(user.riid)&utm=a,b"]
            }, into: &written)
        // BOUNCE for account 5678: semicolon-separated, byte-order mark and CRLF line ends.
        written.expectedEvents += try writeFile(
            "5678_BOUNCE_\(stamp).txt",
            header: prefix + ["EMAIL", "EMAIL_FORMAT", "BOUNCE_TYPE", "REASON", "REASON_CODE"],
            rows: rows(5678, 2, users.suffix(4)) { [$0.email, "H", "H", "USER_NOT_FOUND", "550 5.1.1 unknown user"] },
            delimiter: ";", lineEnd: "\r\n", byteOrderMark: true, into: &written)
        // OPT_OUT for account 5678: two rows with an unreadable date and a non-numeric RIID go to rejects.
        var optOut = rows(5678, 8, users.suffix(5)) { [$0.email, "H", "WEB", "unsubscribe link"] }
        optOut[1][5] = "31-Foo-2026 99:00:00"
        optOut[3][3] = "not-a-number"
        written.expectedEvents +=
            try writeFile(
                "5678_OPT_OUT_\(stamp).txt", header: prefix + ["EMAIL", "EMAIL_FORMAT", "SOURCE", "REASON"],
                rows: optOut, into: &written) - 2
        written.expectedRejects += 2
        // An SMS CLICK file for account 5678, still "being written": the demo withholds its ready file.
        _ = try writeFile(
            "5678_SMS_CLICK_\(stamp).txt", header: ["EVENT_UUID"] + prefix + ["PROGRAM_ID"],
            rows: rows(5678, 5, users.prefix(3)) { _ in ["-1"] }.map { [UUID().uuidString] + $0 }, into: &written)

        try writeUsers(into: &written)
        return written
    }

    private func writeUsers(into written: inout Written) throws {
        var text = "email,first_name,last_name,city,customer_id,high_value,signed_up_at\n"
        for (index, user) in SampleData.users.enumerated() {
            let signedUp = Timestamp.iso8601(now.addingTimeInterval(-Double(index) * 86_400 * 2))
            text +=
                [
                    user.email, user.firstName, user.lastName, user.city, user.customerID, user.highValue ? "1" : "0",
                    signedUp,
                ].map(csvField(",")).joined(separator: ",") + "\n"
        }
        try Files.writeAtomically(Data(text.utf8), to: folder + "/users.csv")
        written.files.append("users.csv")
    }

    /// Writes one event file; returns its number of data rows.
    private func writeFile(
        _ name: String, header: [String], rows: [[String]], delimiter: String = ",", lineEnd: String = "\n",
        byteOrderMark: Bool = false, into written: inout Written
    ) throws -> Int {
        var text = byteOrderMark ? "\u{FEFF}" : ""
        for row in [header] + rows {
            text += row.map(csvField(delimiter)).joined(separator: delimiter) + lineEnd
        }
        try Files.writeAtomically(Data(text.utf8), to: folder + "/" + name)
        written.files.append(name)
        return rows.count
    }

    /// Quotes a field as Responsys Connect does: always, doubling inner quotes.
    private func csvField(_ delimiter: String) -> (String) -> String {
        { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
    }

    private func fileStamp(_ date: Date) -> String {
        let compact = Timestamp.compact(date)  // 20261204T150000Z
        return String(compact.prefix(8)) + "_" + String(compact.dropFirst(9).prefix(6))
    }

    /// `07-Mar-2024 14:05:09`, the Responsys export format (UTC).
    private func responsysTime(_ date: Date) -> String {
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let iso = Timestamp.iso8601(date)  // 2024-03-07T14:05:09Z
        let parts = iso.split(whereSeparator: { "-T:Z".contains($0) }).map(String.init)
        return "\(parts[2])-\(months[Int(parts[1])! - 1])-\(parts[0]) \(parts[3]):\(parts[4]):\(parts[5])"
    }
}
