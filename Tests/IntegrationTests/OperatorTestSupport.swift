import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A `metal-agent` command running in the background (`status --watch`, `logs -f`, `wait`), its stdout
/// and stderr going to files the test reads while it runs.
final class BackgroundCommand {
    let process = Process()
    let outPath: String
    let errPath: String

    init(_ arguments: [String], in dir: URL) throws {
        let id = UUID().uuidString.prefix(8)
        outPath = dir.appendingPathComponent("cmd-\(id).out").path
        errPath = dir.appendingPathComponent("cmd-\(id).err").path
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: AgentHarness.agentBinary)
        process.arguments = arguments
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    var out: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var err: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// Waits until stdout satisfies `condition`; records an issue with the output otherwise.
    func waitForOutput(_ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ condition: (String) -> Bool) async throws {
        let clock = ContinuousClock()
        let end = clock.now + AgentHarness.deadline
        while clock.now < end {
            if condition(out) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting for: \(what)\nstdout:\n\(out.suffix(4000))\nstderr:\n\(err.suffix(2000))", sourceLocation: sourceLocation)
        throw HarnessError.timedOut(what)
    }

    /// Waits for the command to exit (generous deadline); returns its exit status.
    func exitStatus() async throws -> Int32 {
        let clock = ContinuousClock()
        let end = clock.now + AgentHarness.deadline
        while process.isRunning && clock.now < end { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!process.isRunning, "command did not exit: \(process.arguments ?? [])")
        return process.isRunning ? -1 : process.terminationStatus
    }

    func interrupt() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
    }
}

/// Runs a `metal-agent` command to its end without blocking a thread; returns exit status, stdout, stderr.
func runAgentCommandAsync(_ arguments: [String], in dir: URL) async throws -> (status: Int32, out: String, err: String) {
    let command = try BackgroundCommand(arguments, in: dir)
    let status = try await command.exitStatus()
    return (status, command.out, command.err)
}

/// One HTTP/1.1 exchange over a plain TCP socket (no HTTP library in between): `GET path` (or `request`
/// bytes as they are) to 127.0.0.1:`port`, `Connection: close`; returns the status code and body.
func httpGet(port: Int, _ path: String) throws -> (status: Int, body: String) {
    let fd = try connectLoopback(port: port, blocking: true)
    defer { close(fd) }
    var timeout = timeval(tv_sec: 30, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        response += buffer[..<n]
    }
    let text = String(decoding: response, as: UTF8.self)
    guard let headEnd = text.range(of: "\r\n\r\n") else { throw POSIXError(.EPROTO) }
    let statusLine = text[..<headEnd.lowerBound].split(separator: "\r\n").first ?? ""
    let code = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
    return (code, String(text[headEnd.upperBound...]))
}

/// A TCP connection to 127.0.0.1:`port` (close-on-exec).
func connectLoopback(port: Int, blocking: Bool) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | (blocking ? 0 : Int32(SOCK_NONBLOCK.rawValue)), 0)
    guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    if result != 0 && !(errno == EINPROGRESS && !blocking) {
        let code = errno
        close(fd)
        throw POSIXError(POSIXErrorCode(rawValue: code) ?? .ECONNREFUSED)
    }
    return fd
}

/// Prometheus text parsed into `name{label="v",...}` (labels sorted by name) -> value.
func parseMetrics(_ text: String) -> [String: Double] {
    var result: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
        let series = line[..<space]
        guard let open = series.firstIndex(of: "{") else {
            result[String(series)] = value
            continue
        }
        let name = series[..<open]
        let labels = series[series.index(after: open)..<(series.lastIndex(of: "}") ?? series.endIndex)]
            .split(separator: ",").map(String.init).sorted()
        result["\(name){\(labels.joined(separator: ","))}"] = value
    }
    return result
}

/// The port of an `http://host:port` endpoint.
func port(of endpoint: String) -> Int? {
    endpoint.split(separator: ":").last.flatMap { Int($0) }
}

/// Resident memory of `pid` in bytes (`VmRSS` of /proc/<pid>/status).
func residentBytes(_ pid: Int32) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return nil }
    return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
}

/// Open file descriptors of `pid`.
func openDescriptors(_ pid: Int32) -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
}
