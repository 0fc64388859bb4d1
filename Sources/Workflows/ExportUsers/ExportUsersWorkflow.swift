import Audience
import Config
import Core
import Foundation
import Responsys
import Staging

/// export-users: extract (audience snapshot) → transform (diff against the delivered state, request
/// bodies) → load (merges and deletes in order, then the delivered state advances).
enum ExportUsersWorkflow {
    static func stages(_ workflow: WorkflowConfig, _ settings: ExportUsersConfig, in environment: WorkflowEnvironment)
        throws -> [any Stage]
    {
        let password = try environment.secret(settings.interact.password)
        let logger = environment.logger
        let makeClient: @Sendable () throws -> ResponsysClient = {
            try ExportClient.make(
                settings.interact, password: password, rateLimitPerMinute: settings.rateLimitPerMinute,
                concurrency: settings.concurrency, logger: logger)
        }
        return [
            AudienceExtractStage(
                source: settings.source,
                options: AudienceSnapshotOptions(
                    emailField: settings.emailField, additionalFields: settings.additionalFields,
                    audienceMemberships: settings.audienceMemberships),
                memoryBudgetMB: settings.memoryBudgetMB, timeBased: settings.timeBased),
            ExportUsersTransformStage(workflow: workflow.name, settings: settings),
            ExportUsersLoadStage(settings: settings, makeClient: makeClient),
        ]
    }

    /// `check`: refuses a destination other than the one the delivered state went to (as `run` does), then
    /// logs in and confirms the list and the extension tables the workflow writes into.
    static func check(
        _ workflow: WorkflowConfig, _ settings: ExportUsersConfig, in environment: WorkflowEnvironment,
        report: (String) -> Void
    ) throws {
        try DeliveryDestination(settings).check(
            WorkflowArea(stagingRoot: environment.config.stagingDir, workflow: workflow.name))
        let client = try ExportClient.make(
            settings.interact, password: try environment.secret(settings.interact.password),
            rateLimitPerMinute: settings.rateLimitPerMinute, concurrency: 1, logger: environment.logger)
        var pets: [String] = []
        if !settings.additionalFields.isEmpty { pets.append(settings.userFieldsPET) }
        if !settings.audienceMemberships.isEmpty { pets.append(settings.segmentsPET) }
        try ExportClient.check(
            client, list: settings.list, pets: pets, campaign: nil, workflow: workflow.name, report: report)
    }
}

extension ListMergeRule {
    init(_ config: MergeRuleConfig) {
        self.init()
        insertOnNoMatch = config.insertOnNoMatch
        updateOnMatch = config.updateOnMatch.rawValue
        defaultPermissionStatus = config.defaultPermissionStatus.rawValue
    }
}

/// The diff and the payload folder both transforms write, with the outputs the marker lists.
enum ExportTransform {
    static let diffFolder = "diff"

    /// Diffs the extracted snapshot against the delivered state into `transform/diff/`.
    static func diff(_ context: StageContext, firstRun: FirstRunPolicy) throws -> DiffResult {
        let extract = context.run.stage(.extract)
        let diffFolder = context.folder.file(diffFolder)
        try? Files.remove(diffFolder)
        try Files.makeDirectory(diffFolder)
        let result = try SnapshotDiff.run(
            current: extract.file(AudienceExtractStage.snapshotName),
            previous: DeliveredStateUpdate.deliveredPath(context.area), firstRun: firstRun,
            outputFolder: diffFolder,
            held: try HeldMembers.read(rejectsPath: extract.file(AudienceExtractStage.rejectsName)))
        context.logger.info(
            "audience compared with the delivered state",
            [
                "first_run": result.isFirstRun, "entered": result.counts.entered, "changed": result.counts.changed,
                "exited": result.counts.exited, "baseline": result.counts.baseline,
                "held_rejected": result.counts.heldRejected,
            ])
        return result
    }

    /// The marker outputs: the diff files, the plan and every request body it lists. The bodies come from the
    /// writer's summary, not from reading the plan back: decoding the plan would hold every member's email.
    static func outputs(_ context: StageContext, _ summary: PayloadSummary) throws -> [StageOutput] {
        var outputs: [StageOutput] = []
        for name in [SnapshotDiff.enteredFile, SnapshotDiff.changedFile, SnapshotDiff.exitedFile] {
            outputs.append(try context.folder.describe(diffFolder + "/" + name))
        }
        for file in summary.files {
            outputs.append(try context.folder.describe(ExportPlan.payloadFolder + "/" + file))
        }
        outputs.append(try context.folder.describe(ExportPlan.planName))
        return outputs
    }

    static func counts(_ diff: DiffResult, _ summary: PayloadSummary) -> [String: Int] {
        var counts = [
            "previous": diff.counts.previous, "current": diff.counts.current, "entered": diff.counts.entered,
            "changed": diff.counts.changed, "exited": diff.counts.exited, "unchanged": diff.counts.unchanged,
            "baseline": diff.counts.baseline, "exited_undelivered": diff.counts.exitedUndelivered,
            "held_rejected": diff.counts.heldRejected, "chunks": summary.chunks,
        ]
        for (kind, count) in summary.requests { counts["requests_" + kind.rawValue] = count }
        return counts
    }
}

/// export-users, stage 2: the diff and the request bodies in `transform/payload/` (with `plan.json`).
struct ExportUsersTransformStage: Stage {
    let name = StageName.transform
    let workflow: String
    let settings: ExportUsersConfig

    func run(_ context: StageContext) throws -> StageResult {
        try DeliveryDestination(settings).check(context)
        let policy: FirstRunPolicy = settings.existingUsers ? .sendEveryone : .recordBaseline
        let diff = try ExportTransform.diff(context, firstRun: policy)
        var options = ExportUsersPayloadOptions(
            list: settings.list, additionalFields: settings.additionalFields,
            audienceMemberships: settings.audienceMemberships)
        options.onExit = settings.onExit == .flag ? .flag : .delete
        options.overwriteWithEmpty = settings.overwriteWithEmpty
        options.maxExitRatio = settings.maxExitRatio
        options.force = context.options.force
        options.mergeRule = ListMergeRule(settings.mergeRule)
        options.userFieldsTable = settings.userFieldsPET
        options.segmentsTable = settings.segmentsPET
        let payload = context.folder.file(ExportPlan.payloadFolder)
        try? Files.remove(payload)
        let summary: PayloadSummary
        do {
            summary = try PayloadWriter.writeExportUsers(diff: diff, options: options, to: payload)
        } catch let error as AudienceError where error.code == .exitRatioExceeded {
            // The snapshot that tripped the guard is not kept: whichever way the user goes, the next step
            // reads the source again.
            let run = "--run \(context.run.id)"
            throw ExportError(
                .exitRatioExceeded,
                error.message + "; nothing was sent, and the extract of run \(context.run.id) was cleared",
                remedy: "if the source is wrong, fix it, then `responsys-etl run \(workflow)`: it extracts the "
                    + "source again and compares it with the delivered state again (the guard still applies); "
                    + "if these exits are intended, accept them on a fresh extract of the current source: "
                    + "`responsys-etl stage \(workflow) extract \(run) && "
                    + "responsys-etl stage \(workflow) transform \(run) --force && responsys-etl run \(workflow)`",
                redoFrom: .extract)
        }
        let baseline = diff.isFirstRun && policy == .recordBaseline
        return StageResult(
            outputs: try ExportTransform.outputs(context, summary), counts: ExportTransform.counts(diff, summary),
            notes: ["first_run": diff.isFirstRun ? (baseline ? "baseline" : "send") : "no"])
    }
}

/// export-users, stage 3: the plan's requests in order — per chunk the list merge before the PET merges of
/// the same members; chunks hold distinct members, so up to `concurrency` chunks are in flight — then the
/// delivered state. Records Responsys refused go to `load/rejects.ndjson` and stay out of the state, so
/// the next run sends them again.
struct ExportUsersLoadStage: Stage {
    let name = StageName.load
    let settings: ExportUsersConfig
    let makeClient: @Sendable () throws -> ResponsysClient

    /// A forced load clears its receipts and sends the plan's merges again: refused for a run older than the
    /// last delivery, before anything is cleared.
    func checkRerun(of run: RunFolder, in area: WorkflowArea) throws {
        try DeliveredStateUpdate.checkNotSuperseded(run, in: area)
    }

    func run(_ context: StageContext) throws -> StageResult {
        let destination = DeliveryDestination(settings)
        try destination.check(context)
        let start = try ExportLoadStart(context, makeClient: makeClient)
        let (plan, baseline, client, sender) = (start.plan, start.baseline, start.client, start.sender)

        let chunks = plan.chunks
        let results = client.concurrently(chunks.count) { index in
            try chunks[index].map { try sender.send(plan.request($0)) }
        }
        var receipts: [Receipt] = []
        for result in results {
            receipts += try result.get()
        }
        let (rejects, rejected) = try LoadRejects.write(receipts, in: context.folder)
        let failed = Set(receipts.flatMap { $0.failures.map(\.email) })
        var counts = try DeliveredStateUpdate.apply(
            context, snapshot: context.run.stage(.extract).file(AudienceExtractStage.snapshotName),
            failedEmails: failed, baseline: baseline, destination: destination)
        counts["requests"] = receipts.count
        counts["records_sent"] = receipts.reduce(0) { $0 + $1.records }
        counts["records_refused"] = rejected
        counts["members_refused"] = failed.count
        let outputs = [rejects] + (try context.folder.items().flatMap(\.outputs))
        return StageResult(
            outputs: outputs, counts: counts, exitStatus: rejected > 0 ? .finishedWithRejects : .success)
    }
}
