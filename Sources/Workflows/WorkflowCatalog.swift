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

    /// What `check` reports for a workflow after validating its config: one line per peer reached.
    public static func check(_ workflow: WorkflowConfig, in environment: WorkflowEnvironment) throws -> [String] {
        switch workflow.settings {
        case .importEvents(let settings):
            return try ImportEventsWorkflow.check(workflow, settings, in: environment)
        case .exportUsers(let settings):
            return try ExportUsersWorkflow.check(workflow, settings, in: environment)
        case .exportCampaign(let settings):
            return try ExportCampaignWorkflow.check(workflow, settings, in: environment)
        }
    }

    /// The run that last wrote the workflow's delivered state (exports), which a new run must come after.
    public static func lastDelivery(in area: WorkflowArea) -> RunID? {
        DeliveredStateUpdate.lastDelivery(area)
    }
}
