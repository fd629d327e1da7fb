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
#endif
