#if canImport(CPCSCLite)
#if canImport(Glibc)
import SealHostDriver
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Starts detached POSIX threads for long-blocking PC/SC loops (the reader monitor), which must
/// not occupy a thread of the cooperative pool or of libdispatch.
enum PCSCThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts `body` on a new detached thread. Returns `false` if the thread could not be created;
    /// `body` then never runs. (Glibc does not export `pthread_setname_np` to Swift without
    /// `_GNU_SOURCE`, so the thread stays unnamed.)
    static func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { argument in
            guard let argument else { return nil }
            let body = Unmanaged<Body>.fromOpaque(argument).takeRetainedValue()
            body.run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            return false
        }
        _ = pthread_detach(thread)
        return true
    }
}
#endif
