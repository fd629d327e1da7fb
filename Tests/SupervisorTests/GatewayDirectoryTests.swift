import Testing

@testable import Supervisor

/// How the gateway maps a request's `model` to an entry (`GatewayDirectory`).
@Suite struct GatewayDirectoryTests {
    func directory() -> GatewayDirectory {
        let d = GatewayDirectory()
        d.set([
            GatewayRoute(name: "chat", namespace: "default", shortName: "chat", aliases: ["gpt-4o-mini"]),
            GatewayRoute(name: "team/chat", namespace: "team", shortName: "chat", aliases: ["coder"]),
            GatewayRoute(name: "team/embed", namespace: "team", shortName: "embed"),
            GatewayRoute(name: "lab/embed", namespace: "lab", shortName: "embed", aliases: ["coder"]),
            GatewayRoute(name: "off", namespace: "default", shortName: "off", serves: false),
        ])
        return d
    }

    @Test func namesQualifiedNamesAndAliases() {
        let d = directory()
        #expect(d.resolve("chat") == .found(d.route(named: "chat")!), "the status name wins over team/chat's bare name")
        #expect(d.resolve("default/chat") == .found(d.route(named: "chat")!))
        #expect(d.resolve("team/chat") == .found(d.route(named: "team/chat")!))
        #expect(d.resolve("gpt-4o-mini") == .found(d.route(named: "chat")!))
        #expect(d.resolve("team/embed") == .found(d.route(named: "team/embed")!))
    }

    @Test func repeatedNamesMustBeQualified() {
        let d = directory()
        #expect(d.resolve("embed") == .ambiguous(candidates: ["lab/embed", "team/embed"]))
        #expect(d.resolve("coder") == .ambiguous(candidates: ["lab/embed", "team/chat"]))
    }

    @Test func unknownAndNotServingEntriesListTheNames() {
        let d = directory()
        guard case .unknown(let names) = d.resolve("off") else {
            Issue.record("an entry that cannot run is not routed")
            return
        }
        #expect(names == ["chat", "coder", "gpt-4o-mini", "lab/embed", "team/chat", "team/embed"])
    }
}
