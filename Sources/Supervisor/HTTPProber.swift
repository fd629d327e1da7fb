import Executors
import Foundation
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
    func check(_ probe: HTTPProbe, endpoint: String) async -> Outcome {
        guard let url = URL(string: endpoint + probe.path) else { return .unreachable("bad URL \(endpoint + probe.path)") }
        var request = URLRequest(url: url)
        request.timeoutInterval = probe.timeoutSeconds
        request.httpMethod = probe.method
        if let body = probe.body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        do {
            let (data, response) = try await session.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            let body = String(decoding: data.prefix(4096), as: UTF8.self)
            return probe.accepts(status: status, body: body) ? .success : .failure(status: status, body: String(body.prefix(200)))
        } catch {
            return .unreachable(error.localizedDescription)
        }
    }
}
