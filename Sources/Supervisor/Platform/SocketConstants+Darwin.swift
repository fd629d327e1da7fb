#if canImport(Darwin)
import Darwin

/// `SOCK_STREAM` as the `Int32` that `socket(2)` takes.
let SOCK_STREAM_TYPE = SOCK_STREAM
/// Darwin has no `MSG_NOSIGNAL`; `disableSIGPIPE(_:)` sets `SO_NOSIGPIPE` on the socket instead.
let MSG_NOSIGNAL_FLAG: Int32 = 0

/// A write to a closed connection on `fd` gives EPIPE instead of SIGPIPE.
func disableSIGPIPE(_ fd: Int32) {
    var on: Int32 = 1
    _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, socklen_t(MemoryLayout<Int32>.size))
}

/// A connected pair of Unix stream sockets, both close-on-exec. Darwin has no `SOCK_CLOEXEC`: the flag
/// is set right after socketpair(2); swift-subprocess spawns with `POSIX_SPAWN_CLOEXEC_DEFAULT` there, so
/// no child spawned in between inherits them. Returns 0, or -1 with errno.
func closeOnExecSocketPair(_ pair: inout [Int32]) -> Int32 {
    guard socketpair(AF_UNIX, SOCK_STREAM, 0, &pair) == 0 else { return -1 }
    _ = fcntl(pair[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(pair[1], F_SETFD, FD_CLOEXEC)
    return 0
}
#endif
