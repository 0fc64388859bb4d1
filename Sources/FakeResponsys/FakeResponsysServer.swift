import Foundation

/// A stand-in for Responsys on 127.0.0.1 that speaks the REST calls of `reference/responsys.md` §1–6.
///
/// It validates bodies as the service does, keeps list members (with RIIDs), PET rows and sent emails in
/// memory, journals every call as one JSON line, and injects faults on request. Start it in-process with
/// `start()`, or run the `fake-responsys` executable.
public final class FakeResponsysServer: @unchecked Sendable {
    public let configuration: FakeResponsysConfiguration
    private var server: TinyHTTPServer?
    private let lock = NSLock()
    private var faults: FakeFaults
    private var random: SplitMix64
    private var boundPort: UInt16 = 0

    // State, guarded by `lock`.
    private var members: [String: FakeTable] = [:]
    private var petRows: [String: FakeTable] = [:]
    private var emails: [[String: Any]] = []
    private var nextRIID = 70_000_001
    private var tokens: [String: Double] = [:]
    private var tokenCounter = 0
    private var windows: [String: [Double]] = [:]
    private var stats = FakeStats()
    private var journal: FileHandle?

    public init(_ configuration: FakeResponsysConfiguration) {
        self.configuration = configuration
        faults = configuration.faults
        random = SplitMix64(seed: configuration.seed)
        for list in configuration.lists { members[list] = FakeTable() }
        for pet in configuration.pets { petRows[pet.list + "/" + pet.name] = FakeTable() }
    }

    /// Binds and starts serving; returns the port (useful with port 0).
    @discardableResult
    public func start() throws -> UInt16 {
        if let path = configuration.journalPath {
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil)
            }
            guard let handle = FileHandle(forWritingAtPath: path) else {
                throw FakeServerError("cannot open the journal \(path)")
            }
            handle.seekToEndOfFile()
            journal = handle
        }
        // Weak: a connection thread may still be answering after the owner has stopped and released us.
        let server = TinyHTTPServer { [weak self] request in self?.handle(request) ?? .drop }
        let port = try server.start(port: configuration.port)
        lock.withLock {
            self.server = server
            boundPort = port
        }
        return port
    }

    public func stop() {
        server?.stop()
        lock.withLock {
            try? journal?.close()
            journal = nil
        }
    }

    public var port: UInt16 { lock.withLock { boundPort } }
    /// `http://127.0.0.1:PORT`, the base URL to log in on.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Changes faults and limits while running.
    public func updateFaults(_ change: (inout FakeFaults) -> Void) { lock.withLock { change(&faults) } }

    public func currentStats() -> FakeStats { lock.withLock { stats } }

    /// The same JSON as `GET /_fake/state`.
    public func stateJSON() -> Data { lock.withLock { json(stateObject()) } }

    // MARK: - Dispatch

    private func handle(_ request: ServerRequest) -> ServerReply {
        if request.path.hasPrefix("/_fake/") { return control(request) }
        let latency = lock.withLock { faults.latencyMs }
        if latency > 0 { Thread.sleep(forTimeInterval: Double(latency) / 1000) }

        let (function, reply, dropAfter, records) = lock.withLock { () -> (String, ServerReply, Bool, Int?) in
            let routed = route(request)
            var outcome = routed.function.map { call($0, request, routed.action) } ?? (notFound(request), nil)
            var drop = false
            if case .respond(let status, _, _) = outcome.0, status == 200 || status == 202 {
                if faults.dropNext > 0 {
                    faults.dropNext -= 1
                    drop = true
                } else if faults.dropRate > 0 && random.unit() < faults.dropRate {
                    drop = true
                }
                if drop {
                    stats.dropped += 1
                    outcome.0 = .drop
                }
            }
            return (routed.function ?? "unknown", outcome.0, drop, outcome.1)
        }
        writeJournal(request, function: function, reply: reply, dropped: dropAfter, records: records)
        return reply
    }

    /// Which API function a request is, and the handler that carries it out.
    private typealias Action = (ServerRequest, [String]) -> (ServerReply, Int?)

    private func route(_ request: ServerRequest) -> (function: String?, action: Action) {
        var path = request.path
        if path == "/rest/api/v1.3/auth/token" && request.method == "POST" {
            return ("login", { [unowned self] request, _ in login(request) })
        }
        // Every later call must come on the endPoint that login answered, prefix included.
        let prefix = endPointPrefix()
        guard prefix.isEmpty || path.hasPrefix(prefix + "/") else { return (nil, { _, _ in (.drop, nil) }) }
        path.removeFirst(prefix.count)
        let segments = path.split(separator: "/").map { $0.removingPercentEncoding ?? String($0) }
        let action = queryValue(request.query, "action")
        switch (request.method, segments.count, segments) {
        case ("GET", 3, ["rest", "api", "ratelimit"]):
            return ("rateLimit", { [unowned self] _, _ in (ok(rateLimits()), nil) })
        case ("POST", 6, let s) where s.starts(with: ["rest", "api", "v1.3", "lists"]) && s[5] == "members":
            if action == "delete" {
                return ("deleteListMembers", { [unowned self] r, s in deleteMembers(r, list: s[4]) })
            }
            return ("mergeListMembers", { [unowned self] r, s in mergeList(r, list: s[4]) })
        case ("POST", 8, let s)
        where s.starts(with: ["rest", "api", "v1.3", "lists"]) && s[5] == "listExtensions" && s[7] == "members":
            if action == "delete" {
                return (
                    "deleteProfileExtensionMembers", { [unowned self] r, s in deletePETRows(r, list: s[4], pet: s[6]) }
                )
            }
            return ("mergeProfileExtensionMembers", { [unowned self] r, s in mergePET(r, list: s[4], pet: s[6]) })
        case ("GET", 6, let s) where s.starts(with: ["rest", "api", "v1.3", "lists"]) && s[5] == "listExtensions":
            return ("retrieveProfileExtensions", { [unowned self] _, s in listExtensions(list: s[4]) })
        case ("POST", 6, let s) where s.starts(with: ["rest", "api", "v1.3", "campaigns"]) && s[5] == "email":
            return ("mergeTriggerEmail", { [unowned self] r, s in trigger(r, campaign: s[4]) })
        case ("GET", 5, let s) where s.starts(with: ["rest", "api", "v1.3", "campaigns"]):
            return ("retrieveCampaign", { [unowned self] _, s in campaign(s[4]) })
        default:
            return (nil, { _, _ in (.drop, nil) })
        }
    }

    /// Applies token, capacity, throttling and failure rules, then the action.
    private func call(_ function: String, _ request: ServerRequest, _ action: Action) -> (ServerReply, Int?) {
        let now = monotonic()
        if function != "login" {
            let token = request.headers["authorization"] ?? ""
            guard let issued = tokens[token], now - issued < faults.tokenTTL else {
                stats.invalidToken += 1
                return (error(500, "UNEXPECTED_EXCEPTION", "Not a valid authentication token"), nil)
            }
        }
        if faults.capacityNext > 0 {
            faults.capacityNext -= 1
            stats.capacityRejected += 1
            return (error(400, "INTERNAL_CAPACITY_LIMIT_EXCEEDED", "Internal capacity limit exceeded"), nil)
        }
        var window = windows[function, default: []]
        window.removeAll { now - $0 >= faults.limitWindowSeconds }
        let overLimit = faults.limitPerWindow.map { window.count >= $0 } ?? false
        if faults.throttleNext > 0 || overLimit {
            if faults.throttleNext > 0 { faults.throttleNext -= 1 }
            windows[function] = window
            stats.throttled += 1
            let text =
                "You exceeded your allowable limit to call the \(function) API function. Please try again in a minute."
            return (error(faults.throttleStatus, "API_LIMIT_EXCEEDED", text), nil)
        }
        if faults.failNext > 0 || (faults.failRate > 0 && random.unit() < faults.failRate) {
            if faults.failNext > 0 { faults.failNext -= 1 }
            stats.failed += 1
            return (
                .respond(status: 503, contentType: "text/html", body: Data("<html>Service Unavailable</html>".utf8)),
                nil
            )
        }
        window.append(now)
        windows[function] = window
        stats.calls[function, default: 0] += 1
        stats.maxInWindow[function] = max(stats.maxInWindow[function] ?? 0, window.count)
        let segments = String(request.path.dropFirst(function == "login" ? 0 : endPointPrefix().count))
            .split(separator: "/").map { $0.removingPercentEncoding ?? String($0) }
        return action(request, segments)
    }

    // MARK: - Authentication

    private func login(_ request: ServerRequest) -> (ServerReply, Int?) {
        let queryNames = formFields(request.query).map(\.key)
        if queryNames.contains("password") || queryNames.contains("user_name") {
            return (error(400, "INVALID_PARAMETER", "Credentials must be sent in the request body"), nil)
        }
        let contentType = request.headers["content-type"] ?? ""
        guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
            return (error(400, "INVALID_PARAMETER", "Content-Type must be application/x-www-form-urlencoded"), nil)
        }
        let form = Dictionary(
            formFields(String(decoding: request.body, as: UTF8.self)), uniquingKeysWith: { a, _ in a })
        switch form["auth_type"] {
        case "password":
            guard let user = form["user_name"], let password = form["password"], configuration.users[user] == password
            else { return (error(400, "INVALID_USER_NAME_PASSWORD", "Invalid user name or password"), nil) }
        case "token":
            let token = request.headers["authorization"] ?? ""
            guard let issued = tokens[token], monotonic() - issued < faults.tokenTTL else {
                return (error(500, "UNEXPECTED_EXCEPTION", "Not a valid authentication token"), nil)
            }
        default:
            return (error(400, "INVALID_PARAMETER", "auth_type must be password or token"), nil)
        }
        tokenCounter += 1
        let token = "fake-token-\(tokenCounter)-\(random.next() % 1_000_000_000)"
        tokens[token] = monotonic()
        stats.logins += 1
        let endPoint = configuration.endPoint.replacingOccurrences(of: "{port}", with: String(boundPort))
        let answer: [String: Any] = [
            "authToken": token, "issuedAt": Int(Date().timeIntervalSince1970 * 1000), "endPoint": endPoint,
        ]
        return (ok(answer), nil)
    }

    // MARK: - Profile lists

    private static let listKeyColumns = [
        "RIID_", "CUSTOMER_ID_", "EMAIL_ADDRESS_", "MOBILE_NUMBER_", "EMAIL_MD5_HASH_", "EMAIL_SHA256_HASH_",
    ]

    /// The parts of a `mergeRule` the fake acts on.
    private struct MergeRule {
        var insertOnNoMatch: Bool
        var replace: Bool
        var match1: String
        var match2: String?
        var matchBoth: Bool
    }

    private func parseRule(_ object: [String: Any], pet: Bool) -> Result<MergeRule, ServerReply> {
        let allowed = pet ? Self.listKeyColumns.map { String($0.dropLast()) } : Self.listKeyColumns
        guard let match1 = (object["matchColumnName1"] as? String)?.uppercased(), allowed.contains(match1) else {
            return .failure(error(400, "INVALID_PARAMETER", "Match Column is null"))
        }
        var match2: String?
        if let second = object["matchColumnName2"] as? String {
            guard allowed.contains(second.uppercased()) else {
                return .failure(error(400, "INVALID_PARAMETER", "Match Column 2 is invalid"))
            }
            match2 = second.uppercased()
        }
        if let third = object["matchColumnName3"], !(third is NSNull) {
            return .failure(error(400, "INVALID_PARAMETER", "matchColumnName3 is deprecated and must be null"))
        }
        let update = (object["updateOnMatch"] as? String) ?? "REPLACE_ALL"
        guard update == "REPLACE_ALL" || update == "NO_UPDATE" else {
            return .failure(error(400, "INVALID_PARAMETER", "updateOnMatch must be REPLACE_ALL or NO_UPDATE"))
        }
        return .success(
            MergeRule(
                insertOnNoMatch: (object["insertOnNoMatch"] as? Bool) ?? true, replace: update == "REPLACE_ALL",
                match1: match1, match2: match2, matchBoth: (object["matchOperator"] as? String) == "AND"))
    }

    /// `recordData` as upper-cased field names and string rows.
    /// The rule and the records of a list or PET merge body, or the error reply the real service would give.
    private func parseMerge(rule ruleObject: [String: Any], body object: [String: Any], pet: Bool)
        -> Result<(MergeRule, [String], [[String]]), ServerReply>
    {
        parseRule(ruleObject, pet: pet).flatMap { rule in
            parseRecordData(object).map { (rule, $0.0, $0.1) }
        }
    }

    private func parseRecordData(_ object: [String: Any]) -> Result<([String], [[String]]), ServerReply> {
        guard let data = object["recordData"] as? [String: Any], let names = data["fieldNames"] as? [String],
            let rows = data["records"] as? [[Any]]
        else { return .failure(error(400, "INVALID_PARAMETER", "recordData with fieldNames and records is required")) }
        guard rows.count <= 200 else {
            return .failure(error(400, "INVALID_PARAMETER", "At most 200 records are allowed per call"))
        }
        return .success((names.map { $0.uppercased() }, rows.map { $0.map { ($0 as? String) ?? "\($0)" } }))
    }

    private func mergeList(_ request: ServerRequest, list: String) -> (ServerReply, Int?) {
        guard members[list] != nil else { return (error(404, "LIST_NOT_FOUND", "List \(list) not found"), nil) }
        guard let object = jsonObject(request.body) else {
            return (error(400, "INVALID_PARAMETER", "Body is not JSON"), nil)
        }
        guard let ruleObject = object["mergeRule"] as? [String: Any] else {
            return (error(400, "INVALID_PARAMETER", "mergeRule is required"), nil)
        }
        let (rule, names, rows): (MergeRule, [String], [[String]])
        switch parseMerge(rule: ruleObject, body: object, pet: false) {
        case .success(let parsed): (rule, names, rows) = parsed
        case .failure(let reply): return (reply, nil)
        }
        guard names.contains(rule.match1) else {
            return (error(400, "INVALID_PARAMETER", "fieldNames must contain the match column \(rule.match1)"), nil)
        }
        var results: [[String]] = []
        for (index, row) in rows.enumerated() {
            switch mergeMember(list: list, names: names, values: row, rule: rule) {
            case .success(let riid): results.append([riid])
            case .failure(let failure):
                results.append(["MERGEFAILED: Record \(index) = \(failure.code): \(failure.text)"])
            }
        }
        var echoed = object
        echoed["recordData"] = ["fieldNames": ["RIID_"], "records": results, "mapTemplateName": NSNull()]
        echoed["links"] = [["rel": "self", "href": "/rest/api/v1.3/lists/\(list)/members", "method": "POST"]]
        return (ok(echoed), rows.count)
    }

    private struct RecordFailure: Error {
        var code: String
        var text: String
    }

    /// Merges one record into a list; the RIID, or why it failed.
    private func mergeMember(list: String, names: [String], values: [String], rule: MergeRule) -> Result<
        String, RecordFailure
    > {
        guard values.count == names.count else {
            return .failure(
                RecordFailure(
                    code: "INVALID_PARAMETER", text: "Record has \(values.count) values for \(names.count) fields"))
        }
        var fields: [String: String] = [:]
        for (name, value) in zip(names, values) { fields[name] = value }
        if let email = fields["EMAIL_ADDRESS_"], !email.isEmpty, !Self.isValidEmail(email) {
            return .failure(
                RecordFailure(code: "INVALID_EMAIL_ADDRESS", text: "The value is not a valid email address"))
        }
        guard let key1 = fields[rule.match1], !key1.isEmpty else {
            return .failure(RecordFailure(code: "INVALID_PARAMETER", text: "The match column \(rule.match1) is empty"))
        }
        let table = members[list, default: FakeTable()]
        let index: Int?
        if let match2 = rule.match2, let key2 = fields[match2] {
            if rule.matchBoth {
                index = table.ids(column: rule.match1, value: key1).first { id in
                    Self.same(table[id][match2], key2, column: match2)
                }
            } else {
                index = [table.firstID(column: rule.match1, value: key1), table.firstID(column: match2, value: key2)]
                    .compactMap { $0 }.min()
            }
        } else {
            index = table.firstID(column: rule.match1, value: key1)
        }
        if let index {
            if rule.replace { members[list]!.update(index, with: fields.filter { $0.key != "RIID_" }) }
            return .success(members[list]![index]["RIID_"] ?? "")
        }
        guard rule.insertOnNoMatch else {
            return .failure(
                RecordFailure(code: "NO_RECIPIENT_FOUND", text: "No matching record and insertOnNoMatch is false"))
        }
        let riid = String(nextRIID)
        nextRIID += 1
        fields["RIID_"] = riid
        members[list, default: FakeTable()].insert(fields)
        return .success(riid)
    }

    private static func same(_ stored: String?, _ given: String, column: String) -> Bool {
        guard let stored else { return false }
        return column.hasPrefix("EMAIL_ADDRESS") ? stored.lowercased() == given.lowercased() : stored == given
    }

    static func isValidEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix(".")
        else { return false }
        return !text.contains(where: { $0.isWhitespace || $0 == "," || $0 == ";" })
    }

    private func deleteMembers(_ request: ServerRequest, list: String) -> (ServerReply, Int?) {
        guard members[list] != nil else { return (error(404, "LIST_NOT_FOUND", "List \(list) not found"), nil) }
        guard let (column, ids) = parseDelete(request.body) else {
            return (error(400, "INVALID_PARAMETER", "queryAttribute (r, e, c or m) and ids are required"), nil)
        }
        var results: [[String]] = []
        for id in ids {
            if let index = members[list]!.firstID(column: column, value: id) {
                let riid = members[list]![index]["RIID_"] ?? ""
                members[list]!.remove(index)
                for pet in configuration.pets where pet.list == list {
                    let table = list + "/" + pet.name
                    for row in petRows[table]?.ids(column: "RIID_", value: riid) ?? [] { petRows[table]!.remove(row) }
                }
                results.append([riid])
            } else {
                results.append(["DELETEFAILED: Record not Found in the List."])
            }
        }
        return (ok(deleteAnswer(results, href: "/rest/api/v1.3/lists/\(list)/members")), ids.count)
    }

    private func parseDelete(_ body: Data) -> (String, [String])? {
        guard let object = jsonObject(body), let attribute = object["queryAttribute"] as? String,
            let column = ["r": "RIID_", "e": "EMAIL_ADDRESS_", "c": "CUSTOMER_ID_", "m": "MOBILE_NUMBER_"][attribute]
        else { return nil }
        // Oracle's examples use a flat array; its spec says nested arrays. Both are accepted.
        if let flat = object["ids"] as? [String], flat.count <= 200 { return (column, flat) }
        if let nested = object["ids"] as? [[String]], nested.count <= 200 { return (column, nested.flatMap { $0 }) }
        return nil
    }

    private func deleteAnswer(_ results: [[String]], href: String) -> [String: Any] {
        [
            "recordData": ["fieldNames": ["RIID_"], "records": results, "mapTemplateName": NSNull()],
            "mergeRule": [String: Any](), "links": [["rel": "self", "href": href, "method": "POST"]],
        ]
    }

    // MARK: - Profile extension tables

    private func pet(_ list: String, _ name: String) -> FakePET? {
        configuration.pets.first { $0.list == list && $0.name.lowercased() == name.lowercased() }
    }

    private func mergePET(_ request: ServerRequest, list: String, pet name: String) -> (ServerReply, Int?) {
        guard members[list] != nil else { return (error(404, "LIST_NOT_FOUND", "List \(list) not found"), nil) }
        guard let pet = pet(list, name) else {
            return (error(404, "PROFILE_EXTENSION_NOT_FOUND", "Profile extension \(name) not found"), nil)
        }
        guard let object = jsonObject(request.body) else {
            return (error(400, "INVALID_PARAMETER", "Body is not JSON"), nil)
        }
        // A PET merge has its rule at the top level, with match columns spelled without the underscore.
        let (rule, names, rows): (MergeRule, [String], [[String]])
        switch parseMerge(rule: object, body: object, pet: true) {
        case .success(let parsed): (rule, names, rows) = parsed
        case .failure(let reply): return (reply, nil)
        }
        if let unknown = names.first(where: { !pet.columns.contains($0) && !Self.listKeyColumns.contains($0) }) {
            return (error(400, "INVALID_FIELD_NAME", "Field \(unknown) is not a column of \(pet.name)"), nil)
        }
        let key = names.first { Self.listKeyColumns.contains($0) }
        let table = pet.list + "/" + pet.name
        var results: [[String]] = []
        for (index, row) in rows.enumerated() {
            func failed(_ code: String, _ text: String) {
                results.append(["MERGEFAILED: Record \(index) = \(code): \(text)"])
            }
            guard row.count == names.count else {
                failed("INVALID_PARAMETER", "Record has \(row.count) values for \(names.count) fields")
                continue
            }
            guard let key, let keyIndex = names.firstIndex(of: key) else {
                failed("INVALID_PARAMETER", "fieldNames must contain a profile list key column such as EMAIL_ADDRESS_")
                continue
            }
            guard let memberID = members[list]!.firstID(column: key, value: row[keyIndex]),
                let riid = members[list]![memberID]["RIID_"]
            else {
                failed("NO_RECIPIENT_FOUND", "No recipient found in the profile list")
                continue
            }
            var fields: [String: String] = ["RIID_": riid]
            for (name, value) in zip(names, row) where pet.columns.contains(name) { fields[name] = value }
            if let existing = petRows[table]!.firstID(column: "RIID_", value: riid) {
                if rule.replace { petRows[table]!.update(existing, with: fields) }
            } else if rule.insertOnNoMatch {
                petRows[table]!.insert(fields)
            } else {
                failed("NO_RECIPIENT_FOUND", "No row in the extension table and insertOnNoMatch is false")
                continue
            }
            results.append([riid])
        }
        var echoed = object
        echoed["recordData"] = ["fieldNames": ["RIID_"], "records": results, "mapTemplateName": NSNull()]
        echoed["links"] = [
            [
                "rel": "self", "href": "/rest/api/v1.3/lists/\(list)/listExtensions/\(pet.name)/members",
                "method": "POST",
            ]
        ]
        return (ok(echoed), rows.count)
    }

    private func deletePETRows(_ request: ServerRequest, list: String, pet name: String) -> (ServerReply, Int?) {
        guard members[list] != nil else { return (error(404, "LIST_NOT_FOUND", "List \(list) not found"), nil) }
        guard let pet = pet(list, name) else {
            return (error(404, "PROFILE_EXTENSION_NOT_FOUND", "Profile extension \(name) not found"), nil)
        }
        guard let (column, ids) = parseDelete(request.body) else {
            return (error(400, "INVALID_PARAMETER", "queryAttribute (r, e, c or m) and ids are required"), nil)
        }
        let table = pet.list + "/" + pet.name
        var results: [[String]] = []
        for id in ids {
            let riid = members[list]!.firstID(column: column, value: id).flatMap { members[list]![$0]["RIID_"] }
            if let riid, let index = petRows[table]!.firstID(column: "RIID_", value: riid) {
                petRows[table]!.remove(index)
                results.append([riid])
            } else {
                results.append(["DELETEFAILED: NO records found for id"])
            }
        }
        return (
            ok(deleteAnswer(results, href: "/rest/api/v1.3/lists/\(list)/listExtensions/\(pet.name)/members")),
            ids.count
        )
    }

    private func listExtensions(list: String) -> (ServerReply, Int?) {
        guard members[list] != nil else { return (error(404, "LIST_NOT_FOUND", "List \(list) not found"), nil) }
        let items: [[String: Any]] = configuration.pets.filter { $0.list == list }.map { pet in
            [
                "profileExtension": ["objectName": pet.name, "folderName": "fake"],
                "fields": pet.columns.map { ["fieldName": $0, "fieldType": "STR500"] },
            ]
        }
        return (ok(items), nil)
    }

    // MARK: - Campaigns

    private func campaign(_ name: String) -> (ServerReply, Int?) {
        guard let list = configuration.campaigns[name] else {
            return (error(404, "CAMPAIGN_NOT_FOUND", "Campaign \(name) not found"), nil)
        }
        return (ok(["name": name, "folderName": "fake", "listName": list, "type": "EMAIL"]), nil)
    }

    private func trigger(_ request: ServerRequest, campaign name: String) -> (ServerReply, Int?) {
        guard let list = configuration.campaigns[name] else {
            return (error(404, "CAMPAIGN_NOT_FOUND", "Campaign \(name) not found"), nil)
        }
        guard let object = jsonObject(request.body),
            let data = object["mergeTriggerRecordData"] as? [String: Any], let names = data["fieldNames"] as? [String],
            let records = data["mergeTriggerRecords"] as? [[String: Any]]
        else { return (error(400, "INVALID_PARAMETER", "mergeTriggerRecordData is required"), nil) }
        guard records.count <= 200 else {
            return (error(400, "RECIPIENT_LIMIT_EXCEEDED", "At most 200 recipients are allowed per call"), nil)
        }
        guard let ruleObject = object["mergeRule"] as? [String: Any] else {
            return (error(400, "INVALID_PARAMETER", "mergeRule is required"), nil)
        }
        let rule: MergeRule
        switch parseRule(ruleObject, pet: false) {
        case .success(let parsed): rule = parsed
        case .failure(let reply): return (reply, nil)
        }
        // Non-ASCII text in optionalData must arrive \u-escaped: look for its raw UTF-8 bytes in the body.
        var optional: [[(String, String)]] = []
        for record in records {
            let pairs = (record["optionalData"] as? [[String: Any]] ?? []).map {
                (($0["name"] as? String) ?? "", ($0["value"] as? String) ?? "")
            }
            for (key, value) in pairs {
                for text in [key, value] where text.unicodeScalars.contains(where: { $0.value > 0x7F }) {
                    if request.body.range(of: Data(text.utf8)) != nil {
                        return (
                            error(
                                400, "INVALID_REQUEST_CONTENT",
                                "Non-ASCII characters in optionalData must be escaped as \\uXXXX"), nil
                        )
                    }
                }
            }
            optional.append(pairs)
        }
        let upperNames = names.map { $0.uppercased() }
        var answers: [[String: Any]] = []
        for (index, record) in records.enumerated() {
            let values = (record["fieldValues"] as? [Any] ?? []).map { ($0 as? String) ?? "\($0)" }
            switch mergeMember(list: list, names: upperNames, values: values, rule: rule) {
            case .success(let riid):
                let member = members[list]!.firstID(column: "RIID_", value: riid).map { members[list]![$0] } ?? [:]
                emails.append([
                    "campaign": name, "riid": riid, "email": member["EMAIL_ADDRESS_"] ?? "",
                    "optionalData": Dictionary(optional[index], uniquingKeysWith: { _, last in last }),
                ])
                answers.append(["recipientId": Int(riid) ?? -1, "success": true, "errorMessage": NSNull()])
            case .failure(let failure):
                answers.append([
                    "recipientId": -1, "success": false, "errorMessage": "\(failure.code): \(failure.text)",
                ])
            }
        }
        return (ok(answers), records.count)
    }

    // MARK: - Rate limits

    private static let functions: [(api: String, path: String, verb: String)] = [
        ("login", "/auth/token", "POST"),
        ("mergeListMembers", "/lists/{listName}/members", "POST"),
        ("deleteListMembers", "/lists/{listName}/members?action=delete", "POST"),
        ("mergeProfileExtensionMembers", "/lists/{listName}/listExtensions/{petName}/members", "POST"),
        ("deleteProfileExtensionMembers", "/lists/{listName}/listExtensions/{petName}/members?action=delete", "POST"),
        ("mergeTriggerEmail", "/campaigns/{campaignName}/email", "POST"),
        ("retrieveProfileExtensions", "/lists/{listName}/listExtensions", "GET"),
        ("retrieveCampaign", "/campaigns/{campaignName}", "GET"),
    ]

    private func rateLimits() -> [[String: Any]] {
        Self.functions.map {
            [
                "api": $0.api, "resource_path": $0.path, "verb": $0.verb, "limit": faults.limitPerWindow ?? 1000,
                "description": "Calls per minute for \($0.api)",
            ]
        }
    }

    // MARK: - Control endpoints

    private func control(_ request: ServerRequest) -> ServerReply {
        switch (request.method, request.path) {
        case ("GET", "/_fake/state"):
            return .respond(status: 200, contentType: "application/json", body: stateJSON())
        case ("GET", "/_fake/stats"):
            let stats = currentStats()
            let object: [String: Any] = [
                "calls": stats.calls, "throttled": stats.throttled, "capacityRejected": stats.capacityRejected,
                "failed": stats.failed, "dropped": stats.dropped, "logins": stats.logins,
                "invalidToken": stats.invalidToken, "maxInWindow": stats.maxInWindow,
            ]
            return .respond(status: 200, contentType: "application/json", body: json(object))
        case ("POST", "/_fake/faults"):
            guard let object = jsonObject(request.body) else {
                return .respond(status: 400, contentType: "text/plain", body: Data("body must be a JSON object".utf8))
            }
            lock.withLock {
                if let v = object["latencyMs"] as? Int { faults.latencyMs = v }
                if let v = object["failRate"] as? Double { faults.failRate = v }
                if let v = object["dropRate"] as? Double { faults.dropRate = v }
                if let v = object["limitPerMinute"] as? Int { faults.limitPerWindow = v > 0 ? v : nil }
                if let v = object["limitWindowSeconds"] as? Double { faults.limitWindowSeconds = v }
                if let v = object["throttleStatus"] as? Int { faults.throttleStatus = v }
                if let v = object["failNext"] as? Int { faults.failNext = v }
                if let v = object["dropNext"] as? Int { faults.dropNext = v }
                if let v = object["throttleNext"] as? Int { faults.throttleNext = v }
                if let v = object["capacityNext"] as? Int { faults.capacityNext = v }
                if let v = object["tokenTTL"] as? Double { faults.tokenTTL = v }
                if object["expireTokens"] as? Bool == true { tokens = [:] }
            }
            return .respond(status: 204, contentType: "text/plain", body: Data())
        default:
            return .respond(status: 404, contentType: "text/plain", body: Data("unknown control path".utf8))
        }
    }

    /// Invalidates every token handed out so far (the next call of each client fails as expired).
    public func expireTokens() { lock.withLock { tokens = [:] } }

    // MARK: - Helpers

    private func stateObject() -> [String: Any] {
        [
            "lists": members.mapValues(\.all), "pets": petRows.mapValues(\.all), "emails": emails,
        ]
    }

    private func endPointPrefix() -> String {
        let endPoint = configuration.endPoint.replacingOccurrences(of: "{port}", with: String(boundPort))
        guard let url = URL(string: endPoint.contains("://") ? endPoint : "http://" + endPoint) else { return "" }
        let path = url.path
        return path == "/" ? "" : String(path.hasSuffix("/") ? path.dropLast() : path[...])
    }

    private func notFound(_ request: ServerRequest) -> ServerReply {
        error(404, "RESOURCE_NOT_FOUND", "No resource at \(request.method) \(request.path)")
    }

    private func error(_ status: Int, _ code: String, _ detail: String) -> ServerReply {
        let envelope: [String: Any] = [
            "type": "", "title": code, "errorCode": code, "detail": detail, "errorDetails": [Any](),
        ]
        return .respond(status: status, contentType: "application/json", body: json(envelope))
    }

    private func ok(_ object: Any) -> ServerReply {
        .respond(status: 200, contentType: "application/json", body: json(object))
    }

    private func json(_ object: Any) -> Data {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    }

    private func jsonObject(_ data: Data) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    private func formFields(_ text: String) -> [(key: String, value: String)] {
        text.split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (s: Substring) in
                s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s)
            }
            return (key: decode(parts[0]), value: parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    private func queryValue(_ query: String, _ name: String) -> String? {
        formFields(query).first { $0.key == name }?.value
    }

    private func writeJournal(
        _ request: ServerRequest, function: String, reply: ServerReply, dropped: Bool, records: Int?
    ) {
        var entry: [String: Any] = [
            "time": ISO8601DateFormatter().string(from: Date()), "method": request.method, "path": request.path,
            "host": request.headers["host"] ?? "", "function": function, "dropped": dropped,
        ]
        if case .respond(let status, _, let body) = reply {
            entry["status"] = status
            if status >= 300, let code = jsonObject(body)?["errorCode"] { entry["errorCode"] = code }
        }
        if let records { entry["records"] = records }
        var line = json(entry)
        line.append(0x0A)
        lock.withLock { try? journal?.write(contentsOf: line) }
    }

    private func monotonic() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

/// A small seeded generator, so fault injection is reproducible with `--seed`.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// Lets the parsing helpers return an error answer through `Result`.
extension ServerReply: Error {}
