import ArgumentParser
import Executors

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Finds each runtime's binary: the `--<runtime>-bin` flag, else the executor's default names on PATH.
enum RuntimeBinaries {
    /// - Parameters:
    ///   - flags: runtime -> path given on the command line (nil: look on PATH).
    ///   - enabled: `--runtimes`, or nil for "every runtime whose binary is found".
    /// - Returns: enabled runtime -> absolute binary path.
    /// - Throws: `ValidationError` when a flag names a file that is not executable, or `--runtimes`
    ///   names an unknown runtime or one whose binary is not found.
    static func discover(registry: ExecutorRegistry, flags: [String: String?], enabled: [String]?) throws -> [String: String] {
        var found: [String: String] = [:]
        for name in registry.runtimeNames {
            guard let executor = registry.executor(for: name) else { continue }
            if let flag = flags[name] ?? nil {
                let path = flag.hasPrefix("/") ? flag : FileManager.default.currentDirectoryPath + "/" + flag
                guard FileManager.default.isExecutableFile(atPath: path) else {
                    throw ValidationError("--\(name)-bin \(flag): not an executable file")
                }
                found[name] = path
            } else if let path = executor.defaultBinaryNames.lazy.compactMap(lookUp).first {
                found[name] = path
            }
        }
        guard let enabled else { return found }
        var result: [String: String] = [:]
        for written in enabled where !written.isEmpty {
            guard let executor = registry.executor(for: written) else {
                throw ValidationError("--runtimes: unknown runtime \"\(written)\" (known: \(registry.runtimeNames.joined(separator: ", ")))")
            }
            guard let path = found[executor.name] else {
                throw ValidationError("--runtimes enables \(executor.name), but no binary was found (give --\(executor.name)-bin PATH)")
            }
            result[executor.name] = path
        }
        return result
    }

    /// The first executable `name` on PATH.
    static func lookUp(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":") where !folder.isEmpty {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
