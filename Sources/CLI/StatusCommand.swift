import Config
import Core
import Foundation
import Staging
import Workflows

/// `status [WORKFLOW] [--json]`: what each workflow's runs did. Reads only; never takes the lock, so it
/// works while a run is active.
struct StatusCommand {
    let config: ETLConfig
    let invocation: Invocation
    /// How many recent runs to show per workflow.
    static let runsShown = 10

    func run() throws -> ExitStatus {
        var names = config.workflows.keys.sorted()
        if let only = invocation.arguments["WORKFLOW"] {
            _ = try config.workflow(named: only)
            names = [only]
        }
        var report: [WorkflowStatus] = []
        for name in names {
            let workflow = try config.workflow(named: name)
            let area = WorkflowArea(stagingRoot: config.stagingDir, workflow: name)
            let runs = try area.runIDs().suffix(StatusCommand.runsShown).compactMap { try area.openRun($0)?.record }
            let holder = WorkflowLock.activeHolder(path: area.lockPath)
            // The trigger journal, not the load folder: after a crash with a trigger in flight only the
            // journal knows, until the next run writes load/unknown.ndjson.
            let unknown = try TriggerJournals.inDoubt(in: area).map { UnknownOutcome($0, area: area) }
            report.append(
                WorkflowStatus(
                    name: name, type: workflow.type.rawValue, active: holder != nil, activePID: holder?.pid,
                    activeSince: holder?.since, unknownOutcomes: unknown,
                    lastDelivery: WorkflowCatalog.lastDelivery(in: area)?.text, runs: runs.reversed()))
        }
        if invocation.flag("--json") {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .custom { date, encoder in
                var container = encoder.singleValueContainer()
                try container.encode(Timestamp.iso8601(date, fractional: true))
            }
            Output.write(String(decoding: try encoder.encode(["workflows": report]), as: UTF8.self) + "\n")
        } else {
            Output.write(text(report))
        }
        return .success
    }

    private func text(_ report: [WorkflowStatus]) -> String {
        var text = report.isEmpty ? "no workflows in \(config.path)\n" : ""
        for workflow in report {
            text += "\(workflow.name) (\(workflow.type))"
            if let pid = workflow.activePID { text += "  active: pid \(pid) since \(workflow.activeSince ?? "?")" }
            text += "\n"
            if workflow.runs.isEmpty { text += "  no runs yet\n" }
            for unknown in workflow.unknownOutcomes {
                text += "  run \(unknown.run): \(unknown.recipients.count) emails with an unknown outcome "
                text += "(\(unknown.file)): " + unknown.recipients.prefix(10).joined(separator: ", ")
                text += unknown.recipients.count > 10 ? ", …\n" : "\n"
                text += "    they may or may not have been sent; no run sends them again on its own (its other "
                text += "triggers go on, and it exits 3 until someone decides).\n    Check in Responsys, then "
                text += "`responsys-etl stage \(workflow.name) load --run \(unknown.run) --resend-unknown` sends "
                text += "them; removing the run folder gives them up.\n"
            }
            let inDoubt = Set(workflow.unknownOutcomes.map(\.run))
            for (index, run) in workflow.runs.enumerated() {
                let current = index == 0 && workflow.active
                let superseded = workflow.lastDelivery.flatMap(RunID.init(text:)).map { $0 > run.run } == true
                let resumes =
                    superseded
                    ? "unfinished, older than run \(workflow.lastDelivery ?? "?"), which delivered: it can never "
                        + "load; remove its folder runs/\(run.run.text) (in the workflow's staging folder), then "
                        + "`responsys-etl run \(workflow.name)`"
                    : inDoubt.contains(run.run.text)
                        ? "unfinished (resumes on the next run, which does not resend the emails of unknown outcome)"
                        : "unfinished (resumes on the next run)"
                let state =
                    run.isFinished
                    ? "finished, exit \(run.exitStatus ?? 0)" + (run.dryRun ? ", dry run" : "")
                    : current ? "running" : resumes
                text += "  \(run.run.text)  \(state)\n"
                for stage in run.stages {
                    let counts = stage.counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                    var line = "    \(stage.name.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0))"
                    // A stage recorded as running whose process is gone was interrupted (killed, crashed).
                    let shown = stage.state == .running && !current ? "interrupted" : stage.state.rawValue
                    line += shown.padding(toLength: 12, withPad: " ", startingAt: 0)
                    if let seconds = stage.durationSeconds { line += String(format: "%8.2fs  ", seconds) }
                    line += counts.joined(separator: " ")
                    if let error = stage.error { line += "\n      error: \(error)" }
                    text += line + "\n"
                }
            }
        }
        return text
    }
}

struct WorkflowStatus: Encodable {
    let name: String
    let type: String
    /// Whether a run of this workflow holds the lock now; its newest run is then the active one.
    let active: Bool
    let activePID: Int32?
    let activeSince: String?
    /// Trigger emails that may or may not have gone out, per unfinished run (export-campaign).
    let unknownOutcomes: [UnknownOutcome]
    /// The run that last wrote the delivered state (exports); an unfinished run older than it can never load.
    let lastDelivery: String?
    let runs: [RunRecord]
}

/// The recipients of a run's triggers whose outcome is unknown, from the trigger journal. `file` is the
/// run's `load/unknown.ndjson` once a run wrote it, the journal folder before that.
struct UnknownOutcome: Encodable {
    let run: String
    let file: String
    let journal: String
    let requests: [String]
    let recipients: [String]

    init(_ doubt: TriggersInDoubt, area: WorkflowArea) {
        let listed = area.runsPath + "/" + doubt.run + "/load/unknown.ndjson"
        run = doubt.run
        file = Files.exists(listed) ? listed : doubt.journal
        journal = doubt.journal
        requests = doubt.requests
        recipients = doubt.recipients
    }
}
