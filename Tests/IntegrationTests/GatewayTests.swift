import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Supervisor
import TestSupport
import Testing

/// The OpenAI-compatible gateway (`--gateway-listen`, issue 14), against the real agent binary and the
/// stand-in runtime: routing by `model`, `GET /v1/models`, 404 and 503 shapes, server-sent events passed
/// through as they come, client disconnect cancelling upstream, on-demand start and idle stop, and
/// exclusive groups.
@Suite struct GatewayTests {
    /// One answer: status, headers, body.
    struct Answer {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:] }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    static func request(_ port: Int, _ path: String, method: HTTPMethod = .POST, json: String? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        let body = try await response.body.collect(upTo: 16 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Array(body.readableBytesView))
    }

    static func chat(_ port: Int, model: String, extra: String = "") async throws -> Answer {
        try await request(port, "/v1/chat/completions", json: #"{"model": "\#(model)", "messages": [{"role": "user", "content": "hi"}]\#(extra)}"#)
    }

    @Test func routesByModelAcrossEntriesWithNamespacesAndAliases() async throws {
        let config =
            configYAML(
                svc("alpha", "extraArgs: [\"--fake-say\", \"alpha\"]"),
                svc("beta", model: "tiny-mlx", "runtime: mlx-server"),
                "metadata:\n  name: alpha\n  namespace: team\n  annotations:\n    metal-agent.llmkube.dev/aliases: \"coder, team-alpha\"\nspec:\n  modelRef: tiny-gguf",
                svc("slow", "extraArgs: [\"--fake-never-ready\"]"))
            + "---\napiVersion: inference.llmkube.dev/v1alpha1\nkind: Model\nmetadata:\n  name: tiny-gguf\n  namespace: team\nspec:\n  source: models/tiny.gguf\n"
        let agent = try AgentHarness(config: config)
        try agent.start(["--gateway-listen", "127.0.0.1:0", "--gateway-wait", "1s"])
        let port = try await agent.gatewayPort()
        let s = try await agent.waitFor("alpha, beta and team/alpha Ready") { s in
            ["alpha", "beta", "team/alpha"].allSatisfy { agent.service($0, in: s)?.phase == .Ready }
        }
        let ports = Dictionary(uniqueKeysWithValues: s.services.compactMap { s in s.port.map { (s.name, $0) } })
        for (model, entry) in [
            ("alpha", "alpha"), ("default/alpha", "alpha"), ("beta", "beta"), ("team/alpha", "team/alpha"),
            ("coder", "team/alpha"), ("team-alpha", "team/alpha"),
        ] {
            let answer = try await Self.chat(port, model: model)
            #expect(answer.status == 200, "\(model): \(answer.text)")
            #expect(answer.json["port"] as? Int == ports[entry], "\(model) goes to \(entry): \(answer.text)")
            #expect(answer.json["path"] as? String == "/v1/chat/completions")
            // The body reaches the runtime unchanged, but for mlx_lm.server, which loads the model the body
            // names: there it names the entry's model folder.
            let requested = entry == "beta" ? agent.service("beta", in: s)?.modelPath : model
            #expect(answer.json["requested"] as? String == requested, "\(model): \(answer.text)")
        }
        for path in ["/v1/completions", "/v1/embeddings", "/v1/rerank", "/completion", "/infill", "/tokenize"] {
            let answer = try await Self.request(port, path, json: #"{"model": "alpha", "prompt": "x"}"#)
            #expect(answer.status == 200 && answer.json["path"] as? String == path, "\(path): \(answer.text)")
        }
        // llama-server's own paths are not routed to an MLX entry.
        #expect(try await Self.request(port, "/tokenize", json: #"{"model": "beta", "content": "x"}"#).status == 404)

        // Unknown model: 404 in the OpenAI error shape, with the names there are.
        let unknown = try await Self.chat(port, model: "nope")
        #expect(unknown.status == 404)
        let error = try #require(unknown.json["error"] as? [String: Any], "\(unknown.text)")
        #expect(error["code"] as? String == "model_not_found")
        #expect(Set(error["models"] as? [String] ?? []).isSuperset(of: ["alpha", "beta", "team/alpha", "coder", "slow"]), "\(unknown.text)")
        #expect((error["message"] as? String)?.contains("team/alpha") == true)
        #expect(try await Self.request(port, "/v1/chat/completions", json: #"{"messages": []}"#).status == 400)

        // Not Ready within --gateway-wait: 503 with Retry-After, saying the phase.
        let slow = try await Self.chat(port, model: "slow")
        #expect(slow.status == 503, "\(slow.text)")
        #expect(slow.header("Retry-After") == "5")
        let slowError = try #require(slow.json["error"] as? [String: Any], "\(slow.text)")
        #expect(slowError["phase"] as? String == "Starting" && slowError["code"] as? String == "model_not_ready", "\(slow.text)")

        // GET /v1/models: the OpenAI list, with runtime and phase.
        let models = try await Self.request(port, "/v1/models", method: .GET)
        #expect(models.status == 200 && models.json["object"] as? String == "list")
        let data = try #require(models.json["data"] as? [[String: Any]], "\(models.text)")
        #expect(data.compactMap { $0["id"] as? String }.sorted() == ["alpha", "beta", "slow", "team/alpha"])
        let beta = try #require(data.first { $0["id"] as? String == "beta" })
        #expect(beta["object"] as? String == "model" && beta["runtime"] as? String == "mlx-server" && beta["phase"] as? String == "Ready")
        #expect(try await agent.terminate() == 0)
    }

    @Test func streamsEventsAsTheyComeAndADisconnectCancelsUpstream() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        try agent.start(["--gateway-listen", "127.0.0.1:0"])
        let port = try await agent.gatewayPort()
        try await agent.waitFor("chat Ready") { agent.service("chat", in: $0)?.phase == .Ready }

        // The runtime sends one event, then waits for the gate file: the event must reach the client before
        // the gate opens, so nothing holds the stream back until it ends.
        let gate = agent.dir.appendingPathComponent("gate").path
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
        request.method = .POST
        request.body = .bytes(ByteBuffer(string: #"{"model": "chat", "stream": true, "fake_chunks": 3, "fake_gate": "\#(gate)"}"#))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        #expect(response.status.code == 200)
        #expect(response.headers.first(name: "content-type") == "text/event-stream")
        var received = ""
        var iterator = response.body.makeAsyncIterator()
        while !received.contains("\n\n"), let chunk = try await iterator.next() {
            received += String(buffer: chunk)
        }
        #expect(received.contains("tok0") && !received.contains("tok1"), "the first event arrives alone: \(received)")
        #expect(!FileManager.default.fileExists(atPath: gate))
        _ = FileManager.default.createFile(atPath: gate, contents: nil)
        while let chunk = try await iterator.next() { received += String(buffer: chunk) }
        #expect(received.contains("tok1") && received.contains("tok2") && received.hasSuffix("data: [DONE]\n\n"), "\(received)")

        // A client that goes away mid-stream: the runtime sees its connection close long before the end.
        let log = agent.dir.appendingPathComponent("stream.log").path
        let (firstChunk, gotFirstChunk) = AsyncStream<Void>.makeStream()
        let reader = Task {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: #"{"model": "chat", "stream": true, "fake_chunks": 2000, "fake_interval": 0.05, "fake_log": "\#(log)"}"#))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
            var iterator = response.body.makeAsyncIterator()
            _ = try await iterator.next()
            gotFirstChunk.yield()
            try await Task.sleep(for: .seconds(3600))  // until cancelled
        }
        // The first event came through: the stream runs end to end. Then the client goes away.
        for await _ in firstChunk { break }
        reader.cancel()
        _ = await reader.result
        do {
            try await waitUntil("the runtime saw the disconnect") {
                ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("disconnected after")
            }
        } catch {
            Issue.record(
                "stream log: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "none")\nagent log tail:\n\(((try? String(contentsOfFile: agent.stderrPath, encoding: .utf8)) ?? "").suffix(4000))"
            )
            throw error
        }
        let outcome = try String(contentsOfFile: log, encoding: .utf8)
        #expect(!outcome.contains("complete"), "\(outcome)")
        try await waitUntil("no request in flight") { agent.status().flatMap { agent.service("chat", in: $0)?.requestsInFlight } == 0 }
        #expect(try await agent.terminate() == 0)
    }

    /// A request for an entry in CrashLoopBackOff whose restart comes after `--gateway-wait` is answered
    /// at once: 503 with `Retry-After` at the restart, the phase, and why it crashed. It is not held for
    /// the whole wait (120 s here) to learn the same.
    @Test func anEntryInCrashLoopBackOffIsAnsweredAtOnceWithItsRestartTime() async throws {
        let agent = try AgentHarness(config: configYAML(svc("crashy", "extraArgs: [\"--fake-exit-now\", \"3\"]")))
        try agent.start(["--gateway-listen", "127.0.0.1:0", "--gateway-wait", "120s", "--backoff-initial", "200s"])
        let port = try await agent.gatewayPort()
        try await agent.waitFor("crashy in CrashLoopBackOff") { agent.service("crashy", in: $0)?.phase == .CrashLoopBackOff }
        let answer = try await Self.chat(port, model: "crashy")
        #expect(answer.status == 503, "\(answer.text)")
        // Held for the whole wait, the answer would say the default `Retry-After: 5`.
        let retryAfter = try #require(answer.header("Retry-After").flatMap { Int($0) }, "\(answer.text)")
        #expect(retryAfter > 5 && retryAfter <= 200, "Retry-After \(retryAfter)")
        let error = try #require(answer.json["error"] as? [String: Any], "\(answer.text)")
        #expect(error["phase"] as? String == "CrashLoopBackOff" && error["reason"] as? String == "ExitedBeforeReady", "\(answer.text)")
        #expect((error["message"] as? String)?.contains("exited before it became ready") == true, "\(answer.text)")
        #expect(try await agent.terminate() == 0)
    }

    @Test func onDemandEntryStartsOnFirstRequestStopsWhenIdleAndStartsAgain() async throws {
        let agent = try AgentHarness(
            config: configYAML(
                "metadata:\n  name: lazy\n  annotations:\n    metal-agent.llmkube.dev/idleTimeout: \"20s\"\nspec:\n  modelRef: tiny-gguf",
                svc("always")))
        try agent.start(["--gateway-listen", "127.0.0.1:0"])
        let port = try await agent.gatewayPort()
        let idle = try await agent.waitFor("always Ready, lazy Stopped (Idle)") { s in
            agent.service("always", in: s)?.phase == .Ready && agent.service("lazy", in: s)?.phase == .Stopped
        }
        let lazy = try #require(agent.service("lazy", in: idle))
        #expect(lazy.reason == .Idle && lazy.pid == nil && lazy.onDemand == true && lazy.idleDeadline == nil)
        #expect(agent.service("always", in: idle)?.onDemand == false)

        // The idle timeout (20 s) is long enough for this test to see the Ready state on a loaded machine
        // (with 1 s it once idled out between two status reads, and with 5 s on a CI machine that took
        // 5 s to build two entries).
        let first = try await Self.chat(port, model: "lazy")
        #expect(first.status == 200, "\(first.text)")
        let running = try await agent.waitFor("lazy Ready with an idle deadline") { s in
            let l = agent.service("lazy", in: s)
            return l?.phase == .Ready && l?.idleDeadline != nil
        }
        let pid = try #require(agent.service("lazy", in: running)?.pid)
        let stopped = try await agent.waitFor("lazy stopped when idle") { s in
            let l = agent.service("lazy", in: s)
            return l?.phase == .Stopped && l?.reason == .Idle && l?.pid == nil
        }
        try await agent.waitUntilGone(pid)
        #expect(agent.service("always", in: stopped)?.phase == .Ready, "only the on-demand entry stops")

        let again = try await Self.chat(port, model: "lazy")
        #expect(again.status == 200, "\(again.text)")
        let restarted = try await agent.waitFor("lazy Ready again") { agent.service("lazy", in: $0)?.phase == .Ready }
        #expect(agent.service("lazy", in: restarted)?.pid != pid)
        let log = try String(contentsOfFile: agent.stderrPath, encoding: .utf8)
        #expect(log.components(separatedBy: "on-demand start").count - 1 == 2, "one line per on-demand start")
        #expect(log.components(separatedBy: "idle stop").count - 1 >= 1, "one line per idle stop")
        #expect(try await agent.terminate() == 0)
    }

    @Test func exclusiveGroupNeverRunsTwoMembers() async throws {
        func member(_ name: String) -> String {
            "metadata:\n  name: \(name)\n  annotations:\n    metal-agent.llmkube.dev/exclusiveGroup: big\nspec:\n  modelRef: tiny-gguf"
        }
        let agent = try AgentHarness(config: configYAML(member("left"), member("right")))
        try agent.start(["--gateway-listen", "127.0.0.1:0", "--status-write-interval", "0ms"])
        let port = try await agent.gatewayPort()
        try await agent.waitFor("both Stopped, on demand") { s in s.services.count == 2 && s.services.allSatisfy { $0.phase == .Stopped } }

        // Read every status document the agent writes while requests alternate between the two members.
        let violations = Violations()
        let statusPath = agent.statusPath
        let watcher = Task.detached {
            var last = ""
            while !Task.isCancelled {
                if let s = try? StatusFile.read(statusPath), s.updatedAt != last {
                    last = s.updatedAt
                    violations.seen()
                    let running = s.services.filter { $0.pid != nil || $0.phase == .Starting || $0.phase == .Ready }
                    if running.count > 1 {
                        violations.record(running.map { "\($0.name) \($0.phase) pid \($0.pid.map(String.init) ?? "-")" }.joined(separator: ", "))
                    }
                }
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
        var pids: Set<Int32> = []
        for round in 0..<3 {
            for name in ["left", "right"] {
                let answer = try await Self.chat(port, model: name)
                #expect(answer.status == 200, "round \(round) \(name): \(answer.text)")
                let s = try #require(agent.status())
                if let pid = agent.service(name, in: s)?.pid { pids.insert(pid) }
            }
        }
        // Requests for both at once: they take turns, and both are served.
        async let a = Self.chat(port, model: "left")
        async let b = Self.chat(port, model: "right")
        let (left, right) = try await (a, b)
        #expect(left.status == 200 && right.status == 200, "\(left.text) \(right.text)")
        watcher.cancel()
        _ = await watcher.value
        #expect(violations.list.isEmpty, "two members of one exclusive group ran at once: \(violations.list.prefix(5))")
        #expect(violations.count > 10, "the status was read while it changed")
        #expect(pids.count == 6, "each turn starts the member again: \(pids)")
        let s = try #require(agent.status())
        #expect(s.services.contains { $0.reason == .ExclusiveGroup && $0.phase == .Stopped })
        #expect(try await agent.terminate() == 0)
    }

    @Test func anOnDemandStartThatDoesNotFitStopsAnIdleEntryOrAnswers503() async throws {
        func lazy(_ name: String) -> String {
            "metadata:\n  name: \(name)\n  annotations:\n    metal-agent.llmkube.dev/idleTimeout: \"10m\"\nspec:\n  modelRef: tiny-gguf"
        }
        let agent = try AgentHarness(config: configYAML(lazy("one"), lazy("two")))
        // The fake GGUF's estimate is its size, 9 bytes: one entry fits in 12, two do not.
        try agent.start(["--gateway-listen", "127.0.0.1:0", "--memory-budget", "12"])
        let port = try await agent.gatewayPort()
        try await agent.waitFor("both Stopped, on demand") { s in s.services.count == 2 && s.services.allSatisfy { $0.phase == .Stopped } }
        #expect(try await Self.chat(port, model: "one").status == 200)
        // "two" does not fit next to "one", which is idle: "one" is stopped to make room.
        let second = try await Self.chat(port, model: "two")
        #expect(second.status == 200, "\(second.text)")
        let s = try await agent.waitFor("one stopped for two") { s in
            agent.service("one", in: s)?.phase == .Stopped && agent.service("two", in: s)?.phase == .Ready
        }
        #expect(agent.service("one", in: s)?.reason == .MemoryReclaimed)

        // With a request to "two" in flight, nothing can make room for "one": 503 with the reason.
        let gate = agent.dir.appendingPathComponent("gate").path
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
        request.method = .POST
        request.body = .bytes(ByteBuffer(string: #"{"model": "two", "stream": true, "fake_gate": "\#(gate)"}"#))
        let streaming = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        var iterator = streaming.body.makeAsyncIterator()
        _ = try await iterator.next()
        let busy = try await agent.waitFor("the status counts the request in flight") { agent.service("two", in: $0)?.requestsInFlight == 1 }
        #expect(agent.service("two", in: busy)?.idleDeadline == nil, "no idle deadline while a request is in flight")
        let refused = try await Self.chat(port, model: "one")
        #expect(refused.status == 503, "\(refused.text)")
        #expect(refused.header("Retry-After") != nil)
        let error = try #require(refused.json["error"] as? [String: Any], "\(refused.text)")
        #expect(error["reason"] as? String == "InsufficientMemory", "\(refused.text)")
        _ = FileManager.default.createFile(atPath: gate, contents: nil)
        while try await iterator.next() != nil {}
        #expect(try await agent.terminate() == 0)
    }

    /// llama-server under `--api-prefix` (in extraArgs, or `LLAMA_ARG_API_PREFIX` in spec.env) serves
    /// every route under it, `/health` included: the entry is Ready on `PREFIX/health`, its endpoint ends
    /// with the prefix, and the gateway forwards there. It never became Ready before (a 404 on `/health`).
    @Test func anApiPrefixMovesTheProbesAndTheEndpoint() async throws {
        let agent = try AgentHarness(
            config: configYAML(
                svc("flag", "extraArgs: [\"--api_prefix\", \"/llm\"]"),
                svc("env", "env: [{name: LLAMA_ARG_API_PREFIX, value: /v2}]")))
        try agent.start(["--gateway-listen", "127.0.0.1:0"])
        let port = try await agent.gatewayPort()
        let s = try await agent.waitFor("both Ready") { s in ["flag", "env"].allSatisfy { agent.service($0, in: s)?.phase == .Ready } }
        #expect(agent.service("flag", in: s)?.endpoint?.hasSuffix("/llm") == true, "\(String(describing: agent.service("flag", in: s)?.endpoint))")
        #expect(agent.service("env", in: s)?.endpoint?.hasSuffix("/v2") == true)
        for model in ["flag", "env"] {
            let answer = try await Self.chat(port, model: model)
            #expect(answer.status == 200 && answer.json["path"] as? String == "/v1/chat/completions", "\(model): \(answer.text)")
        }
        #expect(try await agent.terminate() == 0)
    }

    @Test func aTakenGatewayPortIsLoggedAndSupervisionGoesOn() async throws {
        let holder = try LoopbackListener(backlog: 1)
        defer { holder.close() }
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        try agent.start(["--gateway-listen", "127.0.0.1:\(holder.port)"])
        try await agent.waitFor("chat Ready") { agent.service("chat", in: $0)?.phase == .Ready }
        try await waitUntil("the gateway's error in the log") {
            ((try? String(contentsOfFile: agent.stderrPath, encoding: .utf8)) ?? "").contains("gateway cannot listen")
        }
        let log = (try? String(contentsOfFile: agent.stderrPath, encoding: .utf8)) ?? ""
        #expect(log.contains("error=Address already in use (errno ") && !log.contains("bind(descriptor"), "\(log.suffix(3000))")
        // The port frees up: the gateway is tried again and serves.
        holder.close()
        try await agent.waitFor("the status warns") { s in
            s.warnings?.contains { $0.contains("the gateway cannot listen on 127.0.0.1:\(holder.port): Address already in use") } == true
        }
        try await agent.waitFor("the gateway listening once the port is free, no warning left") { s in
            s.gatewayEndpoint == "http://127.0.0.1:\(holder.port)" && s.warnings == []
        }
        #expect(try httpGet(port: holder.port, "/v1/models").status == 200)
        #expect(try await agent.terminate() == 0)
    }
}

/// Polls `condition` every 20 ms until it holds; fails the test after the harness deadline.
func waitUntil(_ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ condition: () -> Bool) async throws {
    let clock = ContinuousClock()
    let end = clock.now + AgentHarness.deadline
    while clock.now < end {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out waiting for: \(what)", sourceLocation: sourceLocation)
    throw HarnessError.timedOut(what)
}

/// What the exclusive-group watcher saw.
final class Violations: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    private var documents = 0
    func record(_ text: String) { lock.withLock { items.append(text) } }
    func seen() { lock.withLock { documents += 1 } }
    var list: [String] { lock.withLock { items } }
    var count: Int { lock.withLock { documents } }
}
