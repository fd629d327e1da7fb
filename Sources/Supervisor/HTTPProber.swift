import Executors
import Foundation
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Runs `HTTPProbe`s against a runtime over real HTTP (Foundation `URLSession`).
struct HTTPProber: Sendable {
    /// Outcome of one probe.
    enum Outcome: Sendable, Hashable {
        case success
        /// The server answered, but not as the probe wants (status, and the start of the body).
        case failure(status: Int, body: String)
        /// No answer: connection refused, timeout, reset.
        case unreachable(String)

        var passed: Bool { self == .success }
    }

    private let session: URLSession

    init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpMaximumConnectionsPerHost = 2
        session = URLSession(configuration: configuration)
    }

    /// One request to `endpoint + probe.path`, bounded by `probe.timeoutSeconds`.
    ///
    /// The request runs in its own unstructured task and is never cancelled: cancelling a
    /// `URLSession` task while its response is being handled can deadlock on Linux
    /// (swift-corelibs-foundation issue 5412), and a stop that arrived mid-probe froze the agent.
    /// A cancelled caller stops waiting at once (`.unreachable("cancelled")`); the request itself
    /// ends by its timeout or with the process it probes.
    func check(_ probe: HTTPProbe, endpoint: String) async -> Outcome {
        guard let url = URL(string: endpoint + probe.path) else { return .unreachable("bad URL \(endpoint + probe.path)") }
        let session = self.session
        let box = OutcomeBox()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
                guard box.install(continuation) else { return }
                Task.detached {
                    var request = URLRequest(url: url)
                    request.timeoutInterval = probe.timeoutSeconds
                    request.httpMethod = probe.method
                    if let body = probe.body {
                        request.httpBody = Data(body.utf8)
                        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                    }
                    let outcome: Outcome
                    do {
                        let (data, response) = try await session.data(for: request)
                        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                        let body = String(decoding: data.prefix(4096), as: UTF8.self)
                        outcome = probe.accepts(status: status, body: body) ? .success : .failure(status: status, body: String(body.prefix(200)))
                    } catch {
                        outcome = .unreachable(error.localizedDescription)
                    }
                    box.finish(outcome)
                }
            }
        } onCancel: {
            box.finish(.unreachable("cancelled"))
        }
    }
}

/// Hands one probe outcome to its waiter exactly once: from the request, or from cancellation.
private final class OutcomeBox: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<HTTPProber.Outcome, Never>)
        case done
    }

    private let state = Mutex(State.empty)

    /// Registers the waiter; false (and resumed with "cancelled") if cancellation came first.
    func install(_ continuation: CheckedContinuation<HTTPProber.Outcome, Never>) -> Bool {
        let alreadyDone = state.withLock { s -> Bool in
            if case .done = s { return true }
            s = .waiting(continuation)
            return false
        }
        if alreadyDone { continuation.resume(returning: .unreachable("cancelled")) }
        return !alreadyDone
    }

    func finish(_ outcome: HTTPProber.Outcome) {
        let waiter = state.withLock { s -> CheckedContinuation<HTTPProber.Outcome, Never>? in
            defer { s = .done }
            if case .waiting(let c) = s { return c }
            return nil
        }
        waiter?.resume(returning: outcome)
    }
}
