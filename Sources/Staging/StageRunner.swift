import Core
import Foundation

/// Runs the stages of a run in order, skipping those whose marker is valid, recording each stage's
/// state, duration and counts in `run.json`, and writing each marker only after the stage succeeded.
public struct StageRunner: Sendable {
    public let area: WorkflowArea
    public let stages: [any Stage]
    public let logger: Logger

    public init(area: WorkflowArea, stages: [any Stage], logger: Logger) {
        precondition(!stages.isEmpty && stages.map(\.name) == stages.map(\.name).sorted(), "stages out of order")
        self.area = area
        self.stages = stages
        self.logger = logger
    }

    /// Runs every unfinished stage; with `stopBefore`, stops before that stage (a dry run stops before load).
    /// Returns `.success` or `.finishedWithRejects`; a failed stage throws after recording its failure.
    public func runAll(_ run: RunFolder, options: StageOptions = StageOptions(), stopBefore: StageName? = nil)
        throws -> ExitStatus
    {
        var status = ExitStatus.success
        for stage in stages {
            if let stopBefore, stage.name >= stopBefore { break }
            let folder = run.stage(stage.name)
            switch try folder.checkMarker() {
            case .valid:
                let marker = try folder.readMarker()
                if marker?.exitStatus == ExitStatus.finishedWithRejects.rawValue { status = .finishedWithRejects }
                if run.record[stage.name]?.state != .done {
                    try run.updateStage(stage.name) { $0.state = .done }
                }
                logger.debug("stage already finished", ["stage": stage.name.rawValue])
                continue
            case .outputsChanged(let names):
                logger.warn(
                    "stage outputs changed after it finished; running it again",
                    ["stage": stage.name.rawValue, "files": names.joined(separator: ",")])
                try run.invalidate(from: stage.name)
            case .absent:
                break
            }
            let stageStatus = try execute(stage, in: run, options: options)
            if stageStatus == .finishedWithRejects { status = .finishedWithRejects }
        }
        if stopBefore == nil || run.record.dryRun {
            try run.updateRecord { record in
                record.finishedAt = Date()
                record.exitStatus = status.rawValue
            }
        }
        return status
    }

    /// Runs one stage of a run. The stages before it must be finished; with `force`, the stage and every
    /// stage after it are cleared first. Without `force`, a finished stage is not run again.
    public func runOne(_ name: StageName, of run: RunFolder, force: Bool, options: StageOptions) throws -> ExitStatus {
        guard let stage = stages.first(where: { $0.name == name }) else {
            throw ETLError(
                .usage, "workflow '\(area.name)' has no stage '\(name.rawValue)'",
                remedy: "its stages are: " + stages.map(\.name.rawValue).joined(separator: ", "))
        }
        for earlier in stages where earlier.name < name {
            switch try run.stage(earlier.name).checkMarker() {
            case .valid:
                continue
            case .absent:
                throw ETLError(
                    .usage, "stage '\(earlier.name.rawValue)' of run \(run.id) is not finished",
                    remedy: "run it first: responsys-etl stage \(area.name) \(earlier.name.rawValue) --run \(run.id)")
            case .outputsChanged(let files):
                throw ETLError(
                    .usage,
                    "outputs of stage '\(earlier.name.rawValue)' of run \(run.id) changed after it finished: "
                        + files.joined(separator: ", "),
                    remedy: "staged files are not edited in place (pass-through files are shared between stages); "
                        + "redo it: responsys-etl stage \(area.name) \(earlier.name.rawValue) --run \(run.id) --force")
            }
        }
        if force {
            for cleared in stages where cleared.name >= name { try cleared.checkRerun(of: run, in: area) }
            try run.invalidate(from: name)
        } else if try run.stage(name).checkMarker() == .valid {
            logger.info("stage already finished; use --force to run it again", ["stage": name.rawValue])
            let marker = try run.stage(name).readMarker()
            return marker?.exitStatus == ExitStatus.finishedWithRejects.rawValue ? .finishedWithRejects : .success
        }
        var status = try execute(stage, in: run, options: options)
        // A run whose last stage finished is finished, whether it got there in one go or stage by stage; it
        // ends with rejects when any of its stages had some, as if it had run in one go.
        if stages.allSatisfy({ (try? run.stage($0.name).checkMarker()) == .valid }) {
            let rejected = try stages.contains { try run.stage($0.name).readMarker()?.exitStatus == 3 }
            if rejected { status = .finishedWithRejects }
            try run.updateRecord { record in
                record.finishedAt = Date()
                record.exitStatus = status.rawValue
            }
        }
        return status
    }

    private func execute(_ stage: any Stage, in run: RunFolder, options: StageOptions) throws -> ExitStatus {
        let folder = run.stage(stage.name)
        let stageLogger = logger.with(["run": run.id.text, "stage": stage.name.rawValue])
        try folder.prepare()
        let previous = stages.last { $0.name < stage.name }.map { run.stage($0.name) }
        let context = StageContext(
            run: run, folder: folder, input: previous, area: area, logger: stageLogger, options: options)

        let startedAt = Date()
        let clock = monotonicSeconds()
        try run.updateStage(stage.name) { record in
            record.state = .running
            record.startedAt = startedAt
            record.finishedAt = nil
            record.error = nil
            record.attempts += 1
        }
        stageLogger.info("stage started")
        ActiveStage.set(.init(workflow: area.name, run: run.id.text, stage: stage.name.rawValue))
        defer { ActiveStage.set(nil) }
        do {
            let result = try stage.run(context)
            let finishedAt = Date()
            let marker = StageMarker(
                stage: stage.name, run: run.id.text, startedAt: startedAt, finishedAt: finishedAt,
                outputs: result.outputs, counts: result.counts, notes: result.notes,
                exitStatus: result.exitStatus.rawValue)
            try folder.writeMarker(marker)
            let duration = monotonicSeconds() - clock
            try run.updateStage(stage.name) { record in
                record.state = .done
                record.finishedAt = finishedAt
                record.durationSeconds = (duration * 1000).rounded() / 1000
                record.counts = result.counts
            }
            stageLogger.info(
                "stage finished",
                [
                    "seconds": String(format: "%.3f", duration), "outputs": result.outputs.count,
                    "counts": result.counts.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }
                        .joined(separator: ","),
                ])
            return result.exitStatus
        } catch {
            let message = logger.redactor.redact(String(describing: error))
            if let redo = (error as? any RedoesEarlierStages)?.redoFrom {
                try? run.invalidate(from: redo)
                stageLogger.info("outputs cleared; the next run produces them again", ["from": redo.rawValue])
            }
            try? run.updateStage(stage.name) { record in
                record.state = .failed
                record.finishedAt = Date()
                record.durationSeconds = ((monotonicSeconds() - clock) * 1000).rounded() / 1000
                record.error = message
            }
            throw error
        }
    }
}
