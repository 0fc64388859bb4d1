import Foundation
import Synchronization
import Testing

@testable import Staging

/// The cleanups a signal runs before `_exit`: only those still registered, newest first, each once.
@Suite(.serialized) struct ExitCleanupTests {
    @Test func runsWhatIsStillRegisteredNewestFirstAndOnlyOnce() {
        let ran = Mutex<[String]>([])
        let first = ExitCleanup.register { ran.withLock { $0.append("first") } }
        let second = ExitCleanup.register { ran.withLock { $0.append("second") } }
        let third = ExitCleanup.register { ran.withLock { $0.append("third") } }
        ExitCleanup.unregister(second)

        ExitCleanup.runAll()
        #expect(ran.withLock { $0 } == ["third", "first"])
        ExitCleanup.runAll()
        #expect(ran.withLock { $0 } == ["third", "first"])
        // Unregistering after they ran (the normal path finishing late) is harmless.
        ExitCleanup.unregister(first)
        ExitCleanup.unregister(third)
    }
}
