#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// Facts about this node, for the status file's `node` object.
public struct NodeInfo: Sendable, Hashable, Codable {
    /// The node's host name (`gethostname`).
    public var hostname: String
    /// `linux` or `macos`.
    public var os: String
    /// Kernel or OS version string.
    public var osVersion: String
    /// `x86_64` or `arm64`.
    public var arch: String
    /// Online CPU cores.
    public var cpuCount: Int
    /// Physical memory in bytes.
    public var memoryBytes: UInt64
    /// metal-agent's version.
    public var agentVersion: String

    /// Reads the facts of the machine this runs on.
    public static func current(agentVersion: String) -> NodeInfo {
        var buffer = [CChar](repeating: 0, count: 256)
        let hostname =
            gethostname(&buffer, buffer.count) == 0
            ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown"
        let os = Platform.name
        #if arch(x86_64)
        let arch = "x86_64"
        #elseif arch(arm64)
        let arch = "arm64"
        #else
        let arch = "unknown"
        #endif
        let info = ProcessInfo.processInfo
        return NodeInfo(
            hostname: hostname, os: os, osVersion: info.operatingSystemVersionString, arch: arch,
            cpuCount: info.activeProcessorCount, memoryBytes: info.physicalMemory, agentVersion: agentVersion)
    }
}
