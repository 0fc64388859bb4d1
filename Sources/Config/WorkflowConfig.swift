/// The three workflow types of DESIGN.md, by their `type` value in the config.
public enum WorkflowType: String, Sendable, CaseIterable {
    case importEvents = "import-events"
    case exportUsers = "export-users"
    case exportCampaign = "export-campaign"
}

/// One `[workflows.NAME]` table, validated.
public struct WorkflowConfig: Sendable, Equatable {
    /// The settings of each workflow type.
    public enum Settings: Sendable, Equatable {
        case importEvents(ImportEventsConfig)
        case exportUsers(ExportUsersConfig)
        case exportCampaign(ExportCampaignConfig)
    }

    /// The table's name; letters, digits, `_` and `-` only, as it names a folder under the staging dir.
    public var name: String
    public var settings: Settings

    public init(name: String, settings: Settings) {
        self.name = name
        self.settings = settings
    }

    /// The workflow's `type`.
    public var type: WorkflowType {
        switch settings {
        case .importEvents: .importEvents
        case .exportUsers: .exportUsers
        case .exportCampaign: .exportCampaign
        }
    }

    /// The settings when this is an import-events workflow.
    public var importEvents: ImportEventsConfig? { if case .importEvents(let value) = settings { value } else { nil } }
    /// The settings when this is an export-users workflow.
    public var exportUsers: ExportUsersConfig? { if case .exportUsers(let value) = settings { value } else { nil } }
    /// The settings when this is an export-campaign workflow.
    public var exportCampaign: ExportCampaignConfig? {
        if case .exportCampaign(let value) = settings { value } else { nil }
    }
}
