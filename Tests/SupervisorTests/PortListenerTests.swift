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
        #expect(PortListener.owner(of: "http://127.0.0.1:\(listener.port)", tree: getpid()) == .runtime)
        // A process that holds no copy of the socket: a stranger listens on the port.
        let other = try CleanSpawn.spawn(["/bin/sleep", "60"])
        defer { Self.end(other) }
        #expect(PortListener.owner(of: "http://127.0.0.1:\(listener.port)", tree: other) == .stranger)
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
        #expect(PortListener.owner(of: "http://[::1]:\(port)", tree: shell) == .runtime)
        let other = try CleanSpawn.spawn(["/bin/sleep", "60"])
        defer { Self.end(other) }
        #expect(PortListener.owner(of: "http://[::1]:\(port)", tree: other) == .stranger)
    }

    /// The runtime exited and was reaped between the probe's answer and this check (it failed to bind the
    /// port a stranger holds): the answer was the stranger's, not "cannot tell".
    @Test func aTreeWhoseRootIsGoneIsAStrangersAnswer() async throws {
        let listener = try LoopbackListener()
        defer { listener.close() }
        let gone = try CleanSpawn.spawn(["/bin/true"])
        Self.end(gone)
        #expect(PortListener.owner(of: "http://127.0.0.1:\(listener.port)", tree: gone) == .stranger)
    }

    @Test func aPortNobodyListensOnIsUnknown() throws {
        let port = try LoopbackListener.freePort()
        #expect(PortListener.owner(of: "http://127.0.0.1:\(port)", tree: getpid()) == .unknown)
    }

    /// The case a helper found: the runtime on `127.0.0.1:P`, another program on `[::1]:P` (IPv6-only)
    /// and on `127.0.0.2:P`. Those listeners take none of the probe's connections, so they do not make
    /// the runtime a stranger; probed at their own addresses, they are the stranger.
    @Test func aListenerOnAnotherAddressOfThePortNeitherBlocksNorHidesTheRuntime() async throws {
        let (runtime, port) = try await Self.listen(on: ["127.0.0.1"], port: 0)
        defer { Self.end(runtime) }
        let (other, _) = try await Self.listen(on: ["::1", "127.0.0.2"], port: port)
        defer { Self.end(other) }
        #expect(PortListener.owner(of: "http://127.0.0.1:\(port)", tree: runtime) == .runtime)
        #expect(PortListener.owner(of: "http://[::1]:\(port)", tree: runtime) == .stranger)
        #expect(PortListener.owner(of: "http://127.0.0.2:\(port)", tree: runtime) == .stranger)
        #expect(PortListener.owner(of: "http://[::1]:\(port)", tree: other) == .runtime)
        #expect(PortListener.owner(of: "http://127.0.0.1:\(port)", tree: other) == .stranger)
        // An address nobody covers: nothing to match, the probe is all there is.
        #expect(PortListener.owner(of: "http://127.0.0.3:\(port)", tree: runtime) == .unknown)
        // Not a numeric address: cannot tell.
        #expect(PortListener.owner(of: "http://localhost:\(port)", tree: runtime) == .unknown)
    }

    /// A runtime bound to the wildcard (`--host 0.0.0.0`) is probed at `0.0.0.0`, which Linux connects to
    /// `127.0.0.1`: a stranger there answers the probe and must be seen (a helper's trial found the
    /// check matched the literal `0.0.0.0`, found no receiver and trusted the probe).
    @Test func aProbeOfTheWildcardAddressGoesToLoopback() async throws {
        let (stranger, port) = try await Self.listen(on: ["127.0.0.1"], port: 0)
        defer { Self.end(stranger) }
        let other = try CleanSpawn.spawn(["/bin/sleep", "60"])
        defer { Self.end(other) }
        #expect(PortListener.owner(of: "http://0.0.0.0:\(port)", tree: other) == .stranger)
        #expect(PortListener.owner(of: "http://0.0.0.0:\(port)", tree: stranger) == .runtime)
        let (wildcard, wildPort) = try await Self.listen(on: ["0.0.0.0"], port: 0)
        defer { Self.end(wildcard) }
        #expect(PortListener.owner(of: "http://0.0.0.0:\(wildPort)", tree: wildcard) == .runtime)
        #expect(PortListener.owner(of: "http://0.0.0.0:\(wildPort)", tree: other) == .stranger)
        let (six, sixPort) = try await Self.listen(on: ["::1"], port: 0)
        defer { Self.end(six) }
        #expect(PortListener.owner(of: "http://[::]:\(sixPort)", tree: other) == .stranger)
        #expect(PortListener.owner(of: "http://[::]:\(sixPort)", tree: six) == .runtime)
    }

    /// A Python process that listens on each of `hosts` (IPv6 ones IPv6-only) at `port` (0: one the
    /// kernel picks for the first host); returns its pid and the port once it listens.
    private static func listen(on hosts: [String], port: Int) async throws -> (pid_t, Int) {
        let portFile = FileManager.default.temporaryDirectory.appendingPathComponent("port-listener-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: portFile) }
        let server = """
            import os, socket, time
            port = \(port)
            held = []
            for host in [\(hosts.map { "'\($0)'" }.joined(separator: ", "))]:
                s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
                if ":" in host: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((host, port))
                s.listen()
                port = s.getsockname()[1]
                held.append(s)
            open("\(portFile).tmp", "w").write(str(port))
            os.rename("\(portFile).tmp", "\(portFile)")
            time.sleep(60)
            """
        let pid = try CleanSpawn.spawn(["/usr/bin/env", "python3", "-c", server])
        let deadline = ContinuousClock.now + .seconds(60)
        while !FileManager.default.fileExists(atPath: portFile) {
            guard ProcFS.isAlive(pid) && ContinuousClock.now < deadline else {
                end(pid)
                throw POSIXError(.EADDRINUSE)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return (pid, try #require(Int(try String(contentsOfFile: portFile, encoding: .utf8))))
    }

    private static func end(_ pid: pid_t, group: Bool = false) {
        kill(group ? -pid : pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}

/// `ListenAddressMatch.receivers`: which listeners Linux hands a connection to, by address.
@Suite struct ListenAddressMatchTests {
    typealias Listener = ListenAddressMatch.Listener
    typealias Probed = ListenAddressMatch.Probed

    static let loopback: [UInt8] = [127, 0, 0, 1]
    static let v6Loopback: [UInt8] = Array(repeating: 0, count: 15) + [1]
    static let mappedLoopback: [UInt8] = Array(repeating: 0, count: 10) + [0xff, 0xff, 127, 0, 0, 1]
    static func four(_ inode: UInt64, _ address: [UInt8]) -> Listener {
        Listener(inode: inode, family: AF_INET, address: address, v6only: false)
    }
    static func six(_ inode: UInt64, _ address: [UInt8], v6only: Bool = false) -> Listener {
        Listener(inode: inode, family: AF_INET6, address: address, v6only: v6only)
    }
    static func inodes(_ probed: Probed, _ listeners: [Listener]) -> [UInt64] {
        ListenAddressMatch.receivers(of: probed, among: listeners).map(\.inode).sorted()
    }

    @Test func theExactAddressGoesBeforeTheWildcardAndIPv4BeforeDualStack() {
        let probe = Probed(family: AF_INET, address: Self.loopback, port: 80)
        let wildcard4 = Self.four(1, [0, 0, 0, 0])
        let wildcard6 = Self.six(2, Array(repeating: 0, count: 16))
        let exact = Self.four(3, Self.loopback)
        let other = Self.four(4, [127, 0, 0, 2])
        #expect(Self.inodes(probe, [wildcard6, wildcard4, exact, other]) == [3])
        #expect(Self.inodes(probe, [wildcard6, wildcard4, other]) == [1])
        #expect(Self.inodes(probe, [wildcard6, other]) == [2])
        #expect(Self.inodes(probe, [other]) == [])
        // An IPv6-only wildcard takes no IPv4 connection.
        #expect(Self.inodes(probe, [Self.six(5, Array(repeating: 0, count: 16), v6only: true)]) == [])
        // An SO_REUSEPORT group at one address shares the connections: all of it counts.
        #expect(Self.inodes(probe, [exact, Self.four(6, Self.loopback), wildcard4]) == [3, 6])
    }

    @Test func anIPv6AddressIsTakenByIPv6ListenersOnly() {
        let probe = Probed(family: AF_INET6, address: Self.v6Loopback, port: 80)
        let wildcard6 = Self.six(1, Array(repeating: 0, count: 16), v6only: true)
        let exact = Self.six(2, Self.v6Loopback)
        #expect(Self.inodes(probe, [Self.four(3, [0, 0, 0, 0]), wildcard6, exact]) == [2])
        #expect(Self.inodes(probe, [Self.four(3, [0, 0, 0, 0]), wildcard6]) == [1])
        #expect(Self.inodes(probe, [Self.four(3, [0, 0, 0, 0]), Self.four(4, Self.loopback)]) == [])
    }

    @Test func anIPv4MappedAddressIsItsIPv4Address() {
        let mappedProbe = Probed(family: AF_INET6, address: Self.mappedLoopback, port: 80)
        #expect(mappedProbe == Probed(family: AF_INET, address: Self.loopback, port: 80))
        // A listener bound to the mapped address takes the IPv4 address's connections, after an IPv4
        // socket bound to it.
        let mappedListener = Self.six(1, Self.mappedLoopback)
        #expect(Self.inodes(mappedProbe, [mappedListener, Self.four(2, [0, 0, 0, 0])]) == [1])
        #expect(Self.inodes(mappedProbe, [mappedListener, Self.four(3, Self.loopback)]) == [3])
        // ...and no IPv6 connection.
        #expect(Self.inodes(Probed(family: AF_INET6, address: Self.v6Loopback, port: 80), [mappedListener]) == [])
    }
}
#endif
