import Audience
import Config
import Core
import Foundation
import Responsys
import Staging

/// export-campaign: extract (audience snapshot) → transform (entered members → per chunk a list merge, the
/// template-field PET merge and the Merge Trigger Email body) → load (at most once per email).
enum ExportCampaignWorkflow {
    static func stages(
        _ workflow: WorkflowConfig, _ settings: ExportCampaignConfig, in environment: WorkflowEnvironment
    ) throws -> [any Stage] {
        let password = try environment.secret(settings.interact.password)
        let logger = environment.logger
        let makeClient: @Sendable () throws -> ResponsysClient = {
            try ExportClient.make(
                settings.interact, password: password, rateLimitPerMinute: settings.rateLimitPerMinute,
                concurrency: 1, logger: logger)
        }
        return [
            AudienceExtractStage(
                source: settings.source,
                options: AudienceSnapshotOptions(
                    emailField: settings.emailField, additionalFields: settings.additionalFields),
                memoryBudgetMB: settings.memoryBudgetMB, timeBased: settings.timeBased),
            ExportCampaignTransformStage(settings: settings, makeClient: makeClient),
            ExportCampaignLoadStage(workflow: workflow.name, settings: settings, makeClient: makeClient),
        ]
    }

    /// The campaign's list: the config's `list`, or else the list Responsys has the campaign send to
    /// (asked once per transform that has members to send).
    static func list(_ settings: ExportCampaignConfig, client: () throws -> ResponsysClient) throws -> String {
        if let list = settings.list { return list }
        guard let list = try client().campaignList(settings.campaign) else {
            throw ExportError(
                .missingInResponsys, "campaign \(settings.campaign) was not found in Responsys",
                remedy: "create it, or fix `campaign` in the config (names are case-sensitive)", status: .usage)
        }
        return list
    }

    /// `check`: logs in and confirms the campaign, its list and the template-fields extension table.
    static func check(
        _ workflow: WorkflowConfig, _ settings: ExportCampaignConfig, in environment: WorkflowEnvironment,
        report: (String) -> Void
    ) throws {
        let client = try ExportClient.make(
            settings.interact, password: try environment.secret(settings.interact.password),
            rateLimitPerMinute: settings.rateLimitPerMinute, concurrency: 1, logger: environment.logger)
        var list = settings.list
        if list == nil, let found = try client.campaignList(settings.campaign) {
            report("campaign \(settings.campaign): sends to list \(found) (list is not set in the config)")
            list = found
        }
        // A campaign that does not exist is reported with the rest of what is missing.
        try ExportClient.check(
            client, list: list, pets: settings.additionalFields.isEmpty ? [] : [settings.userFieldsPET],
            campaign: settings.campaign, workflow: workflow.name, report: report)
    }
}

/// export-campaign, stage 2: only entered members matter (`back_fill` decides what a first run does).
struct ExportCampaignTransformStage: Stage {
    let name = StageName.transform
    let settings: ExportCampaignConfig
    let makeClient: @Sendable () throws -> ResponsysClient

    func run(_ context: StageContext) throws -> StageResult {
        let policy: FirstRunPolicy = settings.backFill ? .sendEveryone : .recordBaseline
        var diff = try ExportTransform.diff(context, firstRun: policy)
        let held = try TriggerJournal.heldBack(area: context.area, except: context.run)
        let heldBack = held.isEmpty ? 0 : try Self.leaveOut(held, from: diff.enteredPath)
        if heldBack > 0 {
            diff.counts.entered -= heldBack
            context.logger.warn(
                "entered members already emailed by a run whose state was never written; not sent again",
                ["members": heldBack])
        }
        // Without `list` in the config, the list comes from Responsys, and only when someone is to be sent.
        let list = diff.counts.entered > 0 ? try ExportCampaignWorkflow.list(settings, client: makeClient) : ""
        var options = CampaignPayloadOptions(
            campaign: settings.campaign, list: list, additionalFields: settings.additionalFields)
        options.mergeRule = ListMergeRule(settings.mergeRule)
        options.userFieldsTable = settings.userFieldsPET
        let payload = context.folder.file(ExportPlan.payloadFolder)
        try? Files.remove(payload)
        let summary = try CampaignPayloadWriter.write(diff: diff, options: options, to: payload)
        let baseline = diff.isFirstRun && policy == .recordBaseline
        var counts = ExportTransform.counts(diff, summary)
        counts["held_back"] = heldBack
        return StageResult(
            outputs: try ExportTransform.outputs(context, summary), counts: counts,
            notes: ["first_run": diff.isFirstRun ? (baseline ? "baseline" : "send") : "no", "list": list])
    }

    /// Rewrites the entered file without the given emails; returns how many lines were left out.
    static func leaveOut(_ emails: Set<String>, from path: String) throws -> Int {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var kept = ""
        var left = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            if let email = object?["email"] as? String, emails.contains(email) {
                left += 1
            } else {
                kept += line + "\n"
            }
        }
        if left > 0 { try Files.writeAtomically(Data(kept.utf8), to: path) }
        return left
    }
}

/// export-campaign, stage 3: per chunk the list merge, the PET merge, then the trigger, journaled in
/// `state/` so that no email is ever sent twice (see `TriggerJournal`). Chunks go one after the other.
struct ExportCampaignLoadStage: Stage {
    let name = StageName.load
    let workflow: String
    let settings: ExportCampaignConfig
    let makeClient: @Sendable () throws -> ResponsysClient

    static let unknownName = "unknown.ndjson"

    /// A forced load clears its receipts and sends the plan's merges again: refused for a run older than the
    /// last delivery, before anything is cleared.
    func checkRerun(of run: RunFolder, in area: WorkflowArea) throws {
        try DeliveredStateUpdate.checkNotSuperseded(run, in: area)
    }

    func run(_ context: StageContext) throws -> StageResult {
        let start = try ExportLoadStart(context, makeClient: makeClient)
        let (plan, baseline, sender) = (start.plan, start.baseline, start.sender)
        let journal = try TriggerJournal(area: context.area, run: context.run)

        var receipts: [Receipt] = []
        var triggerReceipts: [Receipt] = []
        var unknown: [TriggerJournal.Entry] = []
        for chunk in plan.chunks {
            for entry in chunk {
                let request = try plan.request(entry)
                if request.kind == "merge-trigger" {
                    switch try trigger(request, sender: sender, journal: journal, context: context) {
                    case .receipt(let receipt):
                        receipts.append(receipt)
                        triggerReceipts.append(receipt)
                    case .unknown(let entry):
                        unknown.append(entry)
                    }
                } else {
                    receipts.append(try sender.send(request))
                }
            }
        }

        let (rejects, rejected) = try LoadRejects.write(receipts, in: context.folder)
        if !unknown.isEmpty {
            try writeUnknown(unknown, in: context.folder)
            let recipients = unknown.reduce(0) { $0 + $1.emails.count }
            throw ExportError(
                .outcomeUnknown,
                "\(unknown.count) trigger request(s) of campaign \(settings.campaign) (\(recipients) recipients, "
                    + "listed in \(context.folder.file(Self.unknownName))) have an unknown outcome: the emails may "
                    + "or may not have gone out, so they are not sent again",
                remedy: "check in Responsys whether they received the email; to send it again: "
                    + "`responsys-etl stage \(workflow) load --run \(context.run.id) --resend-unknown`; to never "
                    + "send it: remove the run folder \(context.run.path) — the next run emails nobody this run "
                    + "may have emailed",
                status: .finishedWithRejects)
        }
        // Only a trigger's answer decides whether a member got the email; a refused list or PET merge of a
        // member whose email went out is reported in rejects but does not hold the member back.
        let failed = Set(triggerReceipts.flatMap { $0.failures.map(\.email) })
        var counts = try DeliveredStateUpdate.apply(
            context, snapshot: context.run.stage(.extract).file(AudienceExtractStage.snapshotName),
            failedEmails: failed, baseline: baseline, keepExited: true)
        try journal.markStateUpdated()
        counts["requests"] = receipts.count
        counts["triggers"] = triggerReceipts.count
        counts["emails_sent"] = triggerReceipts.reduce(0) { $0 + $1.succeeded }
        counts["emails_refused"] = failed.count
        counts["records_refused"] = rejected
        try? Files.remove(context.folder.file(Self.unknownName))
        let outputs = [rejects] + (try context.folder.items().flatMap(\.outputs))
        return StageResult(
            outputs: outputs, counts: counts, exitStatus: rejected > 0 ? .finishedWithRejects : .success)
    }

    private enum TriggerResult {
        case receipt(Receipt)
        case unknown(TriggerJournal.Entry)
    }

    /// One trigger request, at most once: the journal entry is written (and synced) before the request
    /// leaves and after its answer comes back.
    private func trigger(
        _ request: ExportPlan.Request, sender: MergeSender, journal: TriggerJournal, context: StageContext
    ) throws -> TriggerResult {
        var entry: TriggerJournal.Entry
        if let found = try journal.entry(request.file) {
            // The journal is keyed by request file; a plan rebuilt from another snapshot (a forced extract
            // after emails went out) could put other people under the same name. Skipping them would drop
            // them silently, sending would risk a second email: stop and say so.
            guard found.emails == request.emails else {
                throw ExportError(
                    .badPlan,
                    "trigger request \(request.file) of run \(context.run.id) was journaled with other recipients "
                        + "than the plan now lists: the run's extract or transform was run again after its emails went out",
                    remedy: "who got the email is in \(journal.path(request.file)); restore the source this run "
                        + "extracted first and re-run `responsys-etl stage \(workflow) extract --run \(context.run.id) --force`"
                )
            }
            entry = found
            switch found.state {
            case .sent:
                guard let receipt = found.receipt else {
                    throw ExportError(
                        .badPlan, "the trigger journal \(journal.path(request.file)) is sent without an answer")
                }
                if try context.folder.finishedItem(request.file) == nil { try receipt.record(in: context.folder) }
                return .receipt(receipt)
            case .sending, .unknown:
                guard context.options.resendUnknown else {
                    context.logger.warn(
                        "trigger outcome unknown; not sent again",
                        ["request": request.file, "recipients": request.records])
                    return .unknown(found)
                }
                context.logger.warn(
                    "sending a trigger of unknown outcome again (--resend-unknown)",
                    ["request": request.file, "recipients": request.records])
            case .refused:
                break
            }
        } else {
            entry = TriggerJournal.Entry(
                run: journal.run, file: request.file, chunk: request.chunk, state: .sending, attempts: 0,
                emails: request.emails, reason: nil, receipt: nil, updatedAt: Date())
        }
        guard let campaign = request.campaign else {
            throw ExportError(.badPlan, "trigger request \(request.file) of the plan names no campaign")
        }
        let body = try sender.body(of: request)
        entry.state = .sending
        entry.attempts += 1
        entry.reason = nil
        entry.updatedAt = Date()
        try journal.write(entry)
        TestCrashHook.point("before-trigger")
        let outcome: TriggerOutcome
        do {
            outcome = try sender.client.mergeTriggerEmail(campaign: campaign, body: body)
        } catch {
            // The client throws only when Responsys refused the request or it never left: nothing was sent.
            entry.state = .refused
            entry.reason = String(describing: error)
            entry.updatedAt = Date()
            try journal.write(entry)
            throw error
        }
        TestCrashHook.point("after-trigger")
        switch outcome {
        case .answered(let recipients):
            let receipt = Receipt.from(request, recipients: recipients)
            entry.state = .sent
            entry.receipt = receipt
            entry.updatedAt = Date()
            try journal.write(entry)
            TestCrashHook.point("after-trigger-receipt")
            try receipt.record(in: context.folder)
            context.logger.info(
                "trigger sent",
                ["request": request.file, "recipients": request.records, "refused": receipt.failures.count])
            return .receipt(receipt)
        case .outcomeUnknown(let reason):
            entry.state = .unknown
            entry.reason = reason
            entry.updatedAt = Date()
            try journal.write(entry)
            context.logger.warn(
                "trigger outcome unknown; not sent again", ["request": request.file, "recipients": request.records])
            return .unknown(entry)
        }
    }

    /// `load/unknown.ndjson`: the recipients of the triggers whose outcome is unknown, for `status` and
    /// the operator.
    private func writeUnknown(_ entries: [TriggerJournal.Entry], in folder: StageFolder) throws {
        let writer = try folder.createOutput(Self.unknownName)
        for entry in entries {
            for email in entry.emails {
                let line =
                    "{\"email\":\(JSONText.quote(email)),\"request\":\(JSONText.quote(entry.file)),"
                    + "\"state\":\"\(entry.state.rawValue)\",\"reason\":\(JSONText.quote(entry.reason ?? "the process stopped while the request was in flight"))}\n"
                try writer.write(Data(line.utf8))
            }
        }
        _ = try folder.publish(writer)
    }
}
