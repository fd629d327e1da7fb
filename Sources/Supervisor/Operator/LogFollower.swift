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

/// Follows an entry's current log as `tail -F` does (`metal-agent logs -f`): prints what is appended,
/// and when the file is rotated or replaced (a rotation by size, or a restart that keeps the old run
/// as `<name>.previous.log`) reads the rest of the old file, then every file written after it (the
/// rotated files newer than the old one, which several quick rotations leave between two checks), and
/// goes on with the new current file from its start. Output is lost only when rotation deletes a file
/// before it was read (`--log-max-files` files written between two checks).
///
/// Checks for new output every `interval` (a read of new bytes and a `stat(2)` of the path).
public struct LogFollower: Sendable {
    /// The file followed.
    public let path: String
    /// Time between two checks.
    public var interval: Duration = .milliseconds(100)

    /// - Parameter path: the entry's current log file.
    public init(path: String) {
        self.path = path
    }

    /// Follows from the current end of the file (or from the start of a file that appears later),
    /// handing every chunk read to `output`, until the task is cancelled.
    /// - Parameter fromStart: read the current file from its start instead of its end.
    public func follow(fromStart: Bool = false, _ output: (UnsafeRawBufferPointer) -> Void) async {
        var fd: Int32 = -1
        var inode: ino_t = 0
        var device: dev_t = 0
        func openCurrent(atEnd: Bool) {
            let opened = open(path, O_RDONLY | O_CLOEXEC)
            guard opened >= 0 else { return }
            var info = stat()
            fstat(opened, &info)
            fd = opened
            inode = info.st_ino
            device = info.st_dev
            if atEnd { lseek(fd, 0, SEEK_END) }
        }
        func drain() {
            guard fd >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                guard count > 0 else { return }
                buffer.withUnsafeBytes { output(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            }
        }
        /// Hands a whole rotated file to `output`.
        func emitFile(_ file: String) {
            guard let data = FileManager.default.contents(atPath: file), !data.isEmpty else { return }
            data.withUnsafeBytes { output($0) }
        }
        openCurrent(atEnd: !fromStart)
        defer { if fd >= 0 { close(fd) } }
        while !Task.isCancelled {
            drain()
            var info = stat()
            if stat(path, &info) == 0, fd < 0 || info.st_ino != inode || info.st_dev != device {
                // Rotated or replaced: the rest of the old file, the rotated files newer than it, then the
                // new current file from its start.
                drain()
                let hadFile = fd >= 0
                if fd >= 0 { close(fd) }
                fd = -1
                if hadFile {
                    for file in newerRotatedFiles(than: (inode, device)) { emitFile(file) }
                }
                openCurrent(atEnd: false)
                continue
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// The files written after the file `old` (device and inode), oldest first, the current file left
    /// out: the chain is the previous run's (`<name>.previous.log.k` ... `.previous.log`, see `LogFiles`)
    /// then the current run's rotated files (`path.k` ... `path.1`). When `old` is not in the chain
    /// (deleted by rotation), every current rotated file.
    func newerRotatedFiles(than old: (ino_t, dev_t)) -> [String] {
        let files = LogFiles(path: path)
        let current = files.files().filter { $0 != path }
        let chain = files.files(previous: true) + current
        var info = stat()
        for (index, file) in chain.enumerated() where stat(file, &info) == 0 && info.st_ino == old.0 && info.st_dev == old.1 {
            return Array(chain[(index + 1)...])
        }
        return current
    }
}
