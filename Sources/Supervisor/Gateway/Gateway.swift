import AsyncHTTPClient
import ConfigModel
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One OpenAI-compatible endpoint for every entry on the node (`--gateway-listen`, issue 14).
///
/// Routes `POST /v1/chat/completions`, `/v1/completions`, `/v1/embeddings`, `/v1/rerank` (and
/// llama-server's `/completion`, `/infill`, `/tokenize` for llama-server entries) by the JSON body's
/// `model` (see `GatewayDirectory` for the names it takes) to that entry's endpoint, and lists the entries
/// on `GET /v1/models`. Responses stream through chunk by chunk (server-sent events included); a client
/// that disconnects cancels the upstream request. An entry that is not Ready is waited for up to
/// `GatewayOptions.readyWait`, then the answer is 503 with `Retry-After`; an entry in CrashLoopBackOff
/// whose next restart comes after that wait is answered at once, with `Retry-After` at its restart (a
/// client held for the whole wait would learn nothing more). On-demand entries are started
/// by their first request and stopped when idle; exclusive groups take turns (`ExclusiveGroups`).
///
/// Listener: Hummingbird 2; upstream: AsyncHTTPClient. The gateway shares nothing mutable with
/// supervision: it reads the status (`StatusStore`) and starts or stops on-demand entries through
/// `OnDemandControl`. A listener that cannot bind is logged and tried again; the agent goes on supervising.
public final class Gateway: Service, Sendable {
    /// OpenAI paths every runtime serves.
    static let openAIPaths = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/rerank"]
    /// llama-server's own paths, routed only to llama-server entries.
    static let llamaServerPaths = ["/completion", "/infill", "/tokenize"]

    let options: GatewayOptions
    let directory: GatewayDirectory
    let store: StatusStore
    let control: any OnDemandControl
    let logger: Logger
    let traffic: GatewayTraffic
    /// Rung by the traffic bookkeeping and the directory on every change: the idle watch sleeps on it
    /// while no entry has an idle timeout to count down.
    private let changes: AsyncStream<Void>
    let groups: ExclusiveGroups
    let client: HTTPClient
    private let boundPort = Mutex<Int?>(nil)

    /// Creates the gateway; nothing listens until `run()`.
    public init(options: GatewayOptions, directory: GatewayDirectory, store: StatusStore, control: any OnDemandControl, logger: Logger) {
        self.options = options
        self.directory = directory
        self.store = store
        self.control = control
        let (changes, bell) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.changes = changes
        traffic = GatewayTraffic { bell.yield() }
        directory.onChange { bell.yield() }
        var logger = logger
        logger[metadataKey: "component"] = "gateway"
        self.logger = logger
        var configuration = HTTPClient.Configuration()
        configuration.decompression = .disabled
        configuration.redirectConfiguration = .disallow
        configuration.timeout.connect = .seconds(10)
        configuration.httpVersion = .http1Only
        configuration.connectionPool = .init(idleTimeout: .seconds(60))
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.groups = ExclusiveGroups { previous, next in
            await control.stopOnDemand(
                previous, reason: .ExclusiveGroup,
                message: "stopped so that \(next) (same exclusive group) can run; starts again on the next request for it")
        }
    }

    /// The port the listener is bound to, once it is (the chosen one when `options.port` is 0).
    public var port: Int? { boundPort.withLock { $0 } }

    /// Listens until graceful shutdown. A listener that cannot start (the port is taken) logs an error
    /// and is tried again (`listenUntilShutdown`: after 1 s, doubling up to 30 s); supervision goes on.
    public func run() async throws {
        let idle = Task { await self.watchIdle() }
        defer { idle.cancel() }
        let router = Router()
        router.get("/v1/models") { _, _ in await self.models() }
        for path in Self.openAIPaths + Self.llamaServerPaths {
            router.post(RouterPath(path)) { request, _ in await self.forward(request, path: path) }
        }
        // Hummingbird's own lines (one per request at debug) are noise in the agent's log.
        var appLogger = logger
        appLogger.logLevel = max(logger.logLevel, .notice)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "metal-agent"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? self.options.port
                self.boundPort.withLock { $0 = port }
                self.logger.info("gateway listening", metadata: ["address": "\(ListenAddress.address(host: self.options.host, port: port))"])
                let host = self.options.host
                let endpoint = host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
                Task { await self.store.gatewayListening(endpoint) }
            },
            logger: appLogger)
        let address = ListenAddress.address(host: options.host, port: options.port)
        await listenUntilShutdown(
            "gateway cannot listen; the agent goes on without it and tries again",
            metadata: ["address": "\(address)"], warning: "the gateway cannot listen on \(address)", logger: logger,
            failed: { warning in await self.store.listenerFailed(StatusStore.gatewayListener, warning) },
            serve: { try await app.run() })
        try? await client.shutdown()
    }

    // MARK: Requests

    /// `GET /v1/models`.
    func models() async -> Response {
        var items: [GatewayReply.ModelList.Item] = []
        for route in directory.routes where route.serves {
            let status = await store.service(route.name)
            items.append(.init(id: route.name, runtime: route.runtime, phase: status?.phase.rawValue, aliases: route.aliases, onDemand: route.onDemand))
        }
        return GatewayReply.json(.ok, GatewayReply.ModelList(data: items))
    }

    /// Routes one request by its body's `model`, waits for the entry to be Ready (starting it when it is
    /// on demand), and streams the upstream response back.
    func forward(_ incoming: Request, path: String) async -> Response {
        var request = incoming
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: options.maxBodyBytes)
        } catch {
            return GatewayReply.error(
                .contentTooLarge, type: "invalid_request_error", code: "request_too_large",
                "the request body is larger than \(options.maxBodyBytes) bytes")
        }
        guard let model = Self.model(in: body) else {
            return GatewayReply.error(
                .badRequest, type: "invalid_request_error", code: "model_missing",
                "the request body is not a JSON object with a \"model\" string; models: \(names().joined(separator: ", "))",
                models: names())
        }
        let route: GatewayRoute
        switch directory.resolve(model) {
        case .found(let found):
            route = found
        case .unknown(let names):
            return GatewayReply.error(
                .notFound, type: "invalid_request_error", code: "model_not_found",
                "no model \"\(model)\" on this node; models: \(names.joined(separator: ", "))", models: names)
        case .ambiguous(let candidates):
            return GatewayReply.error(
                .notFound, type: "invalid_request_error", code: "model_ambiguous",
                "several entries answer to \"\(model)\"; name one as namespace/name: \(candidates.joined(separator: ", "))",
                models: candidates)
        }
        if Self.llamaServerPaths.contains(path), route.runtime != RuntimeName.llamaServer {
            return GatewayReply.error(
                .notFound, type: "invalid_request_error", code: "path_not_served",
                "\(path) is llama-server's; \(route.name) runs \(route.runtime ?? "another runtime")")
        }

        let ticket = RequestTicket(route: route, traffic: traffic, groups: groups)
        if let stop = ticket.pendingStop { await stop.value }
        let deadline = ContinuousClock.now + options.readyWait
        if let group = route.exclusiveGroup {
            guard await groups.acquire(group, member: route.name, wait: options.readyWait) else {
                return unavailable(route, "another entry of exclusive group \(group) is busy", phase: nil, reason: .ExclusiveGroupBusy)
            }
            ticket.holdsGroup(group)
        }
        let endpoint: String
        var upstreamBody = body
        switch await awaitReady(route, deadline: deadline) {
        case .ready(let url, let status):
            endpoint = url
            // mlx_lm.server loads the model the body names (a Hugging Face repository or a path): it must
            // name the folder the entry serves, not the entry.
            if route.runtime == RuntimeName.mlxServer, let path = status.modelPath {
                // Sent on unchanged, such a body would make mlx_lm.server load a model named like the entry.
                guard let rewritten = Self.replacingModel(in: body, with: path) else {
                    return GatewayReply.error(
                        .badRequest, type: "invalid_request_error", code: "invalid_json",
                        "the request body is not a JSON object (RFC 8259, UTF-8) whose \"model\" the gateway can rewrite for \(route.name)")
                }
                upstreamBody = rewritten
            }
        case .unavailable(let message, let phase, let reason, let retryAfter):
            return unavailable(route, message, phase: phase, reason: reason, retryAfter: retryAfter)
        }
        return await proxy(request, body: upstreamBody, path: path, endpoint: endpoint, ticket: ticket)
    }

    private enum Readiness {
        case ready(String, ServiceStatus)
        /// Not Ready: the message, the phase and reason, and seconds for `Retry-After` when known.
        case unavailable(String, ServicePhase?, Reason?, retryAfter: Int? = nil)
    }

    /// Polls the status until the entry is Ready; starts an on-demand entry, and frees memory for it by
    /// stopping idle on-demand entries when it waits for memory.
    private func awaitReady(_ route: GatewayRoute, deadline: ContinuousClock.Instant) async -> Readiness {
        var asked = false
        var last: ServiceStatus?
        while true {
            guard let status = await store.service(route.name) else {
                return .unavailable("\(route.name) is no longer in the config", nil, nil)
            }
            last = status
            if status.phase == .Ready, let endpoint = status.endpoint { return .ready(endpoint, status) }
            if route.onDemand && !asked {
                asked = true
                await control.startOnDemand(route.name, cause: "request for \(route.name)")
            }
            if status.phase == .CrashLoopBackOff, let restart = status.nextRestartAt.flatMap(Timestamp.date) {
                let wait = restart.timeIntervalSinceNow
                let left = ContinuousClock.now.duration(to: deadline)
                if wait > Double(left.components.seconds) + 1 {
                    return .unavailable(
                        "\(route.name) is in CrashLoopBackOff until \(status.nextRestartAt ?? "")\(status.message.map { ": \($0)" } ?? "")",
                        status.phase, status.reason, retryAfter: Int(wait.rounded(.up)))
                }
            }
            if status.phase == .Failed {
                return .unavailable("\(route.name) failed: \(status.message ?? status.reason?.rawValue ?? "")", status.phase, status.reason)
            }
            if status.phase == .Pending, status.reason == .InsufficientMemory, !reclaimMemory(for: route) {
                return .unavailable(
                    "\(route.name) does not fit in memory and no idle on-demand entry can be stopped: \(status.message ?? "")",
                    status.phase, status.reason)
            }
            if ContinuousClock.now >= deadline { break }
            try? await Task.sleep(for: .milliseconds(20))
            if Task.isCancelled { break }
        }
        let phase = last?.phase
        return .unavailable(
            "\(route.name) is not Ready after \(options.readyWait) (phase \(phase?.rawValue ?? "unknown")\(last?.reason.map { ", reason \($0)" } ?? ""))",
            phase, last?.reason)
    }

    /// Stops the on-demand entry idle longest (no request in flight) to make room for `route`. Returns
    /// false when none can be stopped and none is being stopped.
    private func reclaimMemory(for route: GatewayRoute) -> Bool {
        let candidates = directory.routes.filter { $0.onDemand && $0.serves && $0.name != route.name }
        if candidates.contains(where: { traffic.stopping($0.name) != nil }) { return true }
        let idle = candidates.filter { traffic.inFlight($0.name) == 0 }
            .sorted { (traffic.lastActivity($0.name) ?? .now) < (traffic.lastActivity($1.name) ?? .now) }
        for candidate in idle where traffic.lastActivity(candidate.name) != nil {
            let control = self.control
            let claimed = traffic.claimStop(candidate.name, idleFor: nil) {
                await control.stopOnDemand(
                    candidate.name, reason: .MemoryReclaimed,
                    message: "stopped to free memory for \(route.name); starts again on the next request for it")
            }
            if claimed { return true }
        }
        return false
    }

    private func unavailable(_ route: GatewayRoute, _ message: String, phase: ServicePhase?, reason: Reason?, retryAfter: Int? = nil) -> Response {
        GatewayReply.error(
            .serviceUnavailable, type: "service_unavailable", code: "model_not_ready", message,
            phase: phase?.rawValue, reason: reason?.rawValue, retryAfter: retryAfter ?? options.retryAfterSeconds)
    }

    /// Sends the request to the entry and streams its answer back; the ticket ends with the body.
    private func proxy(_ request: Request, body: ByteBuffer, path: String, endpoint: String, ticket: RequestTicket) async -> Response {
        var upstream = HTTPClientRequest(url: endpoint + path + (request.uri.query.map { "?\($0)" } ?? ""))
        upstream.method = .POST
        for field in request.headers where !Self.hopByHop.contains(field.name.canonicalName) {
            upstream.headers.add(name: field.name.rawName, value: field.value)
        }
        upstream.body = .bytes(body)
        let response: HTTPClientResponse
        do {
            response = try await client.execute(upstream, deadline: .distantFuture)
        } catch {
            ticket.finish()
            return GatewayReply.error(
                .badGateway, type: "upstream_error", code: "upstream_unreachable",
                "\(ticket.route.name) at \(endpoint) did not answer: \(error)")
        }
        var headers = HTTPFields()
        var length: Int?
        for (name, value) in response.headers {
            let lower = name.lowercased()
            if lower == "content-length" {
                length = Int(value)
                continue
            }
            if Self.hopByHop.contains(lower) { continue }
            if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
        }
        let stream = response.body
        return Response(
            status: HTTPResponse.Status(code: Int(response.status.code)), headers: headers,
            body: ResponseBody(contentLength: length) { writer in
                // Ends the request's count however the body ends: done, upstream error, client gone. Leaving
                // the loop early drops the upstream body, which cancels the upstream request.
                defer { ticket.finish() }
                for try await chunk in stream {
                    try await writer.write(chunk)
                }
                try await writer.finish(nil)
            })
    }

    /// Headers that belong to one connection, not to the request (RFC 9110 section 7.6.1), plus the ones
    /// the client library sets itself.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length",
    ]

    private func names() -> [String] {
        Set(directory.routes.filter(\.serves).flatMap { [$0.name] + $0.aliases }).sorted()
    }

    private struct ModelField: Decodable { var model: String }
    private static let decoder = JSONDecoder()

    /// The body's `model` string, if the body is a JSON object that has one.
    static func model(in body: ByteBuffer) -> String? {
        guard let field = try? decoder.decode(ModelField.self, from: Data(body.readableBytesView)) else { return nil }
        return field.model
    }

    /// The body with its top-level `model` replaced, every other byte kept (a leading byte-order mark is
    /// dropped); nil when the body is not a JSON object.
    static func replacingModel(in body: ByteBuffer, with model: String) -> ByteBuffer? {
        var bytes = Array(body.readableBytesView)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        return JSONMemberSplice.replacingString("model", with: model, in: bytes).map { ByteBuffer(bytes: $0) }
    }

    // MARK: Idle

    /// Stops on-demand entries whose idle timeout ran out, and copies requests in flight and idle
    /// deadlines into the status, at most every `idleCheckInterval`.
    /// Only changed figures go to the status store: with no traffic, a pass costs no actor hop per entry.
    /// While no entry has an idle timeout, the watch sleeps until a request comes or goes or the routes
    /// change: an idle agent without on-demand entries never wakes for it.
    private func watchIdle() async {
        var published: [String: (inFlight: Int, deadline: String?)] = [:]
        var changes = self.changes.makeAsyncIterator()
        while !Task.isCancelled {
            if !directory.routes.contains(where: { $0.serves && $0.onDemand && $0.idleTimeout != nil }) {
                // Nothing counts down: wait for a change (nil: cancelled).
                guard await changes.next() != nil else { return }
            }
            try? await Task.sleep(for: options.idleCheckInterval)
            let routes = directory.routes.filter(\.serves)
            if !published.isEmpty {
                // An entry that leaves and comes back starts with fresh figures in the store.
                let names = Set(routes.map(\.name))
                published = published.filter { names.contains($0.key) }
            }
            for route in routes {
                let inFlight = traffic.inFlight(route.name)
                var deadline: String?
                if route.onDemand, let timeout = route.idleTimeout, let status = await store.service(route.name), status.pid != nil || status.phase == .Starting
                {
                    deadline = traffic.idleDeadline(route.name, timeout: timeout).map { Timestamp.string($0) }
                    let control = self.control
                    let name = route.name
                    _ = traffic.claimStop(name, idleFor: timeout) {
                        await control.stopOnDemand(name, reason: .Idle, message: "no request for \(timeout); starts again on the next request for it")
                    }
                }
                if let last = published[route.name], last.inFlight == inFlight, last.deadline == deadline { continue }
                published[route.name] = (inFlight, deadline)
                await store.setTraffic(route.name, inFlight: inFlight, idleDeadline: deadline)
            }
        }
    }
}
