import Foundation
import Testing

@testable import Supervisor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The agent's side of the guard's one-line answer, on a real socket pair: the answer in pieces, an
/// error, a guard gone without a word, silence until the timeout, and many handshakes waiting at once.
@Suite struct GuardHandshakeTests {
    /// A connected socket pair: (agent's end, guard's end).
    func pair() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        #if canImport(Glibc)
        let type = Int32(SOCK_STREAM.rawValue)
        #else
        let type = SOCK_STREAM
        #endif
        guard socketpair(AF_UNIX, type, 0, &fds) == 0 else { throw POSIXError(.EIO) }
        return (fds[0], fds[1])
    }

    func say(_ fd: Int32, _ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    @Test func readsTheAnswerEvenInPieces() async throws {
        let (agent, guardEnd) = try pair()
        defer { close(agent) }
        async let answer = GuardHandshake.receive(agent, timeout: .seconds(60))
        say(guardEnd, "pid 4")
        try await Task.sleep(for: .milliseconds(20))
        say(guardEnd, "2\nanything after")
        #expect(await answer == .runtime(42))
        close(guardEnd)
    }

    @Test func anErrorAGuardGoneAndSilence() async throws {
        let (a1, g1) = try pair()
        say(g1, "error cannot execute /x: No such file or directory\n")
        #expect(await GuardHandshake.receive(a1, timeout: .seconds(60)) == .failed("cannot execute /x: No such file or directory"))
        let (a2, g2) = try pair()
        close(g2)
        #expect(await GuardHandshake.receive(a2, timeout: .seconds(60)) == .noAnswer("it exited without an answer"))
        let (a3, g3) = try pair()
        let silent = await GuardHandshake.receive(a3, timeout: .milliseconds(50))
        #expect(silent == .noAnswer("no answer within 0.05 seconds"))
        say(g3, "huh\n")
        #expect(await GuardHandshake.receive(a3, timeout: .seconds(60)) == .noAnswer("unexpected answer \"huh\""))
        for fd in [a1, g1, a2, a3, g3] { close(fd) }
    }

    /// 200 handshakes wait together; answered in reverse order, every one gets its own pid. (Each used
    /// to hold a thread in `poll` while it waited.)
    @Test func manyHandshakesWaitTogether() async throws {
        let pairs = try (0..<200).map { _ in try pair() }
        defer {
            for (a, g) in pairs {
                close(a)
                close(g)
            }
        }
        try await withThrowingTaskGroup(of: (Int, GuardHandshake).self) { group in
            for (index, (agent, _)) in pairs.enumerated() {
                group.addTask { (index, await GuardHandshake.receive(agent, timeout: .seconds(120))) }
            }
            for (index, (_, guardEnd)) in pairs.enumerated().reversed() { say(guardEnd, "pid \(index + 1000)\n") }
            for try await (index, answer) in group { #expect(answer == .runtime(Int32(index + 1000))) }
        }
    }
}
