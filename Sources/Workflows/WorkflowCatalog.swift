import Config
import Core
import Staging

/// The stages of each workflow type, built from its config.
public enum WorkflowCatalog {
    public static func stages(for workflow: WorkflowConfig, in environment: WorkflowEnvironment) throws -> [any Stage] {
        switch workflow.settings {
        case .importEvents(let settings):
            return try ImportEventsWorkflow.stages(workflow, settings, in: environment)
        case .exportUsers(let settings):
            return try ExportUsersWorkflow.stages(workflow, settings, in: environment)
        case .exportCampaign(let settings):
            return try ExportCampaignWorkflow.stages(workflow, settings, in: environment)
        }
    }

    /// What `check` reports for a workflow after validating its config: one line per peer reached, handed to
    /// `report` as soon as it is proven, so the lines before a failure are not lost.
    public static func check(
        _ workflow: WorkflowConfig, in environment: WorkflowEnvironment, report: (String) -> Void
    ) throws {
        switch workflow.settings {
        case .importEvents(let settings):
            try ImportEventsWorkflow.check(workflow, settings, in: environment, report: report)
        case .exportUsers(let settings):
            try ExportUsersWorkflow.check(workflow, settings, in: environment, report: report)
        case .exportCampaign(let settings):
            try ExportCampaignWorkflow.check(workflow, settings, in: environment, report: report)
        }
    }

    /// The run that last wrote the workflow's delivered state (exports), which a new run must come after.
    public static func lastDelivery(in area: WorkflowArea) -> RunID? {
        DeliveredStateUpdate.lastDelivery(area)
    }
}
