import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A listening TCP socket on 127.0.0.1 with a port the kernel picked: a stand-in for a server, or for a
/// stranger that holds a port. The one copy of the socket set-up the tests share. It accepts nothing by
/// itself; a test that serves reads `fd`.
public final class LoopbackListener: Sendable {
    /// The listening socket.
    public let fd: Int32
    /// The port it listens on.
    public let port: Int
    private let closed = Atomic<Bool>(false)

    /// Binds and listens with `backlog` pending connections.
    /// - Throws: `POSIXError` when the socket cannot be bound or listen.
    /// - Parameter port: the port to bind; 0 lets the kernel choose one.
    public init(port: Int = 0, backlog: Int32 = 64) throws {
        let fd = try Self.boundSocket(port: port)
        guard listen(fd, backlog) == 0 else {
            let code = errno
            _ = closeFD(fd)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EADDRINUSE)
        }
        self.fd = fd
        self.port = Self.port(of: fd)
    }

    /// Closes the socket: the port is free again. Only the first call closes (a later one would close
    /// whatever descriptor reused the number).
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = closeFD(fd)
    }

    /// A TCP port on 127.0.0.1 that nobody listens on right now (bound, read, released).
    /// - Throws: `POSIXError` when no socket can be bound.
    public static func freePort() throws -> Int {
        let fd = try boundSocket()
        defer { _ = closeFD(fd) }
        return port(of: fd)
    }

    private static func boundSocket(port: Int = 0) throws -> Int32 {
        #if canImport(Darwin)
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #else
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #endif
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EMFILE) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let code = errno
            _ = closeFD(fd)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EADDRINUSE)
        }
        return fd
    }

    private static func port(of fd: Int32) -> Int {
        var out = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &out) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: out.sin_port))
    }
}

private func closeFD(_ fd: Int32) -> Int32 {
    #if canImport(Darwin)
    Darwin.close(fd)
    #else
    Glibc.close(fd)
    #endif
}
