import Executors
import Synchronization

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

/// Runs `HTTPProbe`s against runtimes: one plain HTTP/1.1 request per probe on a non-blocking socket,
/// every probe of every entry on one shared `poll(2)` loop (`ProbeLoop`).
///
/// Why not an HTTP client library: a probe goes to a runtime on this machine's own address, so it must
/// never go through a proxy, whatever `http_proxy`/`ALL_PROXY` the agent inherited (a client library
/// honours them), and it runs every few seconds for every entry, so it must cost next to nothing
/// (URLSession cost about 4 ms of CPU per probe; this costs tens of microseconds). The request is
/// `Connection: close`; the response's status line decides, and up to 4 KiB of its body for probes
/// that look into it.
struct HTTPProber: Sendable {
    /// Outcome of one probe.
    enum Outcome: Sendable, Hashable, CustomStringConvertible {
        case success
        /// The server answered, but not as the probe wants (status, and the start of the body).
        case failure(status: Int, body: String)
        /// No answer: connection refused, timeout, reset.
        case unreachable(String)

        var passed: Bool { self == .success }

        var description: String {
            switch self {
            case .success: "success"
            case .failure(let status, let body): "HTTP \(status) \(body)"
            case .unreachable(let why): why
            }
        }
    }

    /// Most body bytes read from one answer (enough for any probe's `bodyContains`).
    static let maxBody = 4096

    private let loop: ProbeLoop

    init(loop: ProbeLoop = .shared) {
        self.loop = loop
    }

    /// One request to `endpoint + probe.path` (`endpoint` is `http://HOST:PORT` with an IP address),
    /// bounded by `probe.timeout` (connect, send and receive together). Cancelling the caller
    /// ends the wait at once with `.unreachable("cancelled")` and closes the connection.
    func check(_ probe: HTTPProbe, endpoint: String) async -> Outcome {
        guard let address = SocketAddress(endpoint: endpoint) else { return .unreachable("bad endpoint \(endpoint)") }
        return Self.outcome(of: await loop.exchange(Self.request(probe, address), with: address, timeout: probe.timeout), probe)
    }

    /// Probes `endpoint + probe.path` every `probe.period` (the first one a period from now) until it
    /// fails `probe.failureThreshold` times in a row, and returns the last failure; nil when the caller is
    /// cancelled first. The schedule is kept by the probe loop: a watch that passes wakes no task.
    /// `observe` gets each probe's duration, on the probe loop's thread.
    func watch(_ probe: HTTPProbe, endpoint: String, observe: @escaping @Sendable (Duration) -> Void = { _ in }) async -> Outcome? {
        guard let address = SocketAddress(endpoint: endpoint) else { return .unreachable("bad endpoint \(endpoint)") }
        let failure = await loop.watch(
            Self.request(probe, address), with: address, period: probe.period, timeout: probe.timeout,
            failureThreshold: probe.failureThreshold,
            judge: { response in
                let outcome = Self.outcome(of: response, probe)
                return outcome.passed ? nil : outcome.description
            }, observe: observe)
        return failure.map { .unreachable($0) }
    }

    /// The bytes of one probe request.
    private static func request(_ probe: HTTPProbe, _ address: SocketAddress) -> [UInt8] {
        var head =
            "\(probe.method) \(probe.path) HTTP/1.1\r\nHost: \(address.hostHeader)\r\nUser-Agent: metal-agent-probe\r\nAccept: */*\r\nConnection: close\r\n"
        let body = probe.body.map { Array($0.utf8) } ?? []
        if probe.body != nil {
            head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        }
        return Array((head + "\r\n").utf8) + body
    }

    private static func outcome(of response: ProbeLoop.Response, _ probe: HTTPProbe) -> Outcome {
        switch response {
        case .failure(let why):
            return .unreachable(why.message)
        case .success(let (status, bodyText)):
            return probe.accepts(status: status, body: bodyText) ? .success : .failure(status: status, body: String(bodyText.prefix(200)))
        }
    }
}
