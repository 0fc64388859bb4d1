import Foundation

/// The stage this process is running right now, for a line logged from outside the run (the CLI's
/// "stopping on signal"). Set by `StageRunner` around each stage.
public enum ActiveStage {
    /// Which stage of which run of which workflow.
    public struct Entry: Sendable, Equatable {
        public var workflow: String
        public var run: String
        public var stage: String
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var entry: Entry?

    /// The running stage, or nil between stages and outside a run.
    public static var current: Entry? { lock.withLock { entry } }

    static func set(_ new: Entry?) { lock.withLock { entry = new } }
}
