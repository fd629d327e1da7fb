#if canImport(Darwin)
import Darwin

extension ProcessIdentity {
    /// Sends `signal` to this process only if its pid still belongs to it. Returns true when it was sent.
    ///
    /// macOS has no pidfd: the identity is checked (`proc_pidinfo` start time), then `kill(2)`; a pid
    /// would have to be freed and reused within those few microseconds to go astray (macOS hands out
    /// pids in increasing order up to 99,999 before it wraps).
    @discardableResult
    public func signal(_ signal: Int32) -> Bool {
        guard Self.read(pid: pid)?.0 == self else { return false }
        return kill(pid, signal) == 0
    }

    /// This boot's session id (`sysctl kern.bootsessionuuid`): a ledger written before a reboot names
    /// processes that no longer exist.
    static let bootID: String = {
        var size = 0
        guard sysctlbyname("kern.bootsessionuuid", nil, &size, nil, 0) == 0, size > 0 else { return "unknown" }
        var buffer = [UInt8](repeating: 0, count: size)
        guard sysctlbyname("kern.bootsessionuuid", &buffer, &size, nil, 0) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }()
}
#endif
