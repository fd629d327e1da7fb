import ArgumentParser
import ConfigModel
import Executors
import Foundation
import Supervisor
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
        var v4 = in_addr(), v6 = in6_addr()
        guard inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1 else {
            throw ValidationError("--host \(host) is not an IP address (use 127.0.0.1, 0.0.0.0, ::1, ...)")
        }
    }

    /// The node as these flags describe it.
    /// - Throws: `ValidationError` for a binary flag that is not executable or a `--runtimes` entry without a binary.
    func resolve() throws -> NodeRuntimes {
        let binaries = try RuntimeBinaries.discover(
            registry: .standard,
            flags: [RuntimeName.llamaServer: llamaServerBin, RuntimeName.mlxServer: mlxServerBin],
            enabled: runtimes.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } })
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
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Encodes a value as pretty JSON on standard output.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
