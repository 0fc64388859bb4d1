import Core
import Foundation

/// What an exited member becomes (`on_exit`).
public enum ExitAction: String, Sendable {
    /// Removed from the profile list (`POST …/members?action=delete`, reference §4). The default.
    case delete
    /// Kept in the list; every audience column of `Lytics_Segments` set to "0".
    case flag
}

/// The settings of export-users that shape its request bodies.
public struct ExportUsersPayloadOptions: Sendable, Equatable {
    /// The profile list (`list`).
    public var list: String
    public var additionalFields: [String]
    public var audienceMemberships: [String]
    public var onExit: ExitAction = .delete
    /// `overwrite_with_empty`: send "" for fields without a value (default: leave Responsys' value).
    public var overwriteWithEmpty = false
    /// `max_exit_ratio`: the largest share of the delivered members one run may remove (default 0.5).
    public var maxExitRatio = 0.5
    /// `--force`: write the exits even above `maxExitRatio`.
    public var force = false
    public var mergeRule = ListMergeRule()
    /// A list column holding the permission value for entered members (e.g. `EMAIL_PERMISSION_STATUS_`
    /// with `permissionValue` "I"); nil sends only `EMAIL_ADDRESS_` and lets `defaultPermissionStatus`
    /// decide.
    public var permissionColumn: String?
    public var permissionValue: String?
    public var userFieldsTable = "Lytics_User_Fields"
    public var segmentsTable = "Lytics_Segments"
    /// At most 200 records per request (reference §6).
    public var maxRecordsPerRequest = 200
    /// Bodies stay under this size (the gateway limit is 10 MB; a margin is kept).
    public var maxBodyBytes = 9_500_000

    public init(list: String, additionalFields: [String] = [], audienceMemberships: [String] = []) {
        self.list = list
        self.additionalFields = additionalFields
        self.audienceMemberships = audienceMemberships
    }
}

/// Writes the request bodies of export-users from a diff, in send order:
///
/// 1. entered members, per chunk: a list merge, then `Lytics_User_Fields` merges, then a
///    `Lytics_Segments` merge (every audience column, "1"/"0");
/// 2. changed members, per chunk: `Lytics_User_Fields` merges for those whose fields changed and a
///    `Lytics_Segments` merge for those whose audiences changed (no list merge: it would re-apply the
///    permission values to members who may have opted out since);
/// 3. exited members, per chunk: a list delete (`on_exit = "delete"`) or a `Lytics_Segments` merge of
///    zeros (`"flag"`).
///
/// Empty values: one body has one `fieldNames` list for all its records, so when empty values must not
/// overwrite (the default), a chunk's members are grouped by the set of fields they have a value for,
/// and each group gets its own `Lytics_User_Fields` body naming only those columns; a member with no
/// value at all gets no user-fields row. With `overwriteWithEmpty` every field is sent, "" included.
///
/// Exits come only from the delivered state (`exited.ndjson` holds previous-state lines), and members of
/// a recorded baseline are never in it, so only members this workflow delivered are ever removed.
public enum PayloadWriter {
    public static func writeExportUsers(
        diff: DiffResult, options: ExportUsersPayloadOptions, to folder: String
    ) throws -> PayloadSummary {
        let fieldColumns = try ColumnNames.columns(for: options.additionalFields, setting: "additional_fields")
        let audienceColumns = try ColumnNames.columns(
            for: options.audienceMemberships, setting: "audience_memberships")
        if let permissionColumn = options.permissionColumn {
            _ = try ColumnNames.column(for: permissionColumn, setting: "permission_column")
        }
        try checkExitRatio(diff: diff, options: options)
        if diff.counts.exited > 0 && options.onExit == .flag && audienceColumns.isEmpty {
            throw AudienceError(
                .badConfiguration, "on_exit = \"flag\" needs audience_memberships to write the flags into",
                remedy: "list the audiences in audience_memberships, or use on_exit = \"delete\"")
        }

        let payload = try PayloadFolder(folder: folder, workflow: "export-users")
        let writer = UsersChunkWriter(
            options: options, fieldColumns: fieldColumns, audienceColumns: audienceColumns, payload: payload)

        var entered = 0
        try forEachChunk(of: diff.enteredPath, options: options, rowSize: writer.rowSize) { chunk in
            entered += chunk.count
            try writer.writeEntered(chunk.map(\.member))
        }
        var changed = 0
        try forEachChunk(of: diff.changedPath, options: options, rowSize: writer.rowSize) { chunk in
            changed += chunk.count
            try writer.writeChanged(chunk)
        }
        var exited = 0
        try forEachChunk(of: diff.exitedPath, options: options, rowSize: writer.rowSize) { chunk in
            exited += chunk.count
            try writer.writeExited(chunk.map(\.member.email))
        }
        return try payload.finish { summary in
            summary.entered = entered
            summary.changed = changed
            summary.exited = exited
        }
    }

    /// Refuses a run that would remove more than `maxExitRatio` of the delivered members, unless forced.
    static func checkExitRatio(diff: DiffResult, options: ExportUsersPayloadOptions) throws {
        let exited = diff.counts.exited
        let delivered = diff.counts.previous
        guard exited > 0, !options.force, Double(exited) > options.maxExitRatio * Double(delivered) else { return }
        let percent = Int((Double(exited) / Double(max(delivered, 1)) * 100).rounded())
        throw AudienceError(
            .exitRatioExceeded,
            "\(exited) of \(delivered) delivered members (\(percent)%) "
                + (options.onExit == .flag
                    ? "would be flagged 0 in \(options.segmentsTable)" : "would be removed from list \(options.list)")
                + ", above max_exit_ratio \(options.maxExitRatio)",
            remedy: "check the audience source; if the exits are intended, re-run the transform with --force")
    }

    /// Reads a diff file and hands out chunks of at most `maxRecordsPerRequest` members whose largest
    /// body stays under `maxBodyBytes`.
    static func forEachChunk(
        of path: String, options: ExportUsersPayloadOptions, rowSize: (AudienceMember) -> Int,
        _ body: ([(member: AudienceMember, changed: Set<String>)]) throws -> Void
    ) throws {
        try forEachChunk(
            of: path, maxRecords: options.maxRecordsPerRequest, maxBytes: options.maxBodyBytes, rowSize: rowSize,
            body)
    }

    static func forEachChunk(
        of path: String, maxRecords: Int, maxBytes: Int, rowSize: (AudienceMember) -> Int,
        _ body: ([(member: AudienceMember, changed: Set<String>)]) throws -> Void
    ) throws {
        let reader = try DiffFileReader(path: path)
        // Room for the field names, the merge rule and the JSON around the records.
        let overhead = 16_384
        var chunk: [(member: AudienceMember, changed: Set<String>)] = []
        var bytes = overhead
        while let entry = try reader.next() {
            let size = rowSize(entry.member)
            if !chunk.isEmpty && (chunk.count >= maxRecords || bytes + size > maxBytes) {
                try body(chunk)
                chunk.removeAll(keepingCapacity: true)
                bytes = overhead
            }
            chunk.append(entry)
            bytes += size
        }
        if !chunk.isEmpty { try body(chunk) }
    }
}

/// Writes the bodies of one chunk of export-users members.
final class UsersChunkWriter {
    let options: ExportUsersPayloadOptions
    let fieldColumns: [String]
    let audienceColumns: [String]
    let payload: PayloadFolder
    private let listTail: String

    init(options: ExportUsersPayloadOptions, fieldColumns: [String], audienceColumns: [String], payload: PayloadFolder)
    {
        self.options = options
        self.fieldColumns = fieldColumns
        self.audienceColumns = audienceColumns
        self.payload = payload
        listTail = ",\"mergeRule\":\(options.mergeRule.json)}"
    }

    /// The largest size one member's record can take in any body of its chunk.
    func rowSize(_ member: AudienceMember) -> Int {
        let email = jsonSize(member.email) + 2
        var fields = email
        for name in options.additionalFields { fields += jsonSize(member.fields[name] ?? "") }
        let segments = email + 4 * options.audienceMemberships.count
        let list = email + jsonSize(options.permissionValue ?? "")
        return max(fields, segments, list)
    }

    func writeEntered(_ members: [AudienceMember]) throws {
        payload.startChunk()
        try writeListMerge(members)
        try writeUserFields(members)
        try writeSegments(members, allZero: false)
    }

    func writeChanged(_ entries: [(member: AudienceMember, changed: Set<String>)]) throws {
        payload.startChunk()
        try writeUserFields(entries.filter { $0.changed.contains("fields") }.map(\.member))
        try writeSegments(entries.filter { $0.changed.contains("audiences") }.map(\.member), allZero: false)
    }

    func writeExited(_ emails: [String]) throws {
        payload.startChunk()
        switch options.onExit {
        case .delete:
            var body: [UInt8] = []
            body.append("{\"queryAttribute\":\"e\",\"ids\":[")
            for (index, email) in emails.enumerated() {
                if index > 0 { body.append(0x2C) }
                appendJSONString(email, to: &body)
            }
            body.append("]}")
            try payload.add(
                body: body, name: "list-delete", kind: .listDelete, target: .list,
                path: ResponsysPaths.listDelete(options.list), list: options.list, emails: emails)
        case .flag:
            try writeSegments(emails.map { AudienceMember(email: $0) }, allZero: true)
        }
    }

    private func writeListMerge(_ members: [AudienceMember]) throws {
        guard !members.isEmpty else { return }
        var names = ["EMAIL_ADDRESS_"]
        if let column = options.permissionColumn { names.append(column) }
        var builder = RecordDataBuilder(fieldNames: names)
        for member in members {
            if options.permissionColumn != nil {
                builder.addRecord([member.email, options.permissionValue ?? ""])
            } else {
                builder.addRecord([member.email])
            }
        }
        try payload.add(
            body: builder.finished(tail: listTail), name: "list", kind: .listMerge, target: .list,
            path: ResponsysPaths.listMembers(options.list), list: options.list, emails: members.map(\.email))
    }

    private func writeUserFields(_ members: [AudienceMember]) throws {
        try writeUserFieldMerges(
            members, fields: options.additionalFields, columns: fieldColumns,
            overwriteWithEmpty: options.overwriteWithEmpty, list: options.list, table: options.userFieldsTable,
            payload: payload)
    }

    private func writeSegments(_ members: [AudienceMember], allZero: Bool) throws {
        guard !members.isEmpty, !audienceColumns.isEmpty else { return }
        var builder = RecordDataBuilder(fieldNames: ["EMAIL_ADDRESS_"] + audienceColumns)
        for member in members {
            builder.addRecord(
                [member.email]
                    + options.audienceMemberships.map { !allZero && member.audiences.contains($0) ? "1" : "0" })
        }
        try payload.add(
            body: builder.finished(tail: petMergeTail), name: "pet-segments", kind: .petMerge, target: .pet,
            path: ResponsysPaths.petMembers(options.list, options.segmentsTable), list: options.list,
            pet: options.segmentsTable, emails: members.map(\.email))
    }
}

/// Writes `Lytics_User_Fields` merges for `members`: one body per group of members having values for
/// the same fields (all fields in one group with `overwriteWithEmpty`). Members without any value are
/// left out unless `overwriteWithEmpty`.
func writeUserFieldMerges(
    _ members: [AudienceMember], fields: [String], columns: [String], overwriteWithEmpty: Bool, list: String,
    table: String, payload: PayloadFolder
) throws {
    guard !members.isEmpty, !fields.isEmpty else { return }
    var groups: [[Int]: [AudienceMember]] = [:]
    var order: [[Int]] = []
    for member in members {
        let present =
            overwriteWithEmpty
            ? Array(fields.indices) : fields.indices.filter { !(member.fields[fields[$0]] ?? "").isEmpty }
        guard !present.isEmpty else { continue }
        if groups[present] == nil { order.append(present) }
        groups[present, default: []].append(member)
    }
    for signature in order {
        let group = groups[signature] ?? []
        var builder = RecordDataBuilder(fieldNames: ["EMAIL_ADDRESS_"] + signature.map { columns[$0] })
        for member in group {
            builder.addRecord([member.email] + signature.map { member.fields[fields[$0]] ?? "" })
        }
        try payload.add(
            body: builder.finished(tail: petMergeTail), name: "pet-user-fields", kind: .petMerge, target: .pet,
            path: ResponsysPaths.petMembers(list, table), list: list, pet: table, emails: group.map(\.email))
    }
}
