import Foundation
import TestSupport
import Testing

@testable import Supervisor

#if os(Linux)
/// `PortListener`: whose socket listens on a port, asked of the kernel (sock_diag) and `/proc`, with real
/// sockets and real processes.
@Suite struct PortListenerTests {
    @Test func aListenerOfTheTreeIsTheRuntimesAndOfAnotherProcessAStrangers() async throws {
        let listener = try LoopbackListener()
        defer { listener.close() }
        // This test process holds the socket: as the root of the tree, it is the runtime.
        #expect(PortListener.owner(of: listener.port, tree: getpid()) == .runtime)
        // A process that holds no copy of the socket: a stranger listens on the port.
        let other = try CleanSpawn.spawn(["/bin/sleep", "60"])
        defer { Self.end(other) }
        #expect(PortListener.owner(of: listener.port, tree: other) == .stranger)
    }

    @Test func anIPv6ListenerOfADescendantIsTheRuntimes() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("port-listener-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let portFile = folder.appendingPathComponent("port").path
        // A shell whose child listens on [::1]: the root holds nothing, its descendant the socket.
        let server = """
            import os, socket, time
            s = socket.socket(socket.AF_INET6)
            s.bind(("::1", 0))
            s.listen()
            open("\(portFile).tmp", "w").write(str(s.getsockname()[1]))
            os.rename("\(portFile).tmp", "\(portFile)")
            time.sleep(60)
            """
        let shell = try CleanSpawn.spawn(["/bin/sh", "-c", "python3 -c '\(server)' & wait"], newGroup: true)
        defer { Self.end(shell, group: true) }
        let deadline = ContinuousClock.now + .seconds(60)
        while !FileManager.default.fileExists(atPath: portFile) {
            try #require(ContinuousClock.now < deadline, "the listener never wrote its port")
            try await Task.sleep(for: .milliseconds(20))
        }
        let port = try #require(Int(try String(contentsOfFile: portFile, encoding: .utf8)))
        #expect(PortListener.owner(of: port, tree: shell) == .runtime)
        let other = try CleanSpawn.spawn(["/bin/sleep", "60"])
        defer { Self.end(other) }
        #expect(PortListener.owner(of: port, tree: other) == .stranger)
    }

    @Test func aPortNobodyListensOnIsUnknown() throws {
        let port = try LoopbackListener.freePort()
        #expect(PortListener.owner(of: port, tree: getpid()) == .unknown)
    }

    private static func end(_ pid: pid_t, group: Bool = false) {
        kill(group ? -pid : pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}
#endif
