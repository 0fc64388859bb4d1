/// Validation of `type = "import-events"` workflows.
extension WorkflowValidation {
    func importEvents(_ workflow: TableReader) -> ImportEventsConfig? {
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
        let encoding = workflow.has("encoding") ? workflow.choice("encoding", EncodingName.self) : .utf8
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

    func afterImport(_ workflow: TableReader) -> AfterImport? {
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

    func delimiter(_ workflow: TableReader) -> CSVDelimiter? {
        guard let text = workflow.string("delimiter") else { return nil }
        let names: [String: CSVDelimiter] = ["comma": .comma, "semicolon": .semicolon, "tab": .tab, "pipe": .pipe]
        if let delimiter = CSVDelimiter(rawValue: text) ?? names[text.lowercased()] { return delimiter }
        workflow.problem(
            .invalidValue, "delimiter", "must be one of \",\", \";\", \"\\t\", \"|\" (or comma, semicolon, tab, pipe)")
        return nil
    }

    func timezone(_ workflow: TableReader) -> UTCOffset? {
        guard let text = workflow.string("source_timezone") else { return nil }
        if let offset = UTCOffset(parsing: text) { return offset }
        workflow.problem(
            .invalidValue, "source_timezone", "'\(text)' is not UTC or a fixed offset",
            remedy: "write \"UTC\" or an offset such as \"+02:00\"; named zones are not supported")
        return nil
    }

    func sink(_ sink: TableReader) -> SinkConfig? {
        let type = sink.has("type") ? sink.string("type") : nil
        if !sink.has("type") { sink.missing("type", "\"sqlite\", \"ndjson\" or \"http\"") }
        var result: SinkConfig?
        switch type {
        case "sqlite":
            result = sink.requiredPath("path", "the SQLite database file").map { .sqlite(path: $0) }
        case "ndjson":
            result = sink.requiredPath("dir", "the folder of NDJSON files").map { .ndjson(dir: $0) }
        case "http":
            let url = sink.requiredString("url", "the collector URL")
            if let url, !AuthValidation.isHTTPURL(url) {
                sink.problem(.invalidValue, "url", "is not an http:// or https:// URL with a host")
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
}
