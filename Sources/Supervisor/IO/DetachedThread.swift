import CProcessControl

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A detached POSIX thread for the agent's few blocking loops (config watcher, probe loop, output
/// pump): each `poll(2)`s its own descriptors, so none may run on Swift's cooperative pool or a
/// Dispatch queue. (Foundation's `Thread` does the same, and is the only reason to load full Foundation.)
enum DetachedThread {
    private final class Start {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Runs `body` on a new detached thread named `name` (the first 15 bytes: Linux's limit for
    /// `pthread_setname_np`, shown by `top -H` and in `/proc/<pid>/task/<tid>/comm`).
    /// A thread that cannot be created (`pthread_create` fails: EAGAIN, out of threads or memory) stops
    /// the agent: nothing it supervises would be watched.
    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        #if canImport(Darwin)
        var thread: pthread_t? = nil
        #else
        var thread = pthread_t()
        #endif
        let rc = pthread_create(
            &thread, &attributes,
            { argument in
                let start = Unmanaged<Start>.fromOpaque(DetachedThread.pointer(argument)).takeRetainedValue()
                _ = metal_agent_name_this_thread(start.name)
                start.body()
                return nil
            }, start)
        precondition(rc == 0, "metal-agent: cannot start thread \(name): \(String(cString: strerror(rc)))")
    }

    // The start routine's argument is optional on Linux and not on Darwin.
    private static func pointer(_ argument: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer { argument! }
}
