import Foundation

/// A lock a task can hold across `await`s, handed to waiters in arrival order. SQLite has one
/// connection: a transaction written as async code must keep every other caller off it until
/// it commits, which an `NSLock` (held by a thread, not a task) cannot do.
final class AsyncMutex: @unchecked Sendable {
    private let lock = NSLock()
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        // Uncontended: no suspension, no allocation.
        let taken = lock.withLock { () -> Bool in
            if held { return false }
            held = true
            return true
        }
        if taken { return }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = lock.withLock { () -> Bool in
                if held {
                    waiters.append(c)
                    return false
                }
                held = true
                return true
            }
            if now { c.resume() }
        }
    }

    /// Hands the lock to the first waiter, if any (it stays held), or frees it.
    func release() {
        let next = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            if waiters.isEmpty {
                held = false
                return nil
            }
            return waiters.removeFirst()
        }
        next?.resume()
    }

    func withLock<T>(isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T) async rethrows -> T {
        await acquire()
        defer { release() }
        return try await body()
    }
}
