#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `write(2)`: at most `count` bytes from `buffer` to `fd`; the bytes written, or -1 with `errno` set.
/// For types whose own `write` method hides the C function.
func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, buffer, count)
    #else
    Darwin.write(fd, buffer, count)
    #endif
}

/// Writes every byte of `bytes` to `fd`, retrying after EINTR and short writes.
/// - Returns: 0 when all was written, else the errno of the write that failed (EPIPE: the reader went
///   away; EAGAIN: a non-blocking descriptor is full).
public func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
    var offset = 0
    while offset < bytes.count {
        let n = systemWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n >= 0 {
            offset += n
        } else if errno != EINTR {
            return errno
        }
    }
    return 0
}
