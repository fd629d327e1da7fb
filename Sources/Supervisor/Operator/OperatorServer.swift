import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The operator endpoint: a small HTTP/1.1 server (Hummingbird 2) on `--listen`, serving
///
/// - `GET /healthz`: 200 `ok` while the agent runs, 503 once it is shutting down;
/// - `GET /readyz`: 200 when every entry that should run is Ready (`StatusVerdict`), else 503 with
///   the entries that are not;
/// - `GET /status`: the status document, the same JSON as the status file;
/// - `GET /metrics`: Prometheus text (`OperatorMetrics`).
///
/// It never holds up supervision: handlers only read `OperatorState` (a lock-protected copy), on
/// SwiftNIO's event loops. A slow or hostile client costs bounded memory: at most `maxConnections`
/// connections at once (more wait in the kernel's backlog), request heads of at most 16 KiB, a
/// connection idle (or a head unfinished) for `idleTimeout` is closed, and request bodies are never
/// collected (they are read and dropped). A port that cannot be bound is logged as an error, the
/// agent goes on supervising without the endpoint, and the endpoint is tried again
/// (`listenUntilShutdown`: after 1 s, doubling up to 30 s) until it listens.
public struct OperatorServer: Service {
    private let address: ListenAddress
    private let state: OperatorState
    private let logger: Logger
    private let onBound: @Sendable (String) async -> Void
    private let onFailure: @Sendable (String) async -> Void
    /// Connections served at once.
    public static let maxConnections = 64
    /// How long a connection may stay idle, or take to send a request head.
    public static let idleTimeout: Duration = .seconds(10)

    /// - Parameters:
    ///   - address: where to listen (`.none`: `run()` returns at once).
    ///   - onBound: called with `http://HOST:PORT` once the server listens (the port the kernel chose for port 0).
    ///   - onFailure: called with a one-line warning when it cannot listen (each new reason), for the status file.
    public init(
        address: ListenAddress, state: OperatorState, logger: Logger, onBound: @escaping @Sendable (String) async -> Void = { _ in },
        onFailure: @escaping @Sendable (String) async -> Void = { _ in }
    ) {
        self.address = address
        self.state = state
        self.logger = logger
        self.onBound = onBound
        self.onFailure = onFailure
    }

    /// Serves until graceful shutdown. Never throws: a failure to listen is logged and tried again.
    public func run() async {
        guard case .address(let host, let port) = address else { return }
        let state = self.state
        let router = Router()
        router.get("/healthz") { _, _ -> Response in
            state.isShuttingDown
                ? Self.text(.serviceUnavailable, "shutting down\n")
                : Self.text(.ok, "ok\n")
        }
        router.get("/readyz") { _, _ -> Response in
            guard let status = state.status else { return Self.text(.serviceUnavailable, "no status yet\n") }
            let verdict = StatusVerdict(status)
            if verdict.allReady { return Self.text(.ok, "ok: \(verdict.shouldRun) ready\n") }
            if !verdict.configApplied { return Self.text(.serviceUnavailable, "no config applied yet\n") }
            return Self.text(.serviceUnavailable, "not ready: \(verdict.notReady.joined(separator: ", "))\n")
        }
        router.get("/status") { _, _ -> Response in
            guard let json = state.statusJSON else { return Self.text(.serviceUnavailable, "no status yet\n") }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
        }
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: state.renderMetrics())))
        }
        let logger = self.logger
        let onBound = self.onBound
        let onFailure = self.onFailure
        let http = HTTP1Channel.Configuration(
            idleTimeout: .seconds(Self.idleTimeout.components.seconds),
            httpDecoderConfiguration: .init(maxHeaderFieldSize: 8 * 1024, maxHeaderListSize: 16 * 1024, maxHeaderFieldCount: 100))
        let app = Application(
            router: router,
            server: .http1(configuration: http),
            configuration: .init(
                address: .hostname(host, port: port), serverName: "metal-agent", backlog: 128, reuseAddress: true,
                availableConnectionsDelegate: MaximumAvailableConnections(Self.maxConnections)),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                let endpoint = host.contains(":") ? "http://[\(host)]:\(bound)" : "http://\(host):\(bound)"
                logger.info("operator endpoint listening", metadata: ["endpoint": "\(endpoint)"])
                await onBound(endpoint)
            },
            logger: Logger(label: "metal-agent.http", factory: { _ in SwiftLogNoOpLogHandler() }))
        await listenUntilShutdown(
            "operator endpoint not started; supervision goes on without it and it is tried again",
            metadata: ["listen": "\(address)"], warning: "the operator endpoint cannot listen on \(address)", logger: logger,
            failed: { warning in await onFailure(warning) },
            serve: { try await app.run() })
    }

    private static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
