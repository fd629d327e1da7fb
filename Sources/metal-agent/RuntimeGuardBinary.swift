import Foundation

/// Where the runtime guard (`metal-agent-guard`) is: beside the running `metal-agent` binary.
enum RuntimeGuardBinary {
    static let name = "metal-agent-guard"

    /// The guard's path, or nil when it is not installed beside this binary.
    static func path() -> String? {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let candidate = executable.deletingLastPathComponent().appendingPathComponent(name).path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }

    static var missingMessage: String {
        let folder = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
        return "\(name) is not installed beside metal-agent (looked in \(folder)); install both binaries into one folder"
    }
}
