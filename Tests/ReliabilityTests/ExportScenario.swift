import Core
import Foundation
import TestSupport

/// The world of an export reliability scenario: the built fake-responsys (optionally with faults), an
/// audience file the scenario rewrites between rounds, and the config of two workflows over it:
/// `users` (export-users: list, `Lytics_User_Fields`, `Lytics_Segments`) and `welcome` (export-campaign with
/// back fill, so every member of the first snapshot is an entrant).
final class ExportScenario {
    let folder: TemporaryFolder
    let fake: FakeResponsysProcess
    static let list = "MASTER_LIST"
    static let campaign = "WELCOME"
    var environment: [String: String] { ["TEST_RESPONSYS_PASSWORD": FakeResponsysProcess.password] }

    /// One audience member as the source file has it.
    struct Member: Equatable {
        var email: String
        var firstName: String
        var city: String
        var newsletter: Bool
        var vip: Bool
    }

    /// The audience now in the source file, by email.
    private(set) var audience: [String: Member] = [:]
    /// Every email that entered the audience since the start (the campaign's entrants, with back fill).
    private(set) var entrants: Set<String> = []

    init(label: String, fakeArguments: [String] = [], rateLimitPerMinute: Int? = nil) throws {
        folder = try TemporaryFolder(label)
        fake = try FakeResponsysProcess(
            arguments: [
                "--list", Self.list, "--pet", "\(Self.list)/Lytics_User_Fields:FIRST_NAME,CITY",
                "--pet", "\(Self.list)/Lytics_Segments:NEWSLETTER,VIP", "--campaign", "\(Self.campaign):\(Self.list)",
            ] + fakeArguments)
        let limit = rateLimitPerMinute.map { "rate_limit_per_minute = \($0)" } ?? ""
        _ = try folder.write(
            "responsys-etl.toml",
            """
            [staging]
            dir = "staging"

            [auth.rest]
            type = "interact"
            username = "\(FakeResponsysProcess.user)"
            password_env = "TEST_RESPONSYS_PASSWORD"
            base_url = "\(fake.baseURL)"

            [workflows.users]
            type = "export-users"
            auth = "rest"
            list = "\(Self.list)"
            source = { type = "file", path = "audience.csv" }
            additional_fields = ["first_name", "city"]
            audience_memberships = ["newsletter", "vip"]
            \(limit)

            [workflows.welcome]
            type = "export-campaign"
            auth = "rest"
            campaign = "\(Self.campaign)"
            list = "\(Self.list)"
            source = { type = "file", path = "audience.csv" }
            additional_fields = ["first_name"]
            back_fill = true
            default_permission_status = "OPTIN"
            \(limit)

            """)
    }

    func runsPath(_ workflow: String) -> String { folder.file("staging/\(workflow)/runs") }

    /// Starts `responsys-etl run WORKFLOW` (or `arguments`); logs in `logs/<label>.out|.err`.
    func start(
        _ workflow: String, _ label: String, arguments: [String]? = nil, extraEnvironment: [String: String] = [:]
    ) throws -> ToolRun {
        try Files.makeDirectory(folder.file("logs"))
        return try ToolRun(
            arguments ?? ["run", workflow], in: folder.path,
            environment: environment.merging(extraEnvironment) { _, new in new },
            logs: folder.file("logs/\(workflow)-\(label)"))
    }

    // MARK: - The audience

    static let cities = ["Lyon", "Austin", "Osaka", "Berlin", "Toronto", "Madrid", "Zoë-ville"]

    static func member(_ index: Int, version: Int = 0) -> Member {
        Member(
            email: String(format: "member%05d@example.org", index), firstName: "Name\(index)",
            city: cities[(index + version) % cities.count], newsletter: (index + version) % 2 == 0,
            vip: index % 3 == 0)
    }

    /// Writes `members` as the source file (atomically: a reader sees the old file or the new one).
    func setAudience(_ members: [Member]) throws {
        audience = Dictionary(members.map { ($0.email, $0) }, uniquingKeysWith: { _, last in last })
        entrants.formUnion(audience.keys)
        var text = "email,first_name,city,newsletter,vip\n"
        for member in members {
            text +=
                "\(member.email),\(member.firstName),\(member.city),\(member.newsletter ? 1 : 0),\(member.vip ? 1 : 0)\n"
        }
        try Files.writeAtomically(Data(text.utf8), to: folder.file("audience.csv"))
    }

    /// Round `round` of the audience: members [round·step, round·step + size), every 4th with a new city.
    func audience(round: Int, size: Int, step: Int) -> [Member] {
        (round * step..<(round * step + size)).map { index in
            Self.member(index, version: index % 4 == 0 ? round : 0)
        }
    }

    // MARK: - Checks

    /// What differs between the fake's list and PETs and the audience; empty when they agree exactly.
    func usersProblems() throws -> [String] {
        var problems: [String] = []
        let state = try fake.state()
        let members = (state["lists"] as? [String: Any])?[Self.list] as? [[String: String]] ?? []
        let emails = members.compactMap { $0["EMAIL_ADDRESS_"] }
        if emails.count != Set(emails).count { problems.append("the list holds an email twice") }
        if Set(emails) != Set(audience.keys) {
            let missing = Set(audience.keys).subtracting(emails).count
            let extra = Set(emails).subtracting(audience.keys).count
            problems.append("list: \(missing) members missing, \(extra) not in the audience")
        }
        let emailByRIID = Dictionary(
            members.map { ($0["RIID_"] ?? "", $0["EMAIL_ADDRESS_"] ?? "") }, uniquingKeysWith: { first, _ in first })
        let pets = state["pets"] as? [String: Any] ?? [:]
        func rows(_ pet: String) -> [String: [String: String]] {
            let all = pets[Self.list + "/" + pet] as? [[String: String]] ?? []
            if all.count != Set(all.compactMap { $0["RIID_"] }).count {
                problems.append("\(pet) holds a member twice")
            }
            return Dictionary(
                all.map { (emailByRIID[$0["RIID_"] ?? ""] ?? "?", $0) }, uniquingKeysWith: { first, _ in first })
        }
        let fields = rows("Lytics_User_Fields")
        let segments = rows("Lytics_Segments")
        if fields.count != audience.count || segments.count != audience.count {
            problems.append("PET rows: \(fields.count) user fields, \(segments.count) segments for \(audience.count)")
        }
        var wrong = 0
        for member in audience.values {
            let field = fields[member.email] ?? [:]
            let segment = segments[member.email] ?? [:]
            if field["FIRST_NAME"] != member.firstName || field["CITY"] != member.city
                || segment["NEWSLETTER"] != (member.newsletter ? "1" : "0")
                || segment["VIP"] != (member.vip ? "1" : "0")
            {
                wrong += 1
            }
        }
        if wrong > 0 { problems.append("\(wrong) members with wrong PET values") }
        return problems
    }

    /// The emails the campaign sent, with how many times each.
    func sentEmails() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for email in try fake.state()["emails"] as? [[String: Any]] ?? []
        where email["campaign"] as? String == Self.campaign {
            counts[email["email"] as? String ?? "?", default: 0] += 1
        }
        return counts
    }

    /// Every email any run of `welcome` reported as of unknown outcome (`load/unknown.ndjson`).
    func reportedUnknown() throws -> Set<String> {
        var emails: Set<String> = []
        for run in (try? Files.list(runsPath("welcome"))) ?? [] {
            let path = runsPath("welcome") + "/" + run + "/load/unknown.ndjson"
            guard Files.exists(path) else { continue }
            for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
                if let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    let email = object["email"] as? String
                {
                    emails.insert(email)
                }
            }
        }
        return emails
    }

    /// No email twice; nobody but entrants; when the run `ended` (exit 0 or 3), every entrant sent or
    /// reported unknown (a run that failed with 1 or 75 is resumable and may not have reached everyone yet).
    func campaignProblems(ended: Bool = true) throws -> [String] {
        var problems: [String] = []
        let sent = try sentEmails()
        let twice = sent.filter { $0.value > 1 }
        if !twice.isEmpty { problems.append("\(twice.count) emails sent more than once, e.g. \(twice.keys.min()!)") }
        let strangers = Set(sent.keys).subtracting(entrants)
        if !strangers.isEmpty { problems.append("\(strangers.count) emails sent to non-entrants") }
        guard ended else { return problems }
        let unknown = try reportedUnknown()
        let missing = entrants.subtracting(sent.keys).subtracting(unknown)
        if !missing.isEmpty {
            problems.append("\(missing.count) entrants neither sent nor reported unknown, e.g. \(missing.min()!)")
        }
        return problems
    }
}
