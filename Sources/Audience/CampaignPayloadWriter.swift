import Core
import Foundation

/// The settings of export-campaign that shape its request bodies.
public struct CampaignPayloadOptions: Sendable, Equatable {
    /// The campaign (`campaign`).
    public var campaign: String
    /// The campaign's profile list (`list`), which holds the `Lytics_User_Fields` PET.
    public var list: String
    /// `additional_fields`: the template fields, sent both to the PET and as `optionalData`.
    public var additionalFields: [String]
    public var mergeRule = ListMergeRule()
    public var permissionColumn: String?
    public var permissionValue: String?
    public var overwriteWithEmpty = false
    public var userFieldsTable = "Lytics_User_Fields"
    /// At most 200 recipients per trigger (reference §5a).
    public var maxRecordsPerRequest = 200
    public var maxBodyBytes = 9_500_000

    public init(campaign: String, list: String, additionalFields: [String] = []) {
        self.campaign = campaign
        self.list = list
        self.additionalFields = additionalFields
    }
}

/// Writes the request bodies of export-campaign: only *entered* members, and per chunk of at most 200,
/// in send order: a list merge (the PET row needs its member), the `Lytics_User_Fields` merges of the
/// template fields, then the Merge Trigger Email body (reference §5a):
///
/// ```json
/// {"mergeTriggerRecordData":{"fieldNames":["EMAIL_ADDRESS_"],
///   "mergeTriggerRecords":[{"fieldValues":["ann@example.org"],
///                           "optionalData":[{"name":"FIRST_NAME","value":"Ren\u00e9e"}]}]},
///  "mergeRule":{…}}
/// ```
///
/// The trigger body is written entirely in ASCII: every non-ASCII character is `\u`-escaped, as
/// Responsys requires for `optionalData`. Every template field is passed in `optionalData`, "" when the
/// member has no value (it overwrites nothing: optional data only feeds this one email).
public enum CampaignPayloadWriter {
    public static func write(diff: DiffResult, options: CampaignPayloadOptions, to folder: String) throws
        -> PayloadSummary
    {
        let columns = try ColumnNames.columns(for: options.additionalFields, setting: "additional_fields")
        if let permissionColumn = options.permissionColumn {
            _ = try ColumnNames.column(for: permissionColumn, setting: "permission_column")
        }
        let payload = try PayloadFolder(folder: folder, workflow: "export-campaign")
        let listTail = ",\"mergeRule\":\(options.mergeRule.json)}"

        func rowSize(_ member: AudienceMember) -> Int {
            var size = jsonSize(member.email) + 40
            for (index, name) in options.additionalFields.enumerated() {
                size += jsonSize(columns[index]) + jsonSize(member.fields[name] ?? "", asciiOnly: true) + 20
            }
            return size + jsonSize(options.permissionValue ?? "")
        }

        var entered = 0
        try PayloadWriter.forEachChunk(
            of: diff.enteredPath, maxRecords: options.maxRecordsPerRequest, maxBytes: options.maxBodyBytes,
            rowSize: rowSize
        ) { chunk in
            let members = chunk.map(\.member)
            entered += members.count
            payload.startChunk()
            let emails = members.map(\.email)

            // 1. The list merge: the member must be in the list before its PET row.
            var names = ["EMAIL_ADDRESS_"]
            if let column = options.permissionColumn { names.append(column) }
            var list = RecordDataBuilder(fieldNames: names)
            for member in members {
                list.addRecord(
                    options.permissionColumn == nil ? [member.email] : [member.email, options.permissionValue ?? ""])
            }
            try payload.add(
                body: list.finished(tail: listTail), name: "list", kind: .listMerge, target: .list,
                path: ResponsysPaths.listMembers(options.list), list: options.list, emails: emails)

            // 2. The template fields into the PET.
            try writeUserFieldMerges(
                members, fields: options.additionalFields, columns: columns,
                overwriteWithEmpty: options.overwriteWithEmpty, list: options.list, table: options.userFieldsTable,
                payload: payload)

            // 3. The trigger, with the same fields as optionalData.
            try payload.add(
                body: triggerBody(members, names: names, columns: columns, options: options), name: "trigger",
                kind: .mergeTrigger, target: .campaign, path: ResponsysPaths.campaignEmail(options.campaign),
                campaign: options.campaign, emails: emails)
        }
        return try payload.finish { $0.entered = entered }
    }

    static func triggerBody(
        _ members: [AudienceMember], names: [String], columns: [String], options: CampaignPayloadOptions
    ) -> [UInt8] {
        func quote(_ text: String) -> String { JSONText.quote(text, asciiOnly: true) }
        var text = "{\"mergeTriggerRecordData\":{\"fieldNames\":["
        text += names.map(quote).joined(separator: ",")
        text += "],\"mergeTriggerRecords\":["
        for (index, member) in members.enumerated() {
            if index > 0 { text += "," }
            var values = [member.email]
            if options.permissionColumn != nil { values.append(options.permissionValue ?? "") }
            text += "{\"fieldValues\":[" + values.map(quote).joined(separator: ",") + "],\"optionalData\":["
            text += zip(options.additionalFields, columns).map { field, column in
                "{\"name\":\(quote(column)),\"value\":\(quote(member.fields[field] ?? ""))}"
            }.joined(separator: ",")
            text += "]}"
        }
        text += "]},\"mergeRule\":\(options.mergeRule.json)}"
        return Array(text.utf8)
    }
}
