#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The socket calls and constants `HTTPProber` needs, spelled once per platform.
enum SocketCalls {
    #if canImport(Glibc)
    /// `SOCK_STREAM | SOCK_CLOEXEC`.
    static let streamCloseOnExec = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    /// `SOCK_STREAM` (for `getaddrinfo` hints).
    static let stream = Int32(SOCK_STREAM.rawValue)
    /// `send` flags: no SIGPIPE on a closed connection.
    static let noSignal = Int32(MSG_NOSIGNAL)
    static func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
        Glibc.connect(fd, address, length)
    }
    #else
    static let streamCloseOnExec = SOCK_STREAM  // close-on-exec is set with fcntl below
    static let stream = SOCK_STREAM
    static let noSignal: Int32 = 0  // SIGPIPE is ignored by the agent (AgentOutput)
    static func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
        Darwin.connect(fd, address, length)
    }
    #endif
}
