import Foundation
import Testing

@testable import Supervisor

/// A reload that finds its inputs unchanged skips the rebuild, so every change a rebuild would see must
/// change the recorded stamps: a model file that appears, is replaced, grows or goes.
@Suite struct ReloadInputsTests {
    @Test func everyChangeToACheckedPathIsSeen() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ma-inputs-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("m.gguf").path

        func record() -> ReloadInputs {
            let recorder = PathRecorder()
            _ = recorder.check(model)
            return ReloadInputs(contentKey: [], errors: [], versions: [:], stamps: recorder.stamps)
        }

        let missing = record()
        #expect(missing.pathsUnchanged, "nothing changed yet")
        #expect(missing.stamps[model]?.exists == false)

        try Data("GGUF".utf8).write(to: URL(fileURLWithPath: model))
        #expect(!missing.pathsUnchanged, "the file appeared")

        let present = record()
        #expect(present.pathsUnchanged)
        let handle = try #require(FileHandle(forWritingAtPath: model))
        handle.seekToEndOfFile()
        handle.write(Data("more".utf8))
        try handle.close()
        #expect(!present.pathsUnchanged, "the file grew")

        let grown = record()
        // Replaced by a rename (a new inode), same size.
        let other = dir.appendingPathComponent("other").path
        try Data("GGUFmore".utf8).write(to: URL(fileURLWithPath: other))
        #expect(rename(other, model) == 0)
        #expect(!grown.pathsUnchanged, "the file was replaced")

        let replaced = record()
        try FileManager.default.removeItem(atPath: model)
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: false)
        #expect(!replaced.pathsUnchanged, "a folder took the file's place")

        let folder = record()
        try FileManager.default.removeItem(atPath: model)
        #expect(!folder.pathsUnchanged, "the path is gone")
    }
}
