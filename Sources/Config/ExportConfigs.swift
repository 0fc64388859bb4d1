/// `type = "export-users"`: an audience snapshot into a profile list and the two PETs.
/// Local paths are absolute (relative ones in the config are resolved against the config file's folder).
public struct ExportUsersConfig: Sendable, Equatable {
    /// `auth`: the name of an interact auth.
    public var authName: String
    /// The interact auth that `auth` names.
    public var interact: InteractAuthConfig
    /// `list`: the profile list.
    public var list: String
    /// `source`: where the snapshot comes from.
    public var source: AudienceSource
    /// `email_field`, default `email`: the source column holding the email address.
    public var emailField: String
    /// `existing_users`, default true: the first run sends every current member (false: it only records them).
    public var existingUsers: Bool
    /// `additional_fields`: at most 29 source fields, written upper-cased (≤ 30 characters) into the
    /// user-fields PET.
    public var additionalFields: [String]
    /// `audience_memberships`: at most 29 audience names, one upper-cased column (≤ 30 characters) each in
    /// the segments PET.
    public var audienceMemberships: [String]
    /// `on_exit`, default delete.
    public var onExit: OnExit
    /// `max_exit_ratio` (0…1), default 0.5: a run that would remove more of the list stops and asks for `--force`.
    public var maxExitRatio: Double
    /// `overwrite_with_empty`, default false: an empty source value never replaces a value in Responsys.
    public var overwriteWithEmpty: Bool
    /// `time_based`, default false: re-evaluate the source every run even when it did not change.
    public var timeBased: Bool
    /// `user_fields_pet`, default `Lytics_User_Fields`.
    public var userFieldsPET: String
    /// `segments_pet`, default `Lytics_Segments`.
    public var segmentsPET: String
    /// The merge rule of the list merges.
    public var mergeRule: MergeRuleConfig
    /// `memory_budget_mb`, default 64: above it the snapshot is sorted on disk.
    public var memoryBudgetMB: Int
    /// `rate_limit_per_minute`; nil means read the limit from `/rest/api/ratelimit`.
    public var rateLimitPerMinute: Int?
    /// `concurrency`, default 4 (1…32): requests in flight.
    public var concurrency: Int
}

/// `type = "export-campaign"`: new audience members get the campaign's email (Merge Trigger Email).
/// Local paths are absolute (relative ones in the config are resolved against the config file's folder).
public struct ExportCampaignConfig: Sendable, Equatable {
    /// `auth`: the name of an interact auth.
    public var authName: String
    /// The interact auth that `auth` names.
    public var interact: InteractAuthConfig
    /// `campaign`: the campaign to trigger.
    public var campaign: String
    /// `list`: the campaign's profile list, where members and the template fields PET are merged first.
    /// Optional: when nil the workflow takes the list the campaign is attached to.
    public var list: String?
    /// `source`: where the snapshot comes from.
    public var source: AudienceSource
    /// `email_field`, default `email`.
    public var emailField: String
    /// `additional_fields`: at most 29 template fields (upper-cased, ≤ 30 characters), sent both to the
    /// user-fields PET and as `optionalData`.
    public var additionalFields: [String]
    /// `back_fill`, default false: the first run sends to the current members (false: only records them).
    public var backFill: Bool
    /// `time_based`, default false.
    public var timeBased: Bool
    /// `user_fields_pet`, default `Lytics_User_Fields`.
    public var userFieldsPET: String
    /// The merge rule of the list merge and of the trigger.
    public var mergeRule: MergeRuleConfig
    /// `memory_budget_mb`, default 64.
    public var memoryBudgetMB: Int
    /// `rate_limit_per_minute`; nil means read the limit from `/rest/api/ratelimit`.
    public var rateLimitPerMinute: Int?
}

/// Where an audience snapshot comes from.
public enum AudienceSource: Sendable, Equatable {
    /// `{ type = "file", path = "…", format = "csv" | "ndjson" }`; the format defaults to the file's
    /// extension (`.csv`, `.ndjson`, `.jsonl`, each optionally `.gz`).
    case file(path: String, format: AudienceFileFormat, gzip: Bool)
    /// `{ type = "sqlite", path = "…", query_file = "…" }`: the query runs with the run's now bound as `:now`.
    case sqlite(path: String, queryFile: String)
}

public enum AudienceFileFormat: String, Sendable, CaseIterable {
    case csv
    case ndjson
}

/// What happens to members who left the audience.
public enum OnExit: String, Sendable, CaseIterable {
    /// Remove them from the profile list (the default).
    case delete
    /// Keep them, and write 0 in their segments PET columns.
    case flag
}

/// The Responsys merge rule options the config may set; everything else is fixed by the workflows
/// (match on `EMAIL_ADDRESS_`).
public struct MergeRuleConfig: Sendable, Equatable {
    public enum PermissionStatus: String, Sendable, CaseIterable {
        case optin = "OPTIN"
        case optout = "OPTOUT"
    }

    public enum UpdateOnMatch: String, Sendable, CaseIterable {
        case replaceAll = "REPLACE_ALL"
        case noUpdate = "NO_UPDATE"
    }

    /// `default_permission_status`, default **OPTOUT** — Responsys's own default: the tool never opts
    /// anyone in unless the config says so. A campaign whose new members must receive its email (a welcome
    /// mail to people who signed up) sets `default_permission_status = "OPTIN"`.
    public var defaultPermissionStatus: PermissionStatus
    /// `insert_on_no_match`, default true.
    public var insertOnNoMatch: Bool
    /// `update_on_match`, default `REPLACE_ALL`.
    public var updateOnMatch: UpdateOnMatch

    public init(
        defaultPermissionStatus: PermissionStatus = .optout, insertOnNoMatch: Bool = true,
        updateOnMatch: UpdateOnMatch = .replaceAll
    ) {
        self.defaultPermissionStatus = defaultPermissionStatus
        self.insertOnNoMatch = insertOnNoMatch
        self.updateOnMatch = updateOnMatch
    }
}
