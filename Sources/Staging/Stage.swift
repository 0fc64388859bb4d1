import Core
import Foundation

/// What a stage needs while it runs.
public struct StageContext: Sendable {
    public let run: RunFolder
    /// This stage's folder, created and swept of temporary files.
    public let folder: StageFolder
    /// The previous stage's folder (finished, with a valid marker), nil for the first stage.
    public let input: StageFolder?
    public let area: WorkflowArea
    public let logger: Logger
    public let options: StageOptions

    /// The run's recorded "now"; stages never read the clock for data decisions.
    public var now: Date { run.now }
}

/// Flags of the command line that a stage may honour.
public struct StageOptions: Sendable {
    /// `--force` on a stage that guards against a risky change (e.g. the exit-ratio guard).
    public var force: Bool
    /// `--resend-unknown`: send again the trigger chunks whose outcome is unknown.
    public var resendUnknown: Bool

    public init(force: Bool = false, resendUnknown: Bool = false) {
        self.force = force
        self.resendUnknown = resendUnknown
    }
}

/// What a finished stage reports; the runner writes it into the marker and `run.json`.
public struct StageResult: Sendable {
    public var outputs: [StageOutput]
    public var counts: [String: Int]
    public var notes: [String: String]
    /// `.success`, or `.finishedWithRejects` when records were rejected or outcomes are unknown.
    public var exitStatus: ExitStatus

    public init(
        outputs: [StageOutput], counts: [String: Int] = [:], notes: [String: String] = [:],
        exitStatus: ExitStatus = .success
    ) {
        self.outputs = outputs
        self.counts = counts
        self.notes = notes
        self.exitStatus = exitStatus
    }
}

/// One stage of a workflow. A stage reads only its input folder (and the workflow's state), writes only
/// its own folder, and keeps per-item records so that a crash redoes only unfinished items.
public protocol Stage: Sendable {
    var name: StageName { get }
    func run(_ context: StageContext) throws -> StageResult
    /// Refuses, before anything is cleared, a `--force` that would clear this stage of `run` when the stage
    /// could not run again (e.g. a load superseded by a newer delivery): a refused force leaves the run as
    /// it was, a finished run stays finished.
    func checkRerun(of run: RunFolder, in area: WorkflowArea) throws
}

extension Stage {
    public func checkRerun(of run: RunFolder, in area: WorkflowArea) throws {}
}

/// A stage failure that condemns the outputs of an earlier stage: the runner clears the run from `redoFrom`
/// (that stage and every later one) before recording the failure, so the next `run` resumes by producing
/// them again instead of failing the same way on outputs that no longer describe the source.
public protocol RedoesEarlierStages: Error {
    var redoFrom: StageName? { get }
}
