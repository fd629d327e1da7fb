#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The portable `ChangeMonitor`: compares the identity (inode, size, modification time) of the config
/// file, or of every YAML file of a config folder, every `interval`. Made of POSIX `stat(2)` and `poll(2)`
/// only; the portable configuration uses it on Linux, and it is the fallback wherever no event API fits.
struct PollingMonitor: ChangeMonitor {
    /// Time between two comparisons.
    static let interval: Duration = .milliseconds(500)
    private let path: String
    private let folder: Bool

    init(path: String, folder: Bool) throws {
        self.path = path
        self.folder = folder
    }

    func run(stop: Int32, onChange: @Sendable (ConfigChange) -> Void) {
        var last = identity()
        var fds = [pollfd(fd: stop, events: Int16(POLLIN), revents: 0)]
        while true {
            fds[0].revents = 0
            let ready = poll(&fds, 1, Int32(Self.interval.components.seconds * 1000 + Self.interval.components.attoseconds / 1_000_000_000_000_000))
            if ready > 0 && fds[0].revents != 0 { return }
            if ready < 0 && errno != EINTR { return }
            let now = identity()
            if now != last {
                last = now
                onChange(.settling)
            }
        }
    }

    private func identity() -> [Int] {
        if folder {
            return ConfigSources.expand([path]).flatMap { Self.fileIdentity($0.path) + [-1] }
        }
        return Self.fileIdentity(path)
    }

    private static func fileIdentity(_ path: String) -> [Int] {
        var st = stat()
        guard stat(path, &st) == 0 else { return [] }
        let modified = st.modificationTime
        return [Int(st.st_ino), Int(st.st_size), Int(modified.tv_sec), Int(modified.tv_nsec)]
    }
}
