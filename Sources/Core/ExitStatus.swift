/// The exit statuses of DESIGN.md: scripts and schedulers branch on these, so they never change.
public enum ExitStatus: Int32, Sendable, CaseIterable {
    /// Everything finished.
    case success = 0
    /// A stage failed; the run can be resumed once the cause is fixed.
    case stageFailed = 1
    /// The command line or the configuration is wrong (a wrong password, key or passphrase included); the stage that
    /// found it changed nothing, and running again without fixing it fails the same way.
    case usage = 2
    /// The run finished, but some records were rejected (see the rejects files).
    case finishedWithRejects = 3
    /// Another run holds the lock, or a transient outage outlasted the retries: try again later.
    case temporaryFailure = 75
}
