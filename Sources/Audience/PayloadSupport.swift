import Core
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The `mergeRule` of a profile-list merge (and of Merge Trigger Email), with every value explicit.
///
/// Defaults (documented for the config): insert when no match, `REPLACE_ALL`, match on
/// `EMAIL_ADDRESS_`, `matchOperator` `NONE`, opt-in/out values `I`/`O`, HTML/text values `H`/`T`,
/// reject a record without an email (`E`), and `defaultPermissionStatus` `OPTOUT` — Responsys' own
/// default, so this tool never opts anyone in unless the config says so.
public struct ListMergeRule: Sendable, Equatable {
    public var insertOnNoMatch = true
    public var updateOnMatch = "REPLACE_ALL"
    public var matchColumnName1 = "EMAIL_ADDRESS_"
    public var matchOperator = "NONE"
    public var optinValue = "I"
    public var optoutValue = "O"
    public var htmlValue = "H"
    public var textValue = "T"
    public var rejectRecordIfChannelEmpty = "E"
    public var defaultPermissionStatus = "OPTOUT"

    public init() {}

    /// The rule as a JSON object.
    public var json: String {
        "{\"insertOnNoMatch\":\(insertOnNoMatch),\"updateOnMatch\":\(JSONText.quote(updateOnMatch)),"
            + "\"matchColumnName1\":\(JSONText.quote(matchColumnName1)),\"matchColumnName2\":null,"
            + "\"matchOperator\":\(JSONText.quote(matchOperator)),\"optinValue\":\(JSONText.quote(optinValue)),"
            + "\"optoutValue\":\(JSONText.quote(optoutValue)),\"htmlValue\":\(JSONText.quote(htmlValue)),"
            + "\"textValue\":\(JSONText.quote(textValue)),"
            + "\"rejectRecordIfChannelEmpty\":\(JSONText.quote(rejectRecordIfChannelEmpty)),"
            + "\"defaultPermissionStatus\":\(JSONText.quote(defaultPermissionStatus))}"
    }
}

/// One request body written by a payload writer, as listed in `plan.json`.
public struct PlannedRequest: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case listMerge = "list-merge"
        case petMerge = "pet-merge"
        case listDelete = "list-delete"
        case mergeTrigger = "merge-trigger"
    }

    public enum Target: String, Sendable {
        case list, pet, campaign
    }

    /// The file name inside the payload folder; names sort in send order.
    public var file: String
    public var kind: Kind
    public var target: Target
    /// The chunk (group of members) this request belongs to; requests of a chunk go in file order.
    public var chunk: Int
    /// `POST` and the path below the endpoint, names percent-encoded.
    public var method: String
    public var path: String
    public var list: String?
    public var pet: String?
    public var campaign: String?
    /// The emails of the records, in record order: record *i* of the response is `emails[i]`.
    public var emails: [String]

    public var records: Int { emails.count }

    var json: String {
        var text = "{\"file\":\(JSONText.quote(file)),\"kind\":\"\(kind.rawValue)\",\"target\":\"\(target.rawValue)\""
        text += ",\"chunk\":\(chunk),\"method\":\(JSONText.quote(method)),\"path\":\(JSONText.quote(path))"
        if let list { text += ",\"list\":\(JSONText.quote(list))" }
        if let pet { text += ",\"pet\":\(JSONText.quote(pet))" }
        if let campaign { text += ",\"campaign\":\(JSONText.quote(campaign))" }
        text += ",\"records\":\(emails.count),\"emails\":["
        text += emails.map { JSONText.quote($0) }.joined(separator: ",")
        return text + "]}"
    }
}

/// What a payload writer produced.
public struct PayloadSummary: Sendable, Equatable {
    /// Member chunks written (each one or more request files).
    public var chunks = 0
    /// Request files written, by kind.
    public var requests: [PlannedRequest.Kind: Int] = [:]
    /// Members in each role.
    public var entered = 0
    public var changed = 0
    public var exited = 0
    /// The plan file.
    public var planPath = ""
    /// The request files in plan order (names inside the payload folder): one per request, a few per
    /// chunk of 200 members, so listing them costs far less than reading the plan's emails back.
    public var files: [String] = []

    public init() {}
}

/// Writes request bodies into a payload folder and keeps the plan; `finish` writes `plan.json`.
///
/// `plan.json` is `{"version":1,"workflow":…,"requests":[…]}` with one request per line, in send order.
final class PayloadFolder {
    static let planFile = "plan.json"
    let folder: String
    let workflow: String
    private var plan: ByteFileWriter
    private var firstRequest = true
    private(set) var summary = PayloadSummary()
    private(set) var chunk = 0
    private var partInChunk = 0

    init(folder: String, workflow: String) throws {
        self.folder = folder
        self.workflow = workflow
        try Files.makeDirectory(folder)
        plan = try ByteFileWriter(path: folder + "/" + PayloadFolder.planFile)
        try plan.write("{\"version\":1,\"workflow\":\(JSONText.quote(workflow)),\"requests\":[\n")
    }

    /// Starts the next chunk of members.
    func startChunk() {
        chunk += 1
        partInChunk = 0
        summary.chunks = chunk
    }

    /// Writes one body and lists it in the plan.
    func add(
        body: [UInt8], name: String, kind: PlannedRequest.Kind, target: PlannedRequest.Target, path: String,
        list: String? = nil, pet: String? = nil, campaign: String? = nil, emails: [String]
    ) throws {
        partInChunk += 1
        let file = String(format: "%06d-%02d-", chunk, partInChunk) + name + ".json"
        // Not synced one by one (a first run can write tens of thousands of bodies): `finish` syncs the
        // file system once before it publishes the plan, the only file that makes them count.
        let writer = try ByteFileWriter(path: folder + "/" + file, durable: false)
        try writer.write(body)
        try writer.commit()
        let request = PlannedRequest(
            file: file, kind: kind, target: target, chunk: chunk, method: "POST", path: path, list: list, pet: pet,
            campaign: campaign, emails: emails)
        try plan.write((firstRequest ? "" : ",\n") + request.json)
        firstRequest = false
        summary.requests[kind, default: 0] += 1
        summary.files.append(file)
    }

    func finish(_ update: (inout PayloadSummary) -> Void) throws -> PayloadSummary {
        try syncFileSystem()
        try plan.write("\n]}\n")
        try plan.commit()
        update(&summary)
        summary.planPath = plan.path
        return summary
    }
}

extension PayloadFolder {
    /// `syncfs(2)`, looked up at run time: Glibc declares it only under `_GNU_SOURCE`, which Swift's
    /// Glibc module does not set. Falls back to `sync(2)` (every file system) where it is missing.
    fileprivate static let syncfs: @convention(c) (Int32) -> Int32 = {
        // A null handle is RTLD_DEFAULT on glibc: the symbol as the program's libraries define it.
        if let symbol = dlsym(nil, "syncfs") {
            return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
        }
        return { _ in
            sync()
            return 0
        }
    }()

    /// Flushes every body written so far to disk with one `syncfs` on the payload folder's file system.
    fileprivate func syncFileSystem() throws {
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw AudienceError(.io, "cannot open \(folder) to sync it", underlying: systemErrorText(errno))
        }
        defer { close(fd) }
        if PayloadFolder.syncfs(fd) != 0 {
            throw AudienceError(.io, "cannot sync the payload bodies in \(folder)", underlying: systemErrorText(errno))
        }
    }
}

/// Request paths (reference §2–§5), names percent-encoded as one path segment each.
enum ResponsysPaths {
    static func segment(_ name: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return name.addingPercentEncoding(withAllowedCharacters: allowed) ?? name
    }

    static func listMembers(_ list: String) -> String { "/rest/api/v1.3/lists/\(segment(list))/members" }

    static func listDelete(_ list: String) -> String { listMembers(list) + "?action=delete" }

    static func petMembers(_ list: String, _ pet: String) -> String {
        "/rest/api/v1.3/lists/\(segment(list))/listExtensions/\(segment(pet))/members"
    }

    static func campaignEmail(_ campaign: String) -> String { "/rest/api/v1.3/campaigns/\(segment(campaign))/email" }
}

/// Column names for Responsys: upper-cased, characters other than letters, digits and `_` replaced by
/// `_`, at most 30 characters (the config refuses longer names at `check`; this is the last guard).
enum ColumnNames {
    static let maximumLength = 30
    static let maximumColumns = 29

    static func column(for name: String, setting: String) throws -> String {
        let mapped = String(
            name.uppercased().unicodeScalars.map { scalar -> Character in
                switch scalar {
                case "A"..."Z", "0"..."9", "_": Character(scalar)
                default: "_"
                }
            })
        guard !mapped.isEmpty, mapped.count <= maximumLength else {
            throw AudienceError(
                .badConfiguration,
                "\(setting) name \(JSONText.quote(name)) is \(mapped.count) characters; Responsys column names hold 1 to 30",
                remedy: "shorten the name in the workflow's \(setting)")
        }
        return mapped
    }

    static func columns(for names: [String], setting: String) throws -> [String] {
        guard names.count <= maximumColumns else {
            throw AudienceError(
                .badConfiguration, "\(setting) lists \(names.count) names; at most \(maximumColumns) are allowed",
                remedy: "remove names from \(setting)")
        }
        return try names.map { try column(for: $0, setting: setting) }
    }
}

/// Reads the members of a diff file one at a time, with the `changed` parts of a changed line.
final class DiffFileReader {
    let path: String
    private let reader: LineReader

    init(path: String) throws {
        self.path = path
        reader = try LineReader(source: FileByteSource(path: path))
    }

    func next() throws -> (member: AudienceMember, changed: Set<String>)? {
        guard let line = try reader.next() else { return nil }
        let value: JSONValue
        do {
            value = try JSONParser.parse(line)
        } catch {
            throw AudienceError(
                .badSnapshot, "\(path) line \(reader.lineNumber) is not JSON", underlying: error.reason,
                remedy: "diff files are written by the transform stage; re-run it")
        }
        let member = try AudienceMember(snapshotValue: value, file: path, lineNumber: reader.lineNumber)
        var changed: Set<String> = []
        if case .object(let pairs) = value,
            case .array(let parts)? = pairs.first(where: { $0.key == "changed" })?.value
        {
            for part in parts { if case .string(let name) = part { changed.insert(name) } }
        }
        return (member, changed)
    }
}

/// Builds the `recordData` bodies shared by list and PET merges.
struct RecordDataBuilder {
    private(set) var bytes: [UInt8] = []
    private var firstRecord = true

    init(fieldNames: [String]) {
        bytes.append("{\"recordData\":{\"fieldNames\":[")
        for (index, name) in fieldNames.enumerated() {
            if index > 0 { bytes.append(0x2C) }
            appendJSONString(name, to: &bytes)
        }
        bytes.append("],\"records\":[")
    }

    mutating func addRecord(_ values: [String]) {
        if !firstRecord { bytes.append(0x2C) }
        firstRecord = false
        bytes.append(0x5B)
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(0x2C) }
            appendJSONString(value, to: &bytes)
        }
        bytes.append(0x5D)
    }

    /// Closes `recordData` and appends the rest of the body (`,"mergeRule":{…}}` or the PET keys).
    func finished(tail: String) -> [UInt8] {
        var out = bytes
        out.append("],\"mapTemplateName\":null}")
        out.append(contentsOf: Array(tail.utf8))
        return out
    }
}

/// The top-level merge keys of a PET body (no `mergeRule` wrapper; match column without underscore).
let petMergeTail =
    ",\"insertOnNoMatch\":true,\"updateOnMatch\":\"REPLACE_ALL\",\"matchColumnName1\":\"EMAIL_ADDRESS\",\"matchColumnName2\":null}"

/// The exact size of `value` as a JSON string literal plus a separator, as `appendJSONString` (or, with
/// `asciiOnly`, `JSONText.quote(_:asciiOnly: true)`) writes it: for keeping bodies under the size limit.
func jsonSize(_ value: String, asciiOnly: Bool = false) -> Int {
    var size = 3
    if asciiOnly {
        for scalar in value.unicodeScalars {
            switch scalar.value {
            case 0x22, 0x5C, 0x0A, 0x0D, 0x09: size += 2
            case 0..<0x20: size += 6
            case 0x20..<0x7F: size += 1
            case 0x7F..<0x10000: size += 6
            default: size += 12
            }
        }
    } else {
        for byte in value.utf8 {
            switch byte {
            case 0x22, 0x5C, 0x0A, 0x0D, 0x09: size += 2
            case 0..<0x20: size += 6
            default: size += 1
            }
        }
    }
    return size
}
