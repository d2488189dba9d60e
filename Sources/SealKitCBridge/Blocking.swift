import Dispatch
import SealProtocol
import Synchronization

/// Runs `operation` in a task and blocks the calling thread until it finishes: how the C
/// libraries (libsealkit, libsealkit-sim) call the async Swift API from a C thread. Each library
/// links its own copy of this module.
///
/// The C caller's thread is not a Swift concurrency thread, so blocking it takes nothing from the
/// cooperative pool where the operation runs, and the operation never waits for the caller: no
/// deadlock. A caller that *is* running a Swift task (Swift async code, or a transport callback,
/// which the driver calls from its task) would hold a pool thread while waiting for the pool —
/// with every pool thread held that way, nothing runs again — so such a call is refused with
/// ``BlockingCallError`` instead. The task holds the only other reference to the completion; both
/// are gone when this returns.
package func runBlocking<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
    try refuseTaskThread()
    let completion = Completion<T>()
    Task.detached {
        do {
            completion.finish(.success(try await operation()))
        } catch {
            completion.finish(.failure(error))
        }
    }
    return try completion.wait().get()
}

/// Throws when the calling thread runs a Swift task, where ``runBlocking(_:)`` must not block.
/// Entry points call it first, so that a refused call does nothing at all.
package func refuseTaskThread() throws(BlockingCallError) {
    if withUnsafeCurrentTask(body: { $0 != nil }) {
        throw BlockingCallError(code: .calledFromTask,
                                reason: "called from a Swift concurrency task (Swift async code or a transport callback); call the C API from an ordinary thread")
    }
}

/// Why ``runBlocking(_:)`` refused to block.
package struct BlockingCallError: CodedError {
    package let code: Code
    package let reason: String

    package init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }

    /// The kinds of ``BlockingCallError``.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: Hashable, Sendable { case calledFromTask }
        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// The calling thread is running a Swift task.
        package static let calledFromTask = Code(.calledFromTask)

        package var description: String { "calledFromTask" }
    }
}

/// A result handed from the task to the blocked C thread.
private final class Completion<T: Sendable>: Sendable {
    private let result = Mutex<Result<T, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    func finish(_ outcome: Result<T, any Error>) {
        result.withLock { $0 = outcome }
        done.signal()
    }

    func wait() -> Result<T, any Error> {
        while true {
            done.wait()
            // finish(_:) stores before it signals, so the first wake-up finds the result.
            if let outcome = result.withLock({ $0 }) { return outcome }
        }
    }
}
