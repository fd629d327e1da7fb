import Executors
import Foundation
import Testing

@testable import Supervisor

/// How the agent reads a runtime binary's version, and that it reads it once per binary.
@Suite struct RuntimeVersionReaderTests {
    func folder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ma-version-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// mlx_lm.server is a console script: its version is the `mlx_lm` package's, found from its `#!`
    /// interpreter, without starting Python.
    @Test func mlxLMVersionComesFromItsPythonEnvironment() async throws {
        let venv = try folder()
        defer { try? FileManager.default.removeItem(at: venv) }
        let bin = venv.appendingPathComponent("bin")
        let info = venv.appendingPathComponent("lib/python3.12/site-packages/mlx_lm-0.31.3.dist-info")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: info, withIntermediateDirectories: true)
        try "Metadata-Version: 2.1\nName: mlx-lm\nVersion: 0.31.3\n".write(to: info.appendingPathComponent("METADATA"), atomically: true, encoding: .utf8)
        let script = bin.appendingPathComponent("mlx_lm.server").path
        try "#!\(bin.path)/python3\nimport sys\n".write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let reader = RuntimeVersionReader(sweeper: nil, timeout: .seconds(60))  // a loaded CI machine can be slow to start a process
        let version = try #require(await reader.version(of: script))
        #expect(version.dotted == [0, 31, 3])
        #expect(reader.spawnCount == 0, "no process was started")
    }

    /// Anything else answers `--version`, once per binary until its size or mtime changes.
    @Test func versionFlagIsRunOncePerBinaryAndAgainAfterAChange() async throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let binary = dir.appendingPathComponent("llama-server").path
        try "#!/bin/sh\necho 'version: 6324 (0123abcd)' >&2\n".write(toFile: binary, atomically: true, encoding: .utf8)
        chmod(binary, 0o755)
        let reader = RuntimeVersionReader(sweeper: nil, timeout: .seconds(60))  // a loaded CI machine can be slow to start a process
        #expect(await reader.version(of: binary)?.build == 6324)
        #expect(await reader.version(of: binary)?.build == 6324)
        #expect(reader.spawnCount == 1)
        try "#!/bin/sh\necho 'version: 11434 (deadbeef)' >&2\n".write(toFile: binary, atomically: false, encoding: .utf8)
        #expect(await reader.version(of: binary)?.build == 11434)
        #expect(reader.spawnCount == 2)
    }

    /// A binary that hangs on `--version` is killed after the timeout; its version is unknown.
    @Test func aHangingVersionFlagTimesOut() async throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let binary = dir.appendingPathComponent("stuck").path
        try "#!/bin/sh\nexec sleep 600\n".write(toFile: binary, atomically: true, encoding: .utf8)
        chmod(binary, 0o755)
        let reader = RuntimeVersionReader(sweeper: nil, timeout: .milliseconds(300))
        #expect(await reader.version(of: binary) == nil)
    }
}
