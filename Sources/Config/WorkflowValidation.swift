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

    // MARK: Shared pieces

    /// The auth `name`, which must exist and be of `type`.
    func auth(_ name: String, _ type: String, _ workflow: TableReader) -> AuthConfig? {
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

    func source(_ workflow: TableReader) -> AudienceSource? {
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
    func fieldNames(_ workflow: TableReader, _ name: String) -> [String]? {
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
