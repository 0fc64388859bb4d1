import Staging

/// The few lines `run` and `stage` print on stdout: where the run is, and what each stage did.
enum RunSummary {
    static func text(for run: RunFolder, dryRun: Bool) -> String {
        let record = run.record
        var text = "run \(record.workflow) \(record.run.text)"
        if dryRun { text += " (dry run: stopped before load; payloads are in \(run.path))" }
        text += "\n"
        for stage in record.stages {
            let counts = stage.counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            text += "  \(stage.name.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0))\(stage.state.rawValue)"
            if !counts.isEmpty { text += "  " + counts }
            text += "\n"
        }
        text += "  folder    \(run.path)\n"
        return text
    }
}
