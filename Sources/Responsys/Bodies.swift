import Core
import Foundation

/// The `mergeRule` of a profile-list merge or a Merge Trigger Email (reference §2). Match columns are
/// spelled with the trailing underscore here; `petMerge` removes it for extension tables.
public struct MergeRule: Sendable, Equatable {
    public var insertOnNoMatch = true
    /// `REPLACE_ALL` or `NO_UPDATE`.
    public var updateOnMatch = "REPLACE_ALL"
    public var matchColumnName1 = "EMAIL_ADDRESS_"
    public var matchColumnName2: String?
    /// `NONE` or `AND`.
    public var matchOperator = "NONE"
    public var optinValue = "I"
    public var optoutValue = "O"
    public var htmlValue = "H"
    public var textValue = "T"
    public var rejectRecordIfChannelEmpty: String?
    /// `OPTIN` or `OPTOUT` (Responsys's default when omitted is OPTOUT).
    public var defaultPermissionStatus = "OPTOUT"

    public init() {}
}

/// Builds request bodies as exact JSON text, so the transform stage can write them to files and the load
/// stage send them unchanged. Strings are quoted with `JSONText`; `optionalData` is ASCII-only (`\uXXXX`)
/// as Responsys requires.
public enum ResponsysBody {
    /// A profile-list merge: `{recordData, mergeRule}`.
    public static func listMerge(fieldNames: [String], records: [[String]], rule: MergeRule) -> Data {
        Data("{\"recordData\":\(recordData(fieldNames, records)),\"mergeRule\":\(mergeRule(rule))}".utf8)
    }

    /// A PET merge: `recordData` plus the rule at the top level, match columns without the underscore.
    /// `fieldNames` must hold a list key column *with* its underscore (e.g. `EMAIL_ADDRESS_`).
    public static func petMerge(
        fieldNames: [String], records: [[String]], matchColumnName1: String, matchColumnName2: String? = nil,
        insertOnNoMatch: Bool = true, updateOnMatch: String = "REPLACE_ALL"
    ) -> Data {
        var text = "{\"recordData\":\(recordData(fieldNames, records))"
        text += ",\"insertOnNoMatch\":\(insertOnNoMatch),\"updateOnMatch\":\(JSONText.quote(updateOnMatch))"
        text += ",\"matchColumnName1\":\(JSONText.quote(petColumn(matchColumnName1)))"
        text += ",\"matchColumnName2\":\(matchColumnName2.map { JSONText.quote(petColumn($0)) } ?? "null")}"
        return Data(text.utf8)
    }

    /// The body of `?action=delete`: `queryAttribute` is `r` (RIID), `e` (email), `c` (customer id) or `m`.
    public static func delete(queryAttribute: String, ids: [String]) -> Data {
        Data("{\"queryAttribute\":\(JSONText.quote(queryAttribute)),\"ids\":\(array(ids))}".utf8)
    }

    /// One recipient of a Merge Trigger Email.
    public struct TriggerRecord: Sendable {
        public var fieldValues: [String]
        public var optionalData: [(name: String, value: String)]

        public init(fieldValues: [String], optionalData: [(name: String, value: String)] = []) {
            self.fieldValues = fieldValues
            self.optionalData = optionalData
        }
    }

    /// A Merge Trigger Email: `{mergeTriggerRecordData, mergeRule}`.
    public static func mergeTrigger(fieldNames: [String], records: [TriggerRecord], rule: MergeRule) -> Data {
        let items = records.map { record in
            let optional = record.optionalData.map {
                "{\"name\":\(JSONText.quote($0.name, asciiOnly: true)),\"value\":\(JSONText.quote($0.value, asciiOnly: true))}"
            }
            return
                "{\"fieldValues\":\(array(record.fieldValues)),\"optionalData\":[\(optional.joined(separator: ","))]}"
        }
        var text = "{\"mergeTriggerRecordData\":{\"fieldNames\":\(array(fieldNames))"
        text += ",\"mergeTriggerRecords\":[\(items.joined(separator: ","))]},\"mergeRule\":\(mergeRule(rule))}"
        return Data(text.utf8)
    }

    private static func recordData(_ fieldNames: [String], _ records: [[String]]) -> String {
        "{\"fieldNames\":\(array(fieldNames)),\"records\":[\(records.map(array).joined(separator: ","))],\"mapTemplateName\":null}"
    }

    private static func mergeRule(_ rule: MergeRule) -> String {
        let optional = { (value: String?) in value.map { JSONText.quote($0) } ?? "null" }
        return "{\"insertOnNoMatch\":\(rule.insertOnNoMatch),\"updateOnMatch\":\(JSONText.quote(rule.updateOnMatch))"
            + ",\"matchColumnName1\":\(JSONText.quote(rule.matchColumnName1))"
            + ",\"matchColumnName2\":\(optional(rule.matchColumnName2)),\"matchOperator\":\(JSONText.quote(rule.matchOperator))"
            + ",\"optinValue\":\(JSONText.quote(rule.optinValue)),\"optoutValue\":\(JSONText.quote(rule.optoutValue))"
            + ",\"htmlValue\":\(JSONText.quote(rule.htmlValue)),\"textValue\":\(JSONText.quote(rule.textValue))"
            + ",\"rejectRecordIfChannelEmpty\":\(optional(rule.rejectRecordIfChannelEmpty))"
            + ",\"defaultPermissionStatus\":\(JSONText.quote(rule.defaultPermissionStatus))}"
    }

    private static func array(_ values: [String]) -> String {
        "[" + values.map { JSONText.quote($0) }.joined(separator: ",") + "]"
    }

    /// `EMAIL_ADDRESS_` → `EMAIL_ADDRESS`: extension tables want match columns without the underscore.
    private static func petColumn(_ name: String) -> String {
        name.hasSuffix("_") ? String(name.dropLast()) : name
    }
}
