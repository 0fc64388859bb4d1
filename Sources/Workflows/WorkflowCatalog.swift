import Config
import Core
import Staging

/// The stages of each workflow type, built from its config.
public enum WorkflowCatalog {
    public static func stages(for workflow: WorkflowConfig, in environment: WorkflowEnvironment) throws -> [any Stage] {
        switch workflow.settings {
        case .importEvents(let settings):
            return try ImportEventsWorkflow.stages(workflow, settings, in: environment)
        case .exportUsers:
            throw notBuiltYet(workflow, issue: 7)
        case .exportCampaign:
            throw notBuiltYet(workflow, issue: 8)
        }
    }

    /// What `check` reports for a workflow after validating its config: one line per peer reached.
    public static func check(_ workflow: WorkflowConfig, in environment: WorkflowEnvironment) throws -> [String] {
        switch workflow.settings {
        case .importEvents(let settings):
            return try ImportEventsWorkflow.check(workflow, settings, in: environment)
        case .exportUsers, .exportCampaign:
            return ["config valid"]
        }
    }

    private static func notBuiltYet(_ workflow: WorkflowConfig, issue: Int) -> ETLError {
        ETLError(.failed, "the stages of \(workflow.type.rawValue) workflows are not built yet (issue \(issue))")
    }
}
