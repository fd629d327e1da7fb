import Executors
import Foundation
import TestSupport
import Testing

@testable import Supervisor

/// The probes' own HTTP/1.1 client: framing of answers, endpoints, and the telling line of output.
@Suite struct ProbeClientTests {
    func read(_ chunks: [String]) -> ResponseReader {
        var reader = ResponseReader()
        for chunk in chunks where !reader.isComplete { reader.add(ArraySlice(Array(chunk.utf8))) }
        return reader
    }

    @Test func contentLengthBodyArrivingInPieces() {
        let r = read(["HTTP/1.1 200 OK\r\nContent-Le", "ngth: 15\r\n\r\n{\"status\":", "\"ok\"}"])
        #expect(r.isComplete)
        #expect(r.status == 200)
        #expect(String(decoding: r.body, as: UTF8.self) == #"{"status":"ok"}"#)
    }

    @Test func chunkedBody() {
        let r = read(["HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n{\"error", "\r\n9\r\n\":\"load\"}\r\n0\r\n\r\n"])
        #expect(r.isComplete)
        #expect(r.status == 503)
        #expect(String(decoding: r.body, as: UTF8.self) == #"{"error":"load"}"#)
    }

    @Test func bodyUntilTheConnectionCloses() {
        var r = read(["HTTP/1.0 200 OK\r\n\r\nhello"])
        #expect(!r.isComplete)
        r.endOfStream()
        #expect(r.isComplete && String(decoding: r.body, as: UTF8.self) == "hello")
    }

    @Test func notHTTP() {
        let r = read(["SSH-2.0-OpenSSH_9.2\r\n\r\n"])
        #expect(r.isComplete && r.status == nil)
    }

    /// A connection that is accepted but never answered times out within the probe's timeout.
    @Test func aSilentServerTimesOut() async throws {
        let listener = try LoopbackListener(backlog: 4)
        defer { listener.close() }
        let port = listener.port
        let outcome = await HTTPProber().check(HTTPProbe(path: "/health", timeout: .seconds(0.3)), endpoint: "http://127.0.0.1:\(port)")
        guard case .unreachable(let why) = outcome else {
            Issue.record("expected unreachable, got \(outcome)")
            return
        }
        #expect(why.contains("timed out"))
    }

    @Test func tellingLineIsTheLastErrorElseTheLastLineAndIsCapped() {
        func tail(_ text: String) -> OutputTail {
            let t = OutputTail()
            Array(text.utf8).withUnsafeBytes { t.append($0) }
            return t
        }
        #expect(tail("loading\nerror: invalid argument: --x\n\nusage: llama-server\n").tellingLine == "error: invalid argument: --x")
        #expect(tail("Traceback (most recent call last):\n  File x\nValueError: bad model\n").tellingLine == "ValueError: bad model")
        #expect(tail("one\r\ntwo without a line break").tellingLine == "two without a line break")
        #expect(tail("").tellingLine == nil)
        let long = tail("error: " + String(repeating: "y", count: 10_000)).tellingLine ?? ""
        #expect(long.count == OutputTail.maxMessageCharacters && long.hasSuffix("…"))
    }
}
