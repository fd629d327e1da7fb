import ConfigModel

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

/// Writes every small file the agent keeps (the status file, the child ledger, the checksum cache) so
/// that readers see the old content or the new, never a mix, and so that a vanished folder or a full
/// disk leaves nothing behind.
///
/// The bytes go to `<path>.tmp-<pid>` in the same folder, then `rename(2)` replaces `path`. A folder
/// that was deleted while the agent runs is created again (with its parents). On any failure (disk
/// full, file-size limit, no permission) the temporary file is removed and the old file is left as
/// it was; the caller writes again later.
enum AtomicFile {
    /// Why a write failed: the step, the path and the system's reason.
    struct WriteError: Error, CustomStringConvertible {
        var description: String
    }

    /// Writes `data` to `path` atomically.
    /// - Throws: `WriteError` naming the step that failed; no temporary file is left behind.
    static func write(_ data: Data, to path: String) throws(WriteError) {
        let tmp = path + ".tmp-\(getpid())"
        do {
            try attempt(data, path: path, tmp: tmp)
        } catch let error where error.code == ENOENT {
            // The folder is gone: create it again, once, and retry.
            let folder = PathText.parent(of: path)
            do {
                try FileManager.default.createDirectory(atPath: folder.isEmpty ? "." : folder, withIntermediateDirectories: true)
                try attempt(data, path: path, tmp: tmp)
            } catch let again as Failure {
                unlink(tmp)
                throw WriteError(description: again.description)
            } catch {
                throw WriteError(description: "cannot create folder \(folder): \(error)")
            }
        } catch {
            unlink(tmp)
            throw WriteError(description: "\(error)")
        }
    }

    private struct Failure: Error, CustomStringConvertible {
        var step: String
        var path: String
        var code: Int32
        var description: String { "\(step) \(path): \(String(cString: strerror(code)))" }
    }

    private static func attempt(_ data: Data, path: String, tmp: String) throws(Failure) {
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(step: "create", path: tmp, code: errno) }
        var failure: Failure?
        let code = data.withUnsafeBytes { writeAll(fd, $0) }
        if code != 0 { failure = Failure(step: "write", path: tmp, code: code) }
        if close(fd) != 0, failure == nil, errno != EINTR { failure = Failure(step: "close", path: tmp, code: errno) }
        if let failure {
            unlink(tmp)
            throw failure
        }
        guard rename(tmp, path) == 0 else {
            let code = errno
            unlink(tmp)
            throw Failure(step: "rename to", path: path, code: code)
        }
    }
}
