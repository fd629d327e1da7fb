#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Events for `metal-agent status --watch` and `wait`: the status file was rewritten, or the agent's
/// lock file was closed for writing (the agent ended, or a new one started).
///
/// Both files are watched with `ConfigWatcher` (inotify on Linux: a rename-save of the status file is
/// `IN_MOVED_TO`, an agent's end closes its lock file, `IN_CLOSE_WRITE`). A `presence` tick every
/// `presenceInterval` also comes, so a lock released where no event says so (another platform, a
/// folder that did not exist yet) is noticed all the same; readers act on it only when the agent's
/// presence changed. The first event, `initial`, comes at once.
public final class StatusFileChanges: Sendable {
    /// Why the reader should look again.
    public enum Event: Sendable, Hashable {
        /// The first look.
        case initial
        /// The status file or the lock file changed.
        case file
        /// The periodic presence tick.
        case presence
    }

    /// The events, until `stop()`.
    public let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let watchers: [ConfigWatcher]
    private let ticks: Task<Void, Never>

    /// Time between two `presence` ticks.
    public static let presenceInterval: Duration = .seconds(1)

    /// Starts watching `path` (the status file) and `path.lock`. A folder that cannot be watched (it does
    /// not exist yet) leaves only the presence ticks.
    public init(path: String) throws {
        let (events, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(16))
        self.events = events
        self.continuation = continuation
        continuation.yield(.initial)
        watchers = [path, path + ".lock"].map { file in
            ConfigWatcher(path: file) { _ in continuation.yield(.file) }
        }
        for watcher in watchers { try? watcher.start() }
        ticks = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.presenceInterval)
                continuation.yield(.presence)
            }
        }
    }

    /// Stops the watchers and ends `events`.
    public func stop() {
        ticks.cancel()
        for watcher in watchers { watcher.stop() }
        continuation.finish()
    }

    deinit { stop() }
}
