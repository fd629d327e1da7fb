import Foundation
import TestSupport
import Testing

@testable import Supervisor

/// Agent-assigned ports: from their own range (not the kernel's ephemeral one), never a port another
/// process listens on or another entry holds.
@Suite struct PortAllocatorTests {
    @Test func aPortSomeoneListensOnIsNeverHandedOut() throws {
        let stranger = try LoopbackListener()
        defer { stranger.close() }
        var allocator = PortAllocator(range: stranger.port...stranger.port)
        #expect(allocator.allocate(host: "127.0.0.1") == nil)
    }

    @Test func aReservedPortIsNeverHandedOutAndEachPortOnlyOnce() throws {
        let low = 41_000
        var allocator = PortAllocator(range: low...(low + 19))
        allocator.reserve(low + 3)
        var given: [Int] = []
        for _ in 0..<5 {
            let port = allocator.allocate(host: "127.0.0.1")
            given.append(try #require(port))
        }
        #expect(Set(given).count == 5, "\(given)")
        #expect(given.allSatisfy { (low...(low + 19)).contains($0) && $0 != low + 3 }, "\(given)")
        // Once released, a port can be handed out again; until then the range runs out.
        var one = PortAllocator(range: low...low)
        one.reserve(low)
        #expect(one.allocate(host: "127.0.0.1") == nil)
        one.release(low)
        #expect(one.inUse.isEmpty)
    }

    /// The agent's own listeners' ports are never handed out, even while free (a listener waiting to
    /// try its taken port again) and after a release.
    @Test func theAgentsOwnListenerPortsAreNeverHandedOut() throws {
        let free = try LoopbackListener.freePort()
        var allocator = PortAllocator(range: free...free, excluded: [free])
        #expect(allocator.allocate(host: "127.0.0.1") == nil)
        allocator.release(free)
        #expect(allocator.allocate(host: "127.0.0.1") == nil)
        var open = PortAllocator(range: free...free)
        #expect(open.allocate(host: "127.0.0.1") == free, "the port is free: only the exclusion kept it back")
    }

    @Test func theEphemeralRangeIsReadFromTheKernelsFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("port-range-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "32768\t60999\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(PortAllocator.ephemeralRange(file: file) == 32768...60999)
        try "60999 32768\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(PortAllocator.ephemeralRange(file: file) == nil)
        #expect(PortAllocator.ephemeralRange(file: file + ".absent") == nil)
        // The agent's default lies below Linux's default ephemeral range and macOS's.
        #expect(!AgentOptions.defaultPortRange.overlaps(32768...60999))
        #expect(!AgentOptions.defaultPortRange.overlaps(49152...65535))
    }
}
