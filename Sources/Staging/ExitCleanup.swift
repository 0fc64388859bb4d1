import Foundation

/// What must not outlive the process even when a signal ends it at once (the CLI's handler calls `_exit`,
/// which skips every `defer`): a temporary GnuPG home holding a copy of a private key, its gpg-agent.
///
/// Register an action right after creating the thing and unregister it after the normal cleanup. Actions run
/// on the signal thread while the rest of the process keeps going, so they must be quick and idempotent.
public enum ExitCleanup {
    /// Names one registered action, for `unregister`.
    public struct Token: Sendable, Hashable {
        let number: Int
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var actions: [Int: @Sendable () -> Void] = [:]
    nonisolated(unsafe) private static var next = 0

    public static func register(_ action: @escaping @Sendable () -> Void) -> Token {
        lock.withLock {
            next += 1
            actions[next] = action
            return Token(number: next)
        }
    }

    public static func unregister(_ token: Token) {
        _ = lock.withLock { actions.removeValue(forKey: token.number) }
    }

    /// Runs every registered action once, newest first, and forgets them.
    public static func runAll() {
        let pending = lock.withLock {
            defer { actions.removeAll() }
            return actions.sorted { $0.key > $1.key }.map(\.value)
        }
        for action in pending { action() }
    }
}
