import Core
import Foundation
import Workflows

/// `sample-data FOLDER [--warehouse PATH]`: the demo's input, made by the project's own code: Responsys
/// event files for two accounts in FOLDER, and the `users` table in the warehouse. Hidden from `--help`:
/// it exists for `./run.sh demo` and for trying the tool without real data.
struct SampleDataCommand {
    let invocation: Invocation
    let logger: Logger

    func run() throws -> ExitStatus {
        let folder = invocation.arguments["FOLDER"]!
        let sample = SampleData(folder: folder, now: Date())
        let written = try sample.write()
        var summary = [
            "folder": folder, "files": written.files.joined(separator: " "),
            "expected_events": String(written.expectedEvents), "expected_rejects": String(written.expectedRejects),
        ]
        if let warehouse = invocation.options["--warehouse"] {
            summary["users"] = String(try sample.loadUsers(into: warehouse))
            summary["warehouse"] = warehouse
        }
        for key in summary.keys.sorted() { Output.write("\(key)=\(summary[key]!)\n") }
        return .success
    }
}
