import Executors
import Subprocess
import Synchronization
import SystemPackage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads each runtime binary's version once, and again only when the file changes.
///
/// Cached by path, size, modification time and inode, so an upgrade in place (a new Homebrew bottle, a
/// rebuilt llama-server) is read again at the next reconcile, and an unchanged binary never is. How:
/// - `mlx_lm.server` (a Python console script): the `Version:` of the `mlx_lm` package in the
///   interpreter's environment (`<venv>/lib/python3.*/site-packages/mlx_lm-*.dist-info/METADATA`),
///   found from the script's `#!` line; importing MLX to answer `--version` takes seconds;
/// - anything else, or when that fails: `<binary> --version` (stdout and stderr, at most 64 KiB, at
///   most `timeout`), parsed by `RuntimeVersion.parse`.
/// The `--version` process is a child of the agent, a child subreaper: it runs inside
/// `OrphanSweeper.spawning`, so the orphan sweep never takes it for a stray helper.
final class RuntimeVersionReader: Sendable {
    private struct Key: Hashable {
        var size: Int64
        var mtimeSeconds: Int
        var mtimeNanoseconds: Int
        var inode: UInt64
    }

    private let cache = Mutex<[String: (key: Key, version: RuntimeVersion?)]>([:])
    private let sweeper: OrphanSweeper?
    /// Longest a `--version` may take.
    let timeout: Duration
    /// How many `--version` processes were run (for tests: once per binary and change).
    private let spawned = Mutex(0)

    init(sweeper: OrphanSweeper?, timeout: Duration = .seconds(10)) {
        self.sweeper = sweeper
        self.timeout = timeout
    }

    /// Number of `--version` processes run so far.
    var spawnCount: Int { spawned.withLock { $0 } }

    /// The version of `binary`, from the cache when the file is unchanged; nil when it cannot be read.
    func version(of binary: String) async -> RuntimeVersion? {
        var info = stat()
        guard stat(binary, &info) == 0 else { return nil }
        let modified = info.modificationTime
        let key = Key(size: Int64(info.st_size), mtimeSeconds: modified.tv_sec, mtimeNanoseconds: modified.tv_nsec, inode: UInt64(info.st_ino))
        if let hit = cache.withLock({ $0[binary] }), hit.key == key { return hit.version }
        var version: RuntimeVersion?
        if MLXServerExecutor.isMLXLM(binary) { version = Self.pythonPackageVersion(script: binary, package: "mlx_lm") }
        if version == nil { version = await runVersionFlag(binary) }
        cache.withLock { $0[binary] = (key, version) }
        return version
    }

    /// The versions of every binary (runtime -> binary), leaving out those that cannot be read. The
    /// binaries are read at the same time: a slow one holds the others up by nothing, and the whole
    /// read by at most `timeout`. Cancelling the caller kills any `--version` still running.
    func versions(of binaries: [String: String]) async -> [String: RuntimeVersion] {
        await withTaskGroup(of: (String, RuntimeVersion?).self) { group in
            for (runtime, binary) in binaries {
                group.addTask { (runtime, await self.version(of: binary)) }
            }
            var result: [String: RuntimeVersion] = [:]
            for await (runtime, version) in group {
                if let version { result[runtime] = version }
            }
            return result
        }
    }

    /// `Version:` of `package` in the Python environment that runs `script` (its `#!` interpreter).
    static func pythonPackageVersion(script: String, package: String) -> RuntimeVersion? {
        let resolved = URL(fileURLWithPath: script).resolvingSymlinksInPath().path
        let fd = open(resolved, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 512)
        let count = read(fd, &head, head.count)
        guard count > 0 else { return nil }
        head.removeSubrange(count...)
        let first = String(decoding: head.prefix { $0 != 0x0A }, as: UTF8.self)
        guard first.hasPrefix("#!") else { return nil }
        let interpreter = first.dropFirst(2).split(separator: " ").first.map(String.init) ?? ""
        // <env>/bin/python3 -> <env>/lib/python3.*/site-packages/<package>-*.dist-info/METADATA
        let env = URL(fileURLWithPath: interpreter).deletingLastPathComponent().deletingLastPathComponent()
        let lib = env.appendingPathComponent("lib")
        let fm = FileManager.default
        for python in ((try? fm.contentsOfDirectory(atPath: lib.path)) ?? []).sorted() where python.hasPrefix("python") {
            let site = lib.appendingPathComponent(python).appendingPathComponent("site-packages")
            for entry in ((try? fm.contentsOfDirectory(atPath: site.path)) ?? []).sorted()
            where entry.hasPrefix(package + "-") && entry.hasSuffix(".dist-info") {
                let metadata = site.appendingPathComponent(entry).appendingPathComponent("METADATA")
                guard let text = try? String(contentsOf: metadata, encoding: .utf8) else { continue }
                for line in text.split(separator: "\n") where line.hasPrefix("Version: ") {
                    return RuntimeVersion.parse(String(line.dropFirst("Version: ".count)))
                }
            }
        }
        return nil
    }

    /// Runs `binary --version` and parses what it prints; nil on failure or after `timeout`.
    private func runVersionFlag(_ binary: String) async -> RuntimeVersion? {
        spawned.withLock { $0 += 1 }
        let timeout = self.timeout
        let run: @Sendable () async -> RuntimeVersion? = {
            var options = PlatformOptions()
            options.processGroupID = 0  // its own group, so a timeout kills whatever it started
            let configuration = Configuration(
                executable: .path(FilePath(binary)), arguments: ["--version"], environment: .inherit, platformOptions: options)
            let output = try? await Subprocess.run(configuration, input: .none, output: .sequence, error: .combinedWithOutput) { execution in
                let pid = execution.processIdentifier.value
                let killer = Task {
                    try await Task.sleep(for: timeout)
                    _ = killpg(pid, SIGKILL)
                }
                defer { killer.cancel() }
                return try await withTaskCancellationHandler {
                    var collected: [UInt8] = []
                    for try await buffer in execution.standardOutput {
                        buffer.withUnsafeBytes { bytes in
                            if collected.count < 65536 { collected += bytes.prefix(65536 - collected.count) }
                        }
                    }
                    return collected
                } onCancel: {
                    // The agent is shutting down: it does not wait out a slow `--version`.
                    _ = killpg(pid, SIGKILL)
                }
            }
            guard let output, output.terminationStatus.isSuccess else { return nil }
            return RuntimeVersion.parse(String(decoding: output.closureResult, as: UTF8.self))
        }
        // A child of the agent (a subreaper) that is not a guard: hold the orphan sweep off until it is reaped.
        if let sweeper { return await sweeper.spawning({ _ in await run() }, pid: { _ in nil }) }
        return await run()
    }
}
