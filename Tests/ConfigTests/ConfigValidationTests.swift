import Foundation
import Testing

@testable import Config

private let configPath = "/etc/retl/responsys-etl.toml"

private func load(_ text: String) throws -> ETLConfig {
    try ConfigLoader.parse(text: text, path: configPath)
}

private func problems(_ text: String) throws -> [ConfigError.Problem] {
    do {
        _ = try ConfigLoader.parse(text: text, path: configPath)
    } catch {
        return error.problems
    }
    Issue.record("expected the config to be refused")
    return []
}

/// The problem about `key`, or a recorded failure listing what was found.
private func problem(_ found: [ConfigError.Problem], key: String) throws -> ConfigError.Problem {
    try #require(found.first { $0.key == key }, "no problem for \(key) in \(found)")
}

@Suite struct ConfigValidationTests {
    @Test func designExampleParsesWithDefaultsAndResolvedPaths() throws {
        let config = try load(designExample)
        #expect(config.path == configPath)
        #expect(config.digest.count == 64)
        #expect(config.stagingDir == "/etc/retl/staging")
        #expect(Set(config.workflows.keys) == ["events", "newsletter", "welcome"])

        let interact = InteractAuthConfig(
            username: "api_user", password: .environment("RESPONSYS_PASSWORD"), instance: .interact5, baseURL: nil)
        #expect(config.auths["interact"] == .interact(interact))
        let sftp = SFTPAuthConfig(
            host: "files.responsys.net", port: 22, username: "acme_scp", privateKeyFile: "/etc/retl/keys/id_rsa",
            knownHostsFile: "/etc/retl/keys/known_hosts", pgpPrivateKeyFile: "/etc/retl/keys/pgp.asc",
            pgpPassphrase: .environment("PGP_PASSPHRASE"))
        #expect(config.auths["files"] == .sftp(sftp))

        let events = try #require(try config.workflow(named: "events").importEvents)
        #expect(events.authName == "files")
        #expect(events.sftp == sftp)
        #expect(events.remoteDir == "/download")
        #expect(events.pattern == "*.txt*")
        #expect(events.stableSeconds == 30)
        #expect(events.afterImport == .keep)
        #expect(events.delimiter == nil)
        #expect(events.encoding == .utf8)
        #expect(events.stream == "responsys_events")
        #expect(events.maxRejectRatio == nil)
        #expect(events.sink == .sqlite(path: "/etc/retl/data/warehouse.sqlite"))

        let newsletter = try #require(try config.workflow(named: "newsletter").exportUsers)
        #expect(newsletter.interact == interact)
        #expect(newsletter.list == "MASTER_LIST")
        #expect(
            newsletter.source
                == .sqlite(
                    path: "/etc/retl/data/warehouse.sqlite", queryFile: "/etc/retl/sql/audiences/newsletter.sql"))
        #expect(newsletter.additionalFields == ["first_name", "last_name", "city"])
        #expect(newsletter.audienceMemberships == ["newsletter", "high_value"])
        #expect(newsletter.onExit == .delete)
        #expect(newsletter.maxExitRatio == 0.5)
        #expect(newsletter.overwriteWithEmpty == false)
        #expect(newsletter.userFieldsPET == "Lytics_User_Fields")
        #expect(newsletter.segmentsPET == "Lytics_Segments")
        #expect(newsletter.mergeRule == MergeRuleConfig(defaultPermissionStatus: .optout))
        #expect(newsletter.memoryBudgetMB == 64)
        #expect(newsletter.concurrency == 4)
        #expect(newsletter.rateLimitPerMinute == nil)

        let welcome = try #require(try config.workflow(named: "welcome").exportCampaign)
        #expect(welcome.campaign == "WELCOME")
        #expect(welcome.list == nil)
        #expect(welcome.source == .file(path: "/etc/retl/exports/new_signups.csv", format: .csv, gzip: false))
        #expect(welcome.additionalFields == ["first_name"])
        #expect(welcome.backFill == false)
        #expect(welcome.emailField == "email")

        #expect(
            config.namedSecretRefs.map(\.key) == ["auth.files.pgp_passphrase", "auth.interact.password"])
        #expect(config.secretRefs == [.environment("PGP_PASSPHRASE"), .environment("RESPONSYS_PASSWORD")])
    }

    @Test func digestIsSHA256OfTheBytes() throws {
        // SHA-256 of the empty string.
        #expect(try load("").digest == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(try load("").stagingDir == "/etc/retl/staging")
    }

    @Test func wrongTypeNamesFileLineAndKey() throws {
        let text =
            baseAuths + """
                [workflows.events]
                type = "import-events"
                auth = "files"
                remote_dir = "/download"
                stable_seconds = "30"
                """
        let found = try problems(text)
        #expect(found.count == 1)
        let wrong = try problem(found, key: "workflows.events.stable_seconds")
        #expect(wrong.code == .wrongType)
        #expect(wrong.line == 17)
        #expect(
            wrong.description
                == "\(configPath):17: key 'workflows.events.stable_seconds': expected an integer, found a string")
    }

    @Test func unknownKeySuggestsTheKnownOne() throws {
        let text =
            baseAuths + """
                [workflows.events]
                type = "import-events"
                auth = "files"
                remote_dir = "/download"
                stable_secnds = 5
                """
        let unknown = try problem(try problems(text), key: "workflows.events.stable_secnds")
        #expect(unknown.code == .unknownKey)
        #expect(unknown.line == 17)
        #expect(unknown.remedy == "did you mean 'stable_seconds'?")
    }

    @Test func misspeltSecretKeySuggestsTheEnvKey() throws {
        let text = baseAuths.replacingOccurrences(of: "password_env = \"PW\"", with: "pasword_env = \"PW\"")
        let unknown = try problem(try problems(text), key: "auth.rest.pasword_env")
        #expect(unknown.code == .unknownKey)
        #expect(unknown.remedy == "did you mean 'password_env'?")
    }

    @Test func unknownTopLevelTable() throws {
        let unknown = try problem(try problems("[logging]\nlevel = \"debug\""), key: "logging")
        #expect(unknown.code == .unknownKey)
        #expect(unknown.line == 1)
    }

    @Test(arguments: ["password", "passphrase", "pgp_passphrase", "private_key_passphrase", "api_key", "token"])
    func inlineSecretIsRefusedWithoutEchoingIt(key: String) throws {
        let text = """
            [auth.rest]
            type = "interact"
            username = "u"
            base_url = "http://127.0.0.1:8080"
            password_env = "PW"
            \(key) = "hunter2-Sup3rSecret"
            """
        let error = try #require(throws: ConfigError.self) { try load(text) }
        #expect(error.codes == [.inlineSecret])
        #expect(error.problems[0].key == "auth.rest.\(key)")
        #expect(error.problems[0].line == 6)
        #expect(error.description.contains("\(key)_env"))
        #expect(error.description.contains("\(key)_file"))
        #expect(!error.description.contains("hunter2"))
        #expect(error.exitStatus == .usage)
    }

    @Test func inlinePasswordAloneIsNotAlsoReportedMissing() throws {
        let text = """
            [auth.rest]
            type = "interact"
            username = "u"
            password = "hunter2"
            instance = "interact2"
            """
        let error = try #require(throws: ConfigError.self) { try load(text) }
        #expect(error.codes == [.inlineSecret])
        #expect(error.description.contains("use password_env"))
        #expect(!error.description.contains("hunter2"))
    }

    @Test func inlineSecretInATableWithABadTypeIsStillReported() throws {
        let text = """
            [auth.rest]
            type = "ldap"
            password = "hunter2"
            """
        let error = try #require(throws: ConfigError.self) { try load(text) }
        #expect(error.codes == [.invalidValue, .inlineSecret])
        #expect(!error.description.contains("hunter2"))
    }

    @Test func thirtyFieldsAreRefused() throws {
        let fields = (1...30).map { "\"field_\($0)\"" }.joined(separator: ", ")
        let text =
            baseAuths + """
                [workflows.news]
                type = "export-users"
                auth = "rest"
                list = "L"
                source = { type = "file", path = "a.ndjson" }
                additional_fields = [\(fields)]
                """
        let limit = try problem(try problems(text), key: "workflows.news.additional_fields")
        #expect(limit.code == .limitExceeded)
        #expect(limit.line == 18)
        #expect(limit.message.contains("at most 29"))

        let twentyNine = (1...29).map { "\"field_\($0)\"" }.joined(separator: ", ")
        let config = try load(text.replacingOccurrences(of: fields, with: twentyNine))
        #expect(try config.workflow(named: "news").exportUsers?.additionalFields.count == 29)
    }

    @Test func aThirtyOneCharacterNameIsRefused() throws {
        let long = String(repeating: "a", count: 31)
        let text =
            baseAuths + """
                [workflows.news]
                type = "export-users"
                auth = "rest"
                list = "L"
                source = { type = "file", path = "a.ndjson" }
                audience_memberships = [
                  "ok",
                  "\(long)",
                ]
                """
        let limit = try problem(try problems(text), key: "workflows.news.audience_memberships[1]")
        #expect(limit.code == .limitExceeded)
        #expect(limit.line == 20)
        #expect(limit.message.contains("31 characters"))

        let thirty = String(repeating: "a", count: 30)
        let config = try load(text.replacingOccurrences(of: long, with: thirty))
        #expect(try config.workflow(named: "news").exportUsers?.audienceMemberships == ["ok", thirty])
    }

    @Test func fieldNamesMustBeColumnNamesAndDistinct() throws {
        let text =
            baseAuths + """
                [workflows.welcome]
                type = "export-campaign"
                auth = "rest"
                campaign = "C"
                source = { type = "file", path = "a.csv" }
                additional_fields = ["first name", "City", "city"]
                """
        let found = try problems(text)
        #expect(try problem(found, key: "workflows.welcome.additional_fields[0]").code == .invalidValue)
        #expect(try problem(found, key: "workflows.welcome.additional_fields[2]").code == .duplicateKey)
    }

    @Test func sftpWithBothKnownHostsAndFingerprint() throws {
        let text = baseAuths.replacingOccurrences(
            of: "private_key_file = \"/keys/id\"", with: "private_key_file = \"/keys/id\"\nknown_hosts_file = \"kh\"")
        let conflict = try problem(try problems(text), key: "auth.files.host_key_sha256")
        #expect(conflict.code == .conflictingKeys)
        #expect(conflict.message.contains("exactly one of known_hosts_file and host_key_sha256"))
    }

    @Test func sftpWithNeitherKnownHostsNorFingerprint() throws {
        let text = baseAuths.replacingOccurrences(of: "host_key_sha256", with: "# host_key_sha256")
        let conflict = try problem(try problems(text), key: "auth.files.known_hosts_file")
        #expect(conflict.code == .conflictingKeys)
    }

    @Test(arguments: ["MD5:aa:bb", "SHA256:short", "sha256:" + String(repeating: "A", count: 43)])
    func badFingerprint(fingerprint: String) throws {
        let text = baseAuths.replacingOccurrences(
            of: "SHA256:" + String(repeating: "A", count: 43), with: fingerprint)
        let bad = try problem(try problems(text), key: "auth.files.host_key_sha256")
        #expect(bad.code == .invalidValue)
        #expect(bad.line == 12)
    }

    @Test func realFingerprintIsAccepted() throws {
        #expect(AuthValidation.isSHA256Fingerprint("SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"))
    }

    @Test func interactNeedsExactlyOneOfInstanceAndBaseURL() throws {
        let both = baseAuths.replacingOccurrences(
            of: "base_url = \"http://127.0.0.1:8080\"",
            with: "base_url = \"http://127.0.0.1:8080\"\ninstance = \"interact2\"")
        #expect(try problem(try problems(both), key: "auth.rest.base_url").code == .conflictingKeys)
        let badInstance = baseAuths.replacingOccurrences(
            of: "base_url = \"http://127.0.0.1:8080\"", with: "instance = \"interact7\"")
        let bad = try problem(try problems(badInstance), key: "auth.rest.instance")
        #expect(bad.code == .invalidValue)
        #expect(bad.message.contains("'interact7' is not one of 'interact2', 'interact5', 'interact8', 'interact9'"))
    }

    /// A URL may carry credentials (`https://user:password@host`), so a refused one is named, not quoted.
    @Test func aRefusedBaseURLIsNotQuoted() throws {
        let text = baseAuths.replacingOccurrences(
            of: "base_url = \"http://127.0.0.1:8080\"", with: "base_url = \"ftp://etl:Sup3rSecret@host\"")
        let bad = try problem(try problems(text), key: "auth.rest.base_url")
        #expect(bad.code == .invalidValue)
        #expect(!bad.description.contains("Sup3rSecret"), "\(bad)")
    }

    @Test func missingRequiredKeysAreAllReported() throws {
        let text = """
            [auth.rest]
            type = "interact"
            instance = "interact2"
            """
        let found = try problems(text)
        #expect(found.map(\.key) == ["auth.rest.username", "auth.rest.password_env"])
        #expect(found.allSatisfy { $0.code == .missingKey && $0.line == 1 })
    }

    @Test func severalProblemsComeSortedByLine() throws {
        let text = """
            [workflows.a]
            type = "import-events"
            auth = "nowhere"
            remote_dir = 5
            stable_seconds = -1
            """
        let error = try #require(throws: ConfigError.self) { try load(text) }
        #expect(error.codes == [.unknownAuth, .wrongType, .invalidValue])
        #expect(error.problems.map(\.line) == [3, 4, 5])
        #expect(error.description.split(separator: "\n").count == 3)
    }

    @Test func workflowMustNameAnAuthOfTheRightType() throws {
        let text =
            baseAuths + """
                [workflows.events]
                type = "import-events"
                auth = "rest"
                remote_dir = "/download"
                """
        let wrong = try problem(try problems(text), key: "workflows.events.auth")
        #expect(wrong.code == .unknownAuth)
        #expect(wrong.message.contains("needs \"sftp\""))
    }

    @Test func importEventsOptions() throws {
        let text =
            baseAuths + """
                [workflows.events]
                type = "import-events"
                auth = "files"
                remote_dir = "/download"
                ready_suffix = ".ready"
                stable_seconds = 0
                after_import = "move:/archive"
                delimiter = "\\t"
                encoding = "windows-1252"
                source_timezone = "+02:00"
                stream = "events_eu"
                max_reject_ratio = 0.25

                [workflows.events.sink]
                type = "http"
                url = "https://collector.example/ingest"
                api_key_file = "secrets/collector.key"
                batch_size = 500
                """
        let events = try #require(try load(text).workflow(named: "events").importEvents)
        #expect(events.readySuffix == ".ready")
        #expect(events.stableSeconds == 0)
        #expect(events.afterImport == .move("/archive"))
        #expect(events.delimiter == .tab)
        #expect(events.delimiter?.byte == 9)
        #expect(events.encoding == .windows1252)
        #expect(events.sourceTimezone == UTCOffset(seconds: 7200))
        #expect(events.stream == "events_eu")
        #expect(events.maxRejectRatio == 0.25)
        let sink = HTTPSinkConfig(
            url: "https://collector.example/ingest", apiKey: .file("/etc/retl/secrets/collector.key"),
            header: "X-API-Key", batchSize: 500)
        #expect(events.sink == .http(sink))
        #expect(try load(text).secretRefs.contains(.file("/etc/retl/secrets/collector.key")))
    }

    @Test(arguments: [
        ("after_import = \"archive\"", "after_import"), ("delimiter = \":\"", "delimiter"),
        ("encoding = \"ascii\"", "encoding"), ("source_timezone = \"Europe/Paris\"", "source_timezone"),
        ("source_timezone = \"+25:00\"", "source_timezone"), ("max_reject_ratio = 1.5", "max_reject_ratio"),
        ("sink = { type = \"kafka\" }", "sink.type"), ("sink = { type = \"sqlite\" }", "sink.path"),
        ("sink = { type = \"http\", url = \"ftp://x\", api_key_env = \"K\" }", "sink.url"),
        ("sink = { type = \"http\", url = \"http://x\" }", "sink.api_key_env"),
        ("sink = { type = \"ndjson\", dir = \"out\", extra = 1 }", "sink.extra"),
        ("stable_seconds = 1.5", "stable_seconds"),
    ])
    func importEventsBadValues(line: String, key: String) throws {
        let text =
            baseAuths + """
                [workflows.events]
                type = "import-events"
                auth = "files"
                remote_dir = "/download"
                \(line)
                """
        let found = try problem(try problems(text), key: "workflows.events.\(key)")
        #expect(found.line == 17)
    }

    @Test func timezoneOffsets() {
        #expect(UTCOffset(parsing: "UTC")?.seconds == 0)
        #expect(UTCOffset(parsing: "z")?.seconds == 0)
        #expect(UTCOffset(parsing: "-05:30")?.seconds == -19800)
        #expect(UTCOffset(parsing: "+0100")?.seconds == 3600)
        #expect(UTCOffset(parsing: "+01:60") == nil)
        #expect(UTCOffset(parsing: "01:00") == nil)
        #expect(UTCOffset(parsing: "+1:00") == nil)
    }

    @Test func exportUsersOptionsAndFileFormats() throws {
        let text =
            baseAuths + """
                [workflows.news]
                type = "export-users"
                auth = "rest"
                list = "L"
                source = { type = "file", path = "/data/snap.jsonl.gz" }
                email_field = "mail"
                existing_users = false
                on_exit = "flag"
                max_exit_ratio = 1
                overwrite_with_empty = true
                time_based = true
                user_fields_pet = "UF"
                segments_pet = "SEG"
                default_permission_status = "OPTIN"
                update_on_match = "NO_UPDATE"
                insert_on_no_match = false
                memory_budget_mb = 128
                rate_limit_per_minute = 600
                concurrency = 8
                """
        let users = try #require(try load(text).workflow(named: "news").exportUsers)
        #expect(users.source == .file(path: "/data/snap.jsonl.gz", format: .ndjson, gzip: true))
        #expect(users.emailField == "mail")
        #expect(users.existingUsers == false)
        #expect(users.onExit == .flag)
        #expect(users.maxExitRatio == 1)
        #expect(users.overwriteWithEmpty && users.timeBased)
        #expect(users.userFieldsPET == "UF" && users.segmentsPET == "SEG")
        #expect(
            users.mergeRule
                == MergeRuleConfig(defaultPermissionStatus: .optin, insertOnNoMatch: false, updateOnMatch: .noUpdate))
        #expect(users.memoryBudgetMB == 128)
        #expect(users.rateLimitPerMinute == 600)
        #expect(users.concurrency == 8)
    }

    @Test func sourceFormatMustBeKnown() throws {
        let text =
            baseAuths + """
                [workflows.news]
                type = "export-users"
                auth = "rest"
                list = "L"
                source = { type = "file", path = "snapshot.txt" }
                """
        #expect(try problem(try problems(text), key: "workflows.news.source.path").code == .invalidValue)
        let explicit = text.replacingOccurrences(of: "\"snapshot.txt\"", with: "\"snapshot.txt\", format = \"csv\"")
        #expect(
            try load(explicit).workflow(named: "news").exportUsers?.source
                == .file(path: "/etc/retl/snapshot.txt", format: .csv, gzip: false))
    }

    @Test func exportCampaignOptions() throws {
        let text =
            baseAuths + """
                [workflows.welcome]
                type = "export-campaign"
                auth = "rest"
                campaign = "WELCOME"
                list = "MASTER"
                source = { type = "sqlite", path = "w.sqlite", query_file = "q.sql" }
                back_fill = true
                time_based = true
                rate_limit_per_minute = 100
                """
        let campaign = try #require(try load(text).workflow(named: "welcome").exportCampaign)
        #expect(campaign.list == "MASTER")
        #expect(campaign.backFill && campaign.timeBased)
        #expect(campaign.rateLimitPerMinute == 100)
        #expect(campaign.source == .sqlite(path: "/etc/retl/w.sqlite", queryFile: "/etc/retl/q.sql"))
        #expect(campaign.interact.baseURL == "http://127.0.0.1:8080")
    }

    @Test func workflowNamesMustBeFolderNames() throws {
        let text =
            baseAuths + """
                [workflows."../escape"]
                type = "export-campaign"
                auth = "rest"
                campaign = "C"
                source = { type = "file", path = "a.csv" }
                """
        let bad = try problem(try problems(text), key: "workflows.../escape")
        #expect(bad.code == .invalidValue)
    }

    @Test func unknownWorkflowListsTheKnownOnes() throws {
        let config = try load(designExample)
        let error = try #require(throws: ConfigError.self) { try config.workflow(named: "nope") }
        #expect(error.code == .unknownWorkflow)
        #expect(error.remedy == "known workflows: events, newsletter, welcome")
    }

    @Test func bothEnvAndFileForOneSecret() throws {
        let text = baseAuths.replacingOccurrences(
            of: "password_env = \"PW\"", with: "password_env = \"PW\"\npassword_file = \"pw\"")
        #expect(try problem(try problems(text), key: "auth.rest.password_file").code == .conflictingKeys)
    }

    @Test func secretWrittenIntoAnEnvKeyIsNotEchoed() throws {
        let text = baseAuths.replacingOccurrences(of: "password_env = \"PW\"", with: "password_env = \"hunter2!x\"")
        let error = try #require(throws: ConfigError.self) { try load(text) }
        #expect(error.codes == [.invalidValue])
        #expect(error.problems[0].key == "auth.rest.password_env")
        #expect(!error.description.contains("hunter2"))
    }

    @Test func interactTimeouts() throws {
        let config = try load(
            baseAuths + "[auth.other]\ntype = \"interact\"\nusername = \"u\"\npassword_env = \"P\"\n"
                + "instance = \"interact9\"\nconnect_timeout_seconds = 5\nrequest_timeout_seconds = 30\n")
        guard case .interact(let rest)? = config.auths["rest"], case .interact(let other)? = config.auths["other"]
        else {
            Issue.record("expected two interact auths")
            return
        }
        #expect(rest.connectTimeoutSeconds == 15 && rest.requestTimeoutSeconds == 120)
        #expect(other.connectTimeoutSeconds == 5 && other.requestTimeoutSeconds == 30)
        #expect(other.instance == .interact9)
    }
}
