#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where the runtime guard (`metal-agent-guard`) is: beside the running `metal-agent` binary.
enum RuntimeGuardBinary {
    static let name = "metal-agent-guard"

    /// The guard's path, or nil when it is not installed beside this binary.
    static func path() -> String? {
        let candidate = folder.appendingPathComponent(name).path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }

    /// The folder of the running binary, symlinks resolved (`/proc/self/exe` on Linux; Foundation's
    /// `Bundle`, which reads `_NSGetExecutablePath`, on macOS).
    private static var folder: URL {
        #if os(Linux)
        let running = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let executable = URL(fileURLWithPath: running ?? CommandLine.arguments[0])
        #else
        let executable = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        #endif
        return executable.resolvingSymlinksInPath().deletingLastPathComponent()
    }

    static var missingMessage: String {
        let folder = Self.folder.path
        return "\(name) is not installed beside metal-agent (looked in \(folder)); install both binaries into one folder"
    }
}
