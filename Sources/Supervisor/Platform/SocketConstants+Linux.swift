#if os(Linux)
import Glibc

/// `SOCK_STREAM` as the `Int32` that `socket(2)` takes (an enum case in Glibc's import).
let SOCK_STREAM_TYPE = Int32(SOCK_STREAM.rawValue)
/// `send(2)` flag: a peer that closed the connection gives EPIPE, not SIGPIPE.
let MSG_NOSIGNAL_FLAG = Int32(MSG_NOSIGNAL)
#endif

#if os(Linux)
/// Nothing to do on Linux: `send(2)` gets `MSG_NOSIGNAL_FLAG` instead.
func disableSIGPIPE(_ fd: Int32) {}

/// A connected pair of Unix stream sockets, both close-on-exec from the start (`SOCK_CLOEXEC`, so no
/// child spawned meanwhile inherits them). Returns 0, or -1 with errno (socketpair(2)).
func closeOnExecSocketPair(_ pair: inout [Int32]) -> Int32 {
    socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair)
}
#endif
