/// Validation of `type = "export-users"` and `type = "export-campaign"` workflows.
extension WorkflowValidation {
    func exportUsers(_ workflow: TableReader) -> ExportUsersConfig? {
        let (authName, interact) = interactAuth(workflow)
        let list = workflow.requiredString("list", "the Responsys profile list")
        let source = self.source(workflow)
        let emailField = workflow.has("email_field") ? workflow.string("email_field") : "email"
        let existingUsers = workflow.has("existing_users") ? workflow.bool("existing_users") : true
        let additionalFields = fieldNames(workflow, "additional_fields")
        let audiences = fieldNames(workflow, "audience_memberships")
        let onExit = workflow.has("on_exit") ? workflow.choice("on_exit", OnExit.self) : .delete
        let maxExitRatio = workflow.has("max_exit_ratio") ? workflow.ratio("max_exit_ratio") : 0.5
        let overwrite = workflow.has("overwrite_with_empty") ? workflow.bool("overwrite_with_empty") : false
        let timeBased = workflow.has("time_based") ? workflow.bool("time_based") : false
        let userFieldsPET = workflow.has("user_fields_pet") ? workflow.string("user_fields_pet") : "Lytics_User_Fields"
        let segmentsPET = workflow.has("segments_pet") ? workflow.string("segments_pet") : "Lytics_Segments"
        let mergeRule = self.mergeRule(workflow)
        let memory = workflow.has("memory_budget_mb") ? workflow.integer("memory_budget_mb", in: 8...65_536) : 64
        let rateLimit = workflow.integer("rate_limit_per_minute", in: 1...1_000_000)
        let concurrency = workflow.has("concurrency") ? workflow.integer("concurrency", in: 1...32) : 4
        workflow.finish()

        guard let authName, let interact, let list, let source, let emailField, let existingUsers,
            let additionalFields, let audiences, let onExit, let maxExitRatio, let overwrite, let timeBased,
            let userFieldsPET, let segmentsPET, let mergeRule, let memory, let concurrency
        else { return nil }
        if workflow.has("rate_limit_per_minute") && rateLimit == nil { return nil }
        return ExportUsersConfig(
            authName: authName, interact: interact, list: list, source: source, emailField: emailField,
            existingUsers: existingUsers, additionalFields: additionalFields, audienceMemberships: audiences,
            onExit: onExit, maxExitRatio: maxExitRatio, overwriteWithEmpty: overwrite, timeBased: timeBased,
            userFieldsPET: userFieldsPET, segmentsPET: segmentsPET, mergeRule: mergeRule, memoryBudgetMB: memory,
            rateLimitPerMinute: rateLimit, concurrency: concurrency)
    }

    func exportCampaign(_ workflow: TableReader) -> ExportCampaignConfig? {
        let (authName, interact) = interactAuth(workflow)
        let campaign = workflow.requiredString("campaign", "the Responsys campaign to trigger")
        let list = workflow.string("list")
        let source = self.source(workflow)
        let emailField = workflow.has("email_field") ? workflow.string("email_field") : "email"
        let additionalFields = fieldNames(workflow, "additional_fields")
        let backFill = workflow.has("back_fill") ? workflow.bool("back_fill") : false
        let timeBased = workflow.has("time_based") ? workflow.bool("time_based") : false
        let userFieldsPET = workflow.has("user_fields_pet") ? workflow.string("user_fields_pet") : "Lytics_User_Fields"
        let mergeRule = self.mergeRule(workflow)
        let memory = workflow.has("memory_budget_mb") ? workflow.integer("memory_budget_mb", in: 8...65_536) : 64
        let rateLimit = workflow.integer("rate_limit_per_minute", in: 1...1_000_000)
        workflow.finish()

        guard let authName, let interact, let campaign, let source, let emailField, let additionalFields,
            let backFill, let timeBased, let userFieldsPET, let mergeRule, let memory
        else { return nil }
        if workflow.has("list") && list == nil { return nil }
        if workflow.has("rate_limit_per_minute") && rateLimit == nil { return nil }
        return ExportCampaignConfig(
            authName: authName, interact: interact, campaign: campaign, list: list, source: source,
            emailField: emailField, additionalFields: additionalFields, backFill: backFill, timeBased: timeBased,
            userFieldsPET: userFieldsPET, mergeRule: mergeRule, memoryBudgetMB: memory, rateLimitPerMinute: rateLimit)
    }

    func interactAuth(_ workflow: TableReader) -> (String?, InteractAuthConfig?) {
        let name = workflow.requiredString("auth", "the name of an [auth.NAME] table of type \"interact\"")
        guard let name, case .interact(let interact)? = auth(name, "interact", workflow) else { return (name, nil) }
        return (name, interact)
    }

    func mergeRule(_ workflow: TableReader) -> MergeRuleConfig? {
        let permission =
            workflow.has("default_permission_status")
            ? workflow.choice("default_permission_status", MergeRuleConfig.PermissionStatus.self) : .optout
        let insert = workflow.has("insert_on_no_match") ? workflow.bool("insert_on_no_match") : true
        let update =
            workflow.has("update_on_match")
            ? workflow.choice("update_on_match", MergeRuleConfig.UpdateOnMatch.self) : .replaceAll
        guard let permission, let insert, let update else { return nil }
        return MergeRuleConfig(defaultPermissionStatus: permission, insertOnNoMatch: insert, updateOnMatch: update)
    }
}
