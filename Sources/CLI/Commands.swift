import Config
import Core
import Foundation
import Staging
import Workflows

/// The commands of DESIGN.md's command line. Everything is validated (config, workflow, secrets) before
/// the first stage runs, so a mistake costs nothing but an exit status 2.
struct Commands {
    let invocation: Invocation
    let environment: [String: String]
    let logger: Logger

    func run() throws -> ExitStatus {
        switch invocation.command {
        case "version":
            Output.write("responsys-etl \(CommandLineTool.version)\n")
            return .success
        case "sample-data":
            return try SampleDataCommand(invocation: invocation, logger: logger).run()
        case "run": return try runWorkflow()
        case "stage": return try runStage()
        case "status": return try StatusCommand(config: try loadConfig(), invocation: invocation).run()
        case "check": return try check()
        case "clean": return try clean()
        default:
            preconditionFailure("command table and dispatcher disagree on \(invocation.command)")
        }
    }

    // MARK: - Shared steps

    func loadConfig() throws -> ETLConfig {
        let config = try ConfigLoader.load(path: invocation.configPath)
        return config
    }

    /// The workflow named on the command line, with its secrets read and registered for redaction.
    func prepare(_ name: String, in config: ETLConfig) throws -> (WorkflowConfig, WorkflowEnvironment) {
        let workflow = try config.workflow(named: name)
        let context = WorkflowEnvironment(config: config, environment: environment, logger: logger)
        try context.registerSecrets(of: workflow)
        return (workflow, context)
    }

    func area(_ workflow: WorkflowConfig, _ config: ETLConfig) -> WorkflowArea {
        WorkflowArea(stagingRoot: config.stagingDir, workflow: workflow.name)
    }

    // MARK: - run

    private func runWorkflow() throws -> ExitStatus {
        let config = try loadConfig()
        let (workflow, context) = try prepare(invocation.arguments["WORKFLOW"]!, in: config)
        let stages = try WorkflowCatalog.stages(for: workflow, in: context)
        let area = area(workflow, config)
        let lock = try area.lock()
        defer { lock.release() }

        let dryRun = invocation.flag("--dry-run")
        let run: RunFolder
        if let unfinished = try area.unfinishedRun(), !dryRun {
            run = unfinished
            if unfinished.record.configDigest != config.digest {
                logger.warn(
                    "the config changed since this run started; resuming it with the new config",
                    ["run": run.id.text])
            }
            logger.info("resuming unfinished run", ["workflow": workflow.name, "run": run.id.text])
        } else {
            run = try area.createRun(
                now: Date(), workflowType: workflow.type.rawValue, configDigest: config.digest,
                stages: stages.map(\.name), dryRun: dryRun, after: WorkflowCatalog.lastDelivery(in: area))
            logger.info("run started", ["workflow": workflow.name, "run": run.id.text])
        }
        let runner = StageRunner(area: area, stages: stages, logger: logger.with(["workflow": workflow.name]))
        let status = try runner.runAll(run, stopBefore: dryRun ? .load : nil)
        Output.write(RunSummary.text(for: run, dryRun: dryRun))
        return status
    }

    // MARK: - stage

    private func runStage() throws -> ExitStatus {
        let stageText = invocation.arguments["STAGE"]!
        guard let stageName = StageName(rawValue: stageText) else {
            throw ETLError(.usage, "unknown stage '\(stageText)'", remedy: "use extract, decrypt, transform or load")
        }
        let config = try loadConfig()
        let (workflow, context) = try prepare(invocation.arguments["WORKFLOW"]!, in: config)
        if invocation.flag("--resend-unknown"), workflow.type != .exportCampaign {
            throw ETLError(
                .usage,
                "--resend-unknown is for export-campaign workflows only; '\(workflow.name)' is "
                    + workflow.type.rawValue,
                remedy: "only a campaign's trigger emails can have an unknown outcome; drop the option")
        }
        let stages = try WorkflowCatalog.stages(for: workflow, in: context)
        let area = area(workflow, config)
        let lock = try area.lock()
        defer { lock.release() }

        let run: RunFolder
        if let idText = invocation.options["--run"] {
            guard let id = RunID(text: idText) else {
                throw ETLError(.usage, "'\(idText)' is not a run id", remedy: "run ids look like 20261204T150000Z")
            }
            guard let found = try area.openRun(id) else {
                throw ETLError(.usage, "workflow '\(workflow.name)' has no run \(idText)", remedy: "see `status`")
            }
            run = found
        } else {
            guard let latest = try area.latestRun() else {
                throw ETLError(
                    .usage, "workflow '\(workflow.name)' has no run yet",
                    remedy: "start one with: responsys-etl run \(workflow.name)")
            }
            run = latest
        }
        let options = StageOptions(
            force: invocation.flag("--force"), resendUnknown: invocation.flag("--resend-unknown"))
        if options.force, workflow.type == .exportCampaign {
            try TriggerJournals.refuseForcedRebuild(of: stageName, run: run, in: area)
        }
        let runner = StageRunner(area: area, stages: stages, logger: logger.with(["workflow": workflow.name]))
        let status = try runner.runOne(stageName, of: run, force: options.force, options: options)
        Output.write(RunSummary.text(for: run, dryRun: false))
        return status
    }

    // MARK: - check

    /// Checks every workflow (or the one named), printing each line as soon as it is proven; a workflow that
    /// fails is reported and the others are still checked. The exit status is the most serious one seen.
    private func check() throws -> ExitStatus {
        let config = try loadConfig()
        let names = invocation.arguments["WORKFLOW"].map { [$0] } ?? config.workflows.keys.sorted()
        Output.write("config \(config.path): valid (\(config.workflows.count) workflows)\n")
        var worst = ExitStatus.success
        for name in names {
            do {
                let (workflow, context) = try prepare(name, in: config)
                _ = try WorkflowCatalog.stages(for: workflow, in: context)
                try WorkflowCatalog.check(workflow, in: context) { Output.write("\(name): \($0)\n") }
                Output.write("\(name): ok\n")
            } catch {
                CommandLineTool.report(error, logger: logger)
                let status = CommandLineTool.exitStatus(of: error)
                Output.write("\(name): failed (exit status \(status.rawValue), the error is on stderr)\n")
                if Self.seriousness(of: status) > Self.seriousness(of: worst) { worst = status }
            }
        }
        return worst
    }

    /// A usage or config mistake (2) outranks a failure (1), which outranks a temporary one (75).
    private static func seriousness(of status: ExitStatus) -> Int {
        switch status {
        case .success: return 0
        case .temporaryFailure: return 1
        case .usage: return 3
        default: return 2
        }
    }

    // MARK: - clean

    private func clean() throws -> ExitStatus {
        let config = try loadConfig()
        let text = invocation.options["--older-than"] ?? "7d"
        guard let seconds = DurationText.seconds(text) else {
            throw ETLError(.usage, "--older-than '\(text)' is not a duration", remedy: "write e.g. 12h, 7d or 2w")
        }
        let cutoff = Date().addingTimeInterval(-Double(seconds))
        var status = ExitStatus.success
        for workflow in config.workflows.values.sorted(by: { $0.name < $1.name }) {
            let area = area(workflow, config)
            guard Files.isDirectory(area.path) else { continue }
            let lock: WorkflowLock
            do {
                lock = try area.lock()
            } catch let error as ETLError where error.code == .lockHeld {
                logger.warn("workflow is running; its runs were left alone", ["workflow": workflow.name])
                status = .temporaryFailure
                continue
            }
            defer { lock.release() }
            let removed = try area.clean(finishedBefore: cutoff)
            // Trigger journals of removed runs, once settled and folded into the delivered state.
            let journals = try TriggerJournals.prune(in: area)
            Output.write(
                "\(workflow.name): removed \(removed.count) runs\(removed.isEmpty ? "" : ": ")"
                    + removed.map(\.text).joined(separator: " ")
                    + (journals.isEmpty ? "" : "; \(journals.count) settled trigger journals") + "\n")
        }
        return status
    }
}
