import Config
import Core
import Foundation
import Staging

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
            let unknown = try runs.filter { !$0.isFinished }.compactMap { record in
                try UnknownOutcome.read(run: record.run.text, path: area.runsPath + "/" + record.run.text)
            }
            report.append(
                WorkflowStatus(
                    name: name, type: workflow.type.rawValue, active: holder != nil, activePID: holder?.pid,
                    activeSince: holder?.since, unknownOutcomes: unknown, runs: runs.reversed()))
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
            }
            for (index, run) in workflow.runs.enumerated() {
                let current = index == 0 && workflow.active
                let state =
                    run.isFinished
                    ? "finished, exit \(run.exitStatus ?? 0)" + (run.dryRun ? ", dry run" : "")
                    : current ? "running" : "unfinished (resumes on the next run)"
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
    let runs: [RunRecord]
}

/// The recipients listed in a run's `load/unknown.ndjson`.
struct UnknownOutcome: Encodable {
    let run: String
    let file: String
    let recipients: [String]

    static func read(run: String, path: String) throws -> UnknownOutcome? {
        let file = path + "/load/unknown.ndjson"
        guard Files.exists(file) else { return nil }
        let lines = String(decoding: try Files.read(file), as: UTF8.self).split(separator: "\n")
        let recipients = lines.compactMap { line -> String? in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return object?["email"] as? String
        }
        return UnknownOutcome(run: run, file: file, recipients: recipients)
    }
}
