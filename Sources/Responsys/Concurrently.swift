import Foundation

/// Runs blocking work on a few threads of its own (not Swift's cooperative pool, which a blocking libcurl
/// call would starve on a two-core machine).
public enum Concurrently {
    /// `body(i)` for every `i` in `0..<count`, on at most `width` threads; the results in index order.
    public static func map<T: Sendable>(
        count: Int, width: Int, _ body: @escaping @Sendable (Int) throws -> T
    ) -> [Result<T, Error>] {
        guard count > 0 else { return [] }
        let state = SharedResults<T>(count: count)
        let group = DispatchGroup()
        for _ in 0..<max(1, min(width, count)) {
            group.enter()
            let thread = Thread {
                while let index = state.nextIndex() {
                    state.store(index, Result { try body(index) })
                }
                group.leave()
            }
            thread.start()
        }
        group.wait()
        return state.results()
    }
}

private final class SharedResults<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private var slots: [Result<T, Error>?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func nextIndex() -> Int? {
        lock.withLock {
            guard next < slots.count else { return nil }
            defer { next += 1 }
            return next
        }
    }

    func store(_ index: Int, _ result: Result<T, Error>) { lock.withLock { slots[index] = result } }

    func results() -> [Result<T, Error>] {
        lock.withLock { slots.map { $0 ?? .failure(CancellationError()) } }
    }
}
