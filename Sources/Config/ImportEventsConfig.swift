/// `type = "import-events"`: Responsys event files from SFTP into a sink.
/// Local paths are absolute (relative ones in the config are resolved against the config file's folder).
public struct ImportEventsConfig: Sendable, Equatable {
    /// `auth`: the name of an sftp auth.
    public var authName: String
    /// The sftp auth that `auth` names.
    public var sftp: SFTPAuthConfig
    /// `remote_dir`: the folder on the server (a remote path, not resolved locally).
    public var remoteDir: String
    /// `pattern`: a glob over file names, default `*`.
    public var pattern: String
    /// `ready_suffix`: when set, a file is taken only when `NAME + suffix` exists beside it.
    public var readySuffix: String?
    /// `stable_seconds`, default 30: without a ready suffix, how long size and mtime must not change.
    public var stableSeconds: Int
    /// `after_import`, default keep.
    public var afterImport: AfterImport
    /// `delimiter`; nil means detect it from the header.
    public var delimiter: CSVDelimiter?
    /// `encoding`, default utf-8: what to do with bytes that are not UTF-8.
    public var encoding: EncodingName
    /// `source_timezone`; nil means UTC.
    public var sourceTimezone: UTCOffset?
    /// `stream`, default `responsys_events`.
    public var stream: String
    /// `max_reject_ratio` (0…1): the transform stage fails when more rows than this are rejected.
    public var maxRejectRatio: Double?
    /// `sink`, default sqlite at `data/warehouse.sqlite`.
    public var sink: SinkConfig
}

/// What happens to a remote file once its events are loaded.
public enum AfterImport: Sendable, Equatable {
    case keep
    case delete
    /// `"move:/archive"`: move into this remote folder.
    case move(String)
}

/// The CSV delimiters the transform knows. The config accepts the character itself (`"\t"` for tab) or
/// its name (`comma`, `semicolon`, `tab`, `pipe`).
public enum CSVDelimiter: String, Sendable, CaseIterable {
    case comma = ","
    case semicolon = ";"
    case tab = "\t"
    case pipe = "|"

    /// The delimiter as a byte.
    public var byte: UInt8 { rawValue.utf8.first ?? UInt8(ascii: ",") }
}

/// How bytes that are not UTF-8 are treated: `utf-8` rejects the row, the others transcode.
public enum EncodingName: String, Sendable, CaseIterable {
    case utf8 = "utf-8"
    case windows1252 = "windows-1252"
    case latin1 = "latin-1"
}

/// A fixed offset from UTC: `source_timezone = "UTC"`, `"Z"`, `"+02:00"` or `"-0530"`. Named zones with
/// daylight saving are not accepted, as Responsys writes its timestamps in one fixed zone.
public struct UTCOffset: Sendable, Equatable {
    /// Seconds east of UTC.
    public var seconds: Int

    public init(seconds: Int) { self.seconds = seconds }

    /// Parses `UTC`, `GMT`, `Z`, `±HH:MM` or `±HHMM` (up to ±14:00); nil otherwise.
    public init?(parsing text: String) {
        if ["UTC", "GMT", "Z"].contains(text.uppercased()) {
            seconds = 0
            return
        }
        let bytes = Array(text.utf8)
        guard bytes.count == 6 || bytes.count == 5, bytes[0] == UInt8(ascii: "+") || bytes[0] == UInt8(ascii: "-")
        else { return nil }
        let digits = bytes.count == 6 ? [bytes[1], bytes[2], bytes[4], bytes[5]] : Array(bytes[1...4])
        if bytes.count == 6 && bytes[3] != UInt8(ascii: ":") { return nil }
        guard digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        let values = digits.map { Int($0 - UInt8(ascii: "0")) }
        let hours = values[0] * 10 + values[1]
        let minutes = values[2] * 10 + values[3]
        guard minutes < 60, hours * 60 + minutes <= 14 * 60 else { return nil }
        seconds = (bytes[0] == UInt8(ascii: "-") ? -1 : 1) * (hours * 3600 + minutes * 60)
    }
}

/// Where loaded events go.
public enum SinkConfig: Sendable, Equatable {
    /// `{ type = "sqlite", path = "…" }`: the database file.
    case sqlite(path: String)
    /// `{ type = "ndjson", dir = "…" }`: a folder of date-partitioned files.
    case ndjson(dir: String)
    /// `{ type = "http", url = "…", api_key_env = "…" }`: POST NDJSON batches to a collector.
    case http(HTTPSinkConfig)
}

/// The `http` sink.
public struct HTTPSinkConfig: Sendable, Equatable {
    /// `url`: http or https.
    public var url: String
    /// `api_key_env` / `api_key_file`.
    public var apiKey: SecretRef
    /// `header`, default `X-API-Key`: the header that carries the key.
    public var header: String
    /// `batch_size`, default 1000 events per POST (1…100000).
    public var batchSize: Int

    public init(url: String, apiKey: SecretRef, header: String = "X-API-Key", batchSize: Int = 1000) {
        self.url = url
        self.apiKey = apiKey
        self.header = header
        self.batchSize = batchSize
    }
}
