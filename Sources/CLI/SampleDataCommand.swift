import Core
import Workflows

/// `sample-data FOLDER`: the demo's input files, made by the project's own code.
struct SampleDataCommand {
    let invocation: Invocation
    let logger: Logger

    func run() throws -> ExitStatus {
        throw ETLError(.failed, "sample data is not built yet (issue 9)")
    }
}
