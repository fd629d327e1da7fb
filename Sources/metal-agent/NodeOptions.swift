import ArgumentParser
import ConfigModel
import Executors
import Supervisor

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// Flags that say what this node runs; shared by `run` and `validate`.
struct NodeOptions: ParsableArguments {
    @Option(help: "Runtime for entries without spec.runtime (llama-server, mlx-server; alias llamacpp).")
    var runtime: String = RuntimeName.llamaServer

    @Option(help: "Comma-separated runtimes this node enables (default: every runtime whose binary is found).")
    var runtimes: String?

    @Option(help: "Path of llama-server (default: `llama-server` on PATH).")
    var llamaServerBin: String?

    @Option(help: "Path of the MLX server (default: `mlx-server`, then `mlx_lm.server`, on PATH).")
    var mlxServerBin: String?

    @Option(help: "Address the runtimes bind.")
    var host: String = "127.0.0.1"

    func validate() throws {
        guard RuntimeName.canonical(runtime) != nil else {
            throw ValidationError("--runtime \(runtime) is not a known runtime (known: \(RuntimeName.known.joined(separator: ", ")))")
        }
        guard IPAddressText.isNumeric(host) else {
            throw ValidationError("--host \(host) is not an IP address (use 127.0.0.1, 0.0.0.0, ::1, ...)")
        }
    }

    /// The node as these flags describe it.
    /// - Throws: `ValidationError` for a binary flag that is not executable or a `--runtimes` entry without a binary.
    func resolve() throws -> NodeRuntimes {
        let binaries = try RuntimeBinaries.discover(
            registry: .standard,
            flags: [RuntimeName.llamaServer: llamaServerBin, RuntimeName.mlxServer: mlxServerBin],
            enabled: runtimes.map { $0.split(separator: ",").map { $0.trimmingBlanks() } })
        return NodeRuntimes(defaultRuntime: runtime, binaries: binaries, host: host)
    }
}

/// `--output text|json`.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// Absolute form of a path given on the command line.
func absolutePath(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

/// Writes a line to standard error.
func printError(_ text: String) {
    _ = Array((text + "\n").utf8).withUnsafeBytes { writeAll(2, $0) }
}

/// Writes `bytes` to standard output, after whatever `print` has buffered.
func writeStandardOutput(_ bytes: some Collection<UInt8>) {
    fflush(nil)
    // A reader that went away (EPIPE) ends the output; nothing else is to be done about it.
    _ = Array(bytes).withUnsafeBytes { writeAll(1, $0) }
}

/// Ends the process with `code` (exit(3): buffered output is flushed).
func terminate(_ code: Int32) -> Never {
    #if canImport(Glibc)
    Glibc.exit(code)
    #else
    Darwin.exit(code)
    #endif
}

/// Why a file could not be read or decoded, in a few words (`no such file`, `permission denied`, or the
/// decoder's reason).
func describeReadError(_ error: any Error) -> String {
    if let cocoa = error as? CocoaError {
        switch cocoa.code {
        case .fileReadNoSuchFile, .fileNoSuchFile: return "no such file"
        case .fileReadNoPermission: return "permission denied"
        default: return "cannot be read (error \(cocoa.code.rawValue))"
        }
    }
    if let decoding = error as? DecodingError {
        switch decoding {
        case .dataCorrupted(let context), .keyNotFound(_, let context), .typeMismatch(_, let context), .valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "not a metal-agent status file (\(path.isEmpty ? "" : path + ": ")\(context.debugDescription))"
        @unknown default: return "not a metal-agent status file"
        }
    }
    return "\(error)"
}

/// Encodes a value as pretty JSON on standard output.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// A path without trailing slashes (`conf/` -> `conf`), so a folder's default status file is `conf.status.json`.
func trimmedFolder(_ path: String) -> String {
    var p = path
    while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
    return p
}

/// Reads every file `--config` names (folders expanded). Prints the problem and exits 2 when a named
/// file cannot be read or a folder holds no YAML file.
func readConfigFiles(_ paths: [String]) throws -> [(path: String, bytes: [UInt8])] {
    var result: [(path: String, bytes: [UInt8])] = []
    for source in ConfigSources.expand(paths.map { trimmedFolder(absolutePath($0)) }) {
        guard let data = FileManager.default.contents(atPath: source.path) else {
            printError("\(source.path): cannot read the file")
            throw ExitCode(2)
        }
        result.append((source.path, [UInt8](data)))
    }
    if result.isEmpty {
        printError("\(paths.joined(separator: ", ")): no config file (a folder needs *.yaml or *.yml files)")
        throw ExitCode(2)
    }
    return result
}
