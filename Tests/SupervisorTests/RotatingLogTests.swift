import Foundation
import Testing

@testable import Supervisor

@Suite struct RotatingLogTests {
    static func makeTemporaryFolder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ma-log-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func rotatesBySizeAndKeepsAtMostMaxFiles() throws {
        let dir = try Self.makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("chat.log").path
        var log = try RotatingLog(path: path, limits: LogLimits(maxBytes: 10_000, maxFiles: 3))
        let line = [UInt8](repeating: 0x61, count: 999) + [0x0A]
        for _ in 0..<45 { line.withUnsafeBytes { log.write($0) } }  // 45,000 bytes
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(files == ["chat.log", "chat.log.1", "chat.log.2"])
        for name in files {
            let size = try #require(try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(name).path)[.size] as? Int)
            #expect(size <= 10_000, "\(name) is \(size) bytes")
        }
        // The newest bytes are in chat.log: 45 lines of 1,000 bytes, 10 per file, so 5 in the current one.
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == 5_000)
    }

    @Test func oneFileMeansTruncateInPlace() throws {
        let dir = try Self.makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("x.log").path
        var log = try RotatingLog(path: path, limits: LogLimits(maxBytes: 100, maxFiles: 1))
        let chunk = [UInt8](repeating: 0x62, count: 59) + [0x0A]
        for _ in 0..<5 { chunk.withUnsafeBytes { log.write($0) } }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["x.log"])
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == 60)
    }

    @Test func oneLargeReadIsSplitAtLinesAndNoFilePassesTheLimit() throws {
        let dir = try Self.makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("big.log").path
        var log = try RotatingLog(path: path, limits: LogLimits(maxBytes: 1_000, maxFiles: 4))
        // One 2,500-byte read of 25 lines (what a pipe read of a chatty runtime looks like).
        let read = (0..<25).flatMap { i in Array(String(format: "line %03d ", i).utf8) + [UInt8](repeating: 0x7A, count: 90) + [0x0A] }
        read.withUnsafeBytes { log.write($0) }
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            let text = try String(contentsOfFile: dir.appendingPathComponent(name).path, encoding: .utf8)
            #expect(text.utf8.count <= 1_000, "\(name)")
            #expect(text.hasSuffix("\n") && text.hasPrefix("line "), "\(name) was cut inside a line")
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8).hasSuffix("line 024 " + String(repeating: "z", count: 90) + "\n"))
    }
}
