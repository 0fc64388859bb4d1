/// Validation of the `[workflows.NAME]` tables.
struct WorkflowValidation {
    /// The valid auths, and the names of every auth table (valid or not, so a broken auth is reported once).
    let auths: [String: AuthConfig]
    let authNames: Set<String>

    func read(_ workflow: TableReader) -> WorkflowConfig.Settings? {
        guard let type = workflow.value("type") else {
            workflow.missing("type", "\"import-events\", \"export-users\" or \"export-campaign\"")
            workflow.finishIgnoringUnknown()
            return nil
        }
        guard let text = type.string else {
            workflow.problem(.wrongType, "type", "expected a string, found \(type.typeDescription)")
            workflow.finishIgnoringUnknown()
            return nil
        }
        switch WorkflowType(rawValue: text) {
        case .importEvents: return importEvents(workflow).map(WorkflowConfig.Settings.importEvents)
        case .exportUsers: return exportUsers(workflow).map(WorkflowConfig.Settings.exportUsers)
        case .exportCampaign: return exportCampaign(workflow).map(WorkflowConfig.Settings.exportCampaign)
        case nil:
            workflow.problem(
                .invalidValue, "type", "'\(text)' is not one of 'import-events', 'export-users', 'export-campaign'")
            workflow.finishIgnoringUnknown()
            return nil
        }
    }

    // MARK: import-events

    private func importEvents(_ workflow: TableReader) -> ImportEventsConfig? {
        let authName = workflow.requiredString("auth", "the name of an [auth.NAME] table of type \"sftp\"")
        let sftp: SFTPAuthConfig? = authName.flatMap { name in
            guard case .sftp(let sftp)? = auth(name, "sftp", workflow) else { return nil }
            return sftp
        }
        let remoteDir = workflow.requiredString("remote_dir", "the folder on the SFTP server")
        let pattern = workflow.has("pattern") ? workflow.string("pattern") : "*"
        let readySuffix = workflow.string("ready_suffix")
        let stableSeconds = workflow.has("stable_seconds") ? workflow.integer("stable_seconds", in: 0...86_400) : 30
        let afterImport = workflow.has("after_import") ? self.afterImport(workflow) : .keep
        let delimiter = workflow.has("delimiter") ? self.delimiter(workflow) : nil
        let encoding = workflow.has("encoding") ? workflow.choice("encoding", TextEncoding.self) : .utf8
        let timezone = workflow.has("source_timezone") ? self.timezone(workflow) : nil
        let stream = workflow.has("stream") ? workflow.string("stream") : "responsys_events"
        let maxRejectRatio = workflow.ratio("max_reject_ratio")
        let sink =
            workflow.has("sink")
            ? workflow.subtable("sink").flatMap(self.sink)
            : .sqlite(path: workflow.diagnostics.resolve("data/warehouse.sqlite"))
        workflow.finish()

        guard let authName, let sftp, let remoteDir, let pattern, let stableSeconds, let afterImport, let encoding,
            let stream, let sink
        else { return nil }
        if workflow.has("delimiter") && delimiter == nil { return nil }
        if workflow.has("source_timezone") && timezone == nil { return nil }
        if workflow.has("max_reject_ratio") && maxRejectRatio == nil { return nil }
        return ImportEventsConfig(
            authName: authName, sftp: sftp, remoteDir: remoteDir, pattern: pattern, readySuffix: readySuffix,
            stableSeconds: stableSeconds, afterImport: afterImport, delimiter: delimiter, encoding: encoding,
            sourceTimezone: timezone, stream: stream, maxRejectRatio: maxRejectRatio, sink: sink)
    }

    private func afterImport(_ workflow: TableReader) -> AfterImport? {
        guard let text = workflow.string("after_import") else { return nil }
        switch text {
        case "keep": return .keep
        case "delete": return .delete
        default:
            if text.hasPrefix("move:"), text.count > "move:".count {
                return .move(String(text.dropFirst("move:".count)))
            }
            workflow.problem(
                .invalidValue, "after_import", "'\(text)' is not 'keep', 'delete' or 'move:/remote/folder'")
            return nil
        }
    }

    private func delimiter(_ workflow: TableReader) -> CSVDelimiter? {
        guard let text = workflow.string("delimiter") else { return nil }
        let names: [String: CSVDelimiter] = ["comma": .comma, "semicolon": .semicolon, "tab": .tab, "pipe": .pipe]
        if let delimiter = CSVDelimiter(rawValue: text) ?? names[text.lowercased()] { return delimiter }
        workflow.problem(
            .invalidValue, "delimiter", "must be one of \",\", \";\", \"\\t\", \"|\" (or comma, semicolon, tab, pipe)")
        return nil
    }

    private func timezone(_ workflow: TableReader) -> UTCOffset? {
        guard let text = workflow.string("source_timezone") else { return nil }
        if let offset = UTCOffset(parsing: text) { return offset }
        workflow.problem(
            .invalidValue, "source_timezone", "'\(text)' is not UTC or a fixed offset",
            remedy: "write \"UTC\" or an offset such as \"+02:00\"; named zones are not supported")
        return nil
    }

    private func sink(_ sink: TableReader) -> EventSink? {
        let type = sink.has("type") ? sink.string("type") : nil
        if !sink.has("type") { sink.missing("type", "\"sqlite\", \"ndjson\" or \"http\"") }
        var result: EventSink?
        switch type {
        case "sqlite":
            result = sink.requiredPath("path", "the SQLite database file").map { .sqlite(path: $0) }
        case "ndjson":
            result = sink.requiredPath("dir", "the folder of NDJSON files").map { .ndjson(dir: $0) }
        case "http":
            let url = sink.requiredString("url", "the collector URL")
            if let url, !AuthValidation.isHTTPURL(url) {
                sink.problem(.invalidValue, "url", "'\(url)' is not an http:// or https:// URL with a host")
            }
            let apiKey = sink.secret("api_key", required: true)
            let header = sink.has("header") ? sink.string("header") : "X-API-Key"
            let batchSize = sink.has("batch_size") ? sink.integer("batch_size", in: 1...100_000) : 1000
            if let url, AuthValidation.isHTTPURL(url), let apiKey, let header, let batchSize {
                result = .http(HTTPSinkConfig(url: url, apiKey: apiKey, header: header, batchSize: batchSize))
            }
        case let other?:
            sink.problem(.invalidValue, "type", "'\(other)' is not one of 'sqlite', 'ndjson', 'http'")
            sink.finishIgnoringUnknown()
            return nil
        case nil:
            sink.finishIgnoringUnknown()
            return nil
        }
        sink.finish()
        return result
    }

    // MARK: export-users and export-campaign

    private func exportUsers(_ workflow: TableReader) -> ExportUsersConfig? {
        let (authName, interact) = interactAuth(workflow)
        let list = workflow.requiredString("list", "the Responsys profile list")
        let source = self.source(workflow)
        let emailField = workflow.has("email_field") ? workflow.string("email_field") : "email"
        let existingUsers = workflow.has("existing_users") ? workflow.bool("existing_users") : true
        let additionalFields = fieldNames(workflow, "additional_fields")
        let audiences = fieldNames(workflow, "audience_memberships")
        let onExit = workflow.has("on_exit") ? workflow.choice("on_exit", OnExit.self) : .delete
        let maxExitRatio = workflow.has("max_exit_ratio") ? workflow.ratio("max_exit_ratio") : 0.5
        let overwrite = workflow.has("overwrite_with_empty") ? workflow.bool("overwrite_with_empty") : false
        let timeBased = workflow.has("time_based") ? workflow.bool("time_based") : false
        let userFieldsPET = workflow.has("user_fields_pet") ? workflow.string("user_fields_pet") : "Lytics_User_Fields"
        let segmentsPET = workflow.has("segments_pet") ? workflow.string("segments_pet") : "Lytics_Segments"
        let mergeRule = self.mergeRule(workflow)
        let memory = workflow.has("memory_budget_mb") ? workflow.integer("memory_budget_mb", in: 8...65_536) : 64
        let rateLimit = workflow.integer("rate_limit_per_minute", in: 1...1_000_000)
        let concurrency = workflow.has("concurrency") ? workflow.integer("concurrency", in: 1...32) : 4
        workflow.finish()

        guard let authName, let interact, let list, let source, let emailField, let existingUsers,
            let additionalFields, let audiences, let onExit, let maxExitRatio, let overwrite, let timeBased,
            let userFieldsPET, let segmentsPET, let mergeRule, let memory, let concurrency
        else { return nil }
        if workflow.has("rate_limit_per_minute") && rateLimit == nil { return nil }
        return ExportUsersConfig(
            authName: authName, interact: interact, list: list, source: source, emailField: emailField,
            existingUsers: existingUsers, additionalFields: additionalFields, audienceMemberships: audiences,
            onExit: onExit, maxExitRatio: maxExitRatio, overwriteWithEmpty: overwrite, timeBased: timeBased,
            userFieldsPET: userFieldsPET, segmentsPET: segmentsPET, mergeRule: mergeRule, memoryBudgetMB: memory,
            rateLimitPerMinute: rateLimit, concurrency: concurrency)
    }

    private func exportCampaign(_ workflow: TableReader) -> ExportCampaignConfig? {
        let (authName, interact) = interactAuth(workflow)
        let campaign = workflow.requiredString("campaign", "the Responsys campaign to trigger")
        let list = workflow.string("list")
        let source = self.source(workflow)
        let emailField = workflow.has("email_field") ? workflow.string("email_field") : "email"
        let additionalFields = fieldNames(workflow, "additional_fields")
        let backFill = workflow.has("back_fill") ? workflow.bool("back_fill") : false
        let timeBased = workflow.has("time_based") ? workflow.bool("time_based") : false
        let userFieldsPET = workflow.has("user_fields_pet") ? workflow.string("user_fields_pet") : "Lytics_User_Fields"
        let mergeRule = self.mergeRule(workflow)
        let memory = workflow.has("memory_budget_mb") ? workflow.integer("memory_budget_mb", in: 8...65_536) : 64
        let rateLimit = workflow.integer("rate_limit_per_minute", in: 1...1_000_000)
        workflow.finish()

        guard let authName, let interact, let campaign, let source, let emailField, let additionalFields,
            let backFill, let timeBased, let userFieldsPET, let mergeRule, let memory
        else { return nil }
        if workflow.has("list") && list == nil { return nil }
        if workflow.has("rate_limit_per_minute") && rateLimit == nil { return nil }
        return ExportCampaignConfig(
            authName: authName, interact: interact, campaign: campaign, list: list, source: source,
            emailField: emailField, additionalFields: additionalFields, backFill: backFill, timeBased: timeBased,
            userFieldsPET: userFieldsPET, mergeRule: mergeRule, memoryBudgetMB: memory, rateLimitPerMinute: rateLimit)
    }

    private func interactAuth(_ workflow: TableReader) -> (String?, InteractAuthConfig?) {
        let name = workflow.requiredString("auth", "the name of an [auth.NAME] table of type \"interact\"")
        guard let name, case .interact(let interact)? = auth(name, "interact", workflow) else { return (name, nil) }
        return (name, interact)
    }

    private func mergeRule(_ workflow: TableReader) -> MergeRuleConfig? {
        let permission =
            workflow.has("default_permission_status")
            ? workflow.choice("default_permission_status", MergeRuleConfig.PermissionStatus.self) : .optout
        let insert = workflow.has("insert_on_no_match") ? workflow.bool("insert_on_no_match") : true
        let update =
            workflow.has("update_on_match")
            ? workflow.choice("update_on_match", MergeRuleConfig.UpdateOnMatch.self) : .replaceAll
        guard let permission, let insert, let update else { return nil }
        return MergeRuleConfig(defaultPermissionStatus: permission, insertOnNoMatch: insert, updateOnMatch: update)
    }

    // MARK: Shared pieces

    /// The auth `name`, which must exist and be of `type`.
    private func auth(_ name: String, _ type: String, _ workflow: TableReader) -> AuthConfig? {
        if let auth = auths[name] {
            if auth.typeName == type { return auth }
            workflow.problem(
                .unknownAuth, "auth", "auth '\(name)' is of type \"\(auth.typeName)\"; this workflow needs \"\(type)\"")
            return nil
        }
        if !authNames.contains(name) {
            let known = authNames.sorted().map { "'\($0)'" }.joined(separator: ", ")
            workflow.problem(
                .unknownAuth, "auth", "no [auth.\(name)] table in the config",
                remedy: known.isEmpty ? "add one with type = \"\(type)\"" : "defined auths: \(known)")
        }
        return nil
    }

    private func source(_ workflow: TableReader) -> AudienceSource? {
        guard workflow.has("source") else {
            workflow.missing(
                "source", "{ type = \"file\", path = … } or { type = \"sqlite\", path = …, query_file = … }")
            return nil
        }
        guard let source = workflow.subtable("source") else { return nil }
        let type = source.has("type") ? source.string("type") : nil
        var result: AudienceSource?
        switch type {
        case "file":
            let path = source.requiredPath("path", "the audience file (CSV or NDJSON, optionally .gz)")
            let format = source.has("format") ? source.choice("format", AudienceFileFormat.self) : nil
            if let path {
                let gzip = path.lowercased().hasSuffix(".gz")
                if let chosen = format ?? Self.format(ofPath: path) {
                    result = .file(path: path, format: chosen, gzip: gzip)
                } else if !source.has("format") {
                    source.problem(
                        .invalidValue, "path", "cannot tell the format from the file name",
                        remedy:
                            "name it .csv, .ndjson or .jsonl (optionally .gz), or set format = \"csv\" or \"ndjson\"")
                }
            }
        case "sqlite":
            let path = source.requiredPath("path", "the SQLite database file")
            let query = source.requiredPath("query_file", "the SQL file of the audience query")
            if let path, let query { result = .sqlite(path: path, queryFile: query) }
        case let other?:
            source.problem(.invalidValue, "type", "'\(other)' is not one of 'file', 'sqlite'")
            source.finishIgnoringUnknown()
            return nil
        case nil:
            if !source.has("type") { source.missing("type", "\"file\" or \"sqlite\"") }
            source.finishIgnoringUnknown()
            return nil
        }
        source.finish()
        return result
    }

    static func format(ofPath path: String) -> AudienceFileFormat? {
        var name = path.lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        if name.hasSuffix(".csv") { return .csv }
        if name.hasSuffix(".ndjson") || name.hasSuffix(".jsonl") { return .ndjson }
        return nil
    }

    /// Responsys column names: at most 29 of them, each at most 30 characters once upper-cased, letters,
    /// digits and underscores, starting with a letter, no two the same ignoring case.
    private func fieldNames(_ workflow: TableReader, _ name: String) -> [String]? {
        guard workflow.has(name) else { return [] }
        guard let names = workflow.stringArray(name), let elements = workflow.table[name]?.array else { return nil }
        var valid = true
        if names.count > 29 {
            workflow.problem(
                .limitExceeded, name, "has \(names.count) names; Responsys allows at most 29",
                remedy: "split them over several workflows, or drop some")
            valid = false
        }
        var seen: [String: Int] = [:]
        for (position, field) in names.enumerated() {
            let key = workflow.key(name) + "[\(position)]"
            let line = elements[position].line
            let upper = field.uppercased()
            if upper.count > 30 {
                workflow.diagnostics.add(
                    .limitExceeded, line: line, key: key,
                    "'\(field)' has \(upper.count) characters; a Responsys column name has at most 30")
                valid = false
            }
            if !Self.isColumnName(field) {
                workflow.diagnostics.add(
                    .invalidValue, line: line, key: key,
                    "'\(field)' is not a column name: use letters, digits and '_', starting with a letter")
                valid = false
            }
            if let first = seen[upper] {
                workflow.diagnostics.add(
                    .duplicateKey, line: line, key: key, "'\(field)' repeats entry \(first) (names ignore case)")
                valid = false
            }
            seen[upper] = seen[upper] ?? position
        }
        return valid ? names : nil
    }

    static func isColumnName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic else { return false }
        return name.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_")
        }
    }
}

extension TableReader {
    /// Reports inline secrets but no unknown keys: used when the table's `type` is missing or wrong, so the
    /// user gets one error about the type instead of one per key (and still learns about a secret in the file).
    func finishIgnoringUnknown() {
        for key in table.keys where !SecretNames.looksSecret(key) { _ = value(key) }
        finish()
    }
}
