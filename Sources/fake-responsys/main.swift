import FakeResponsys
import Foundation

// fake-responsys: a local Responsys REST stand-in for tests and the demo. The first line on stdout is the
// bound port; then it serves until killed.

// A parent that blocked signals (a test runner's threads do) passes its mask on through exec; undo that so
// SIGTERM and SIGINT stop the server.
var unblocked = sigset_t()
sigfillset(&unblocked)
sigprocmask(SIG_UNBLOCK, &unblocked, nil)
signal(SIGTERM, SIG_DFL)
signal(SIGINT, SIG_DFL)

do {
    let configuration = try FakeResponsysConfiguration.parse(Array(CommandLine.arguments.dropFirst()))
    if configuration.helpRequested {
        FileHandle.standardOutput.write(Data(FakeResponsysConfiguration.usage.utf8))
        exit(0)
    }
    let server = FakeResponsysServer(configuration)
    let port = try server.start()
    FileHandle.standardOutput.write(Data("\(port)\n".utf8))
    while true { sleep(3600) }
} catch {
    FileHandle.standardError.write(Data("fake-responsys: \(error)\n".utf8))
    exit(2)
}
