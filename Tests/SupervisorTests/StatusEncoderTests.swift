import Foundation
import Testing

@testable import Supervisor

/// The spliced status document is the same JSON as encoding the whole document at once, before and
/// after a change to one service, with none, one and many services.
@Suite struct StatusEncoderTests {
    func document(_ services: [ServiceStatus]) -> AgentStatus {
        AgentStatus(
            updatedAt: "2026-11-29T00:00:00.000Z",
            capabilities: .init(
                runtimes: ["llama-server"], defaultRuntime: "llama-server", binaries: ["llama-server": "/bin/x"],
                formats: ["llama-server": ["gguf"]], host: "127.0.0.1"),
            node: NodeInfo.current(agentVersion: "test"),
            config: .init(path: "/srv/models.yaml", generation: 3, valid: true, error: nil, errors: [], warnings: ["w \"quoted\" ["], appliedAt: nil),
            services: services)
    }

    func whole(_ status: AgentStatus) throws -> NSDictionary {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try #require(JSONSerialization.jsonObject(with: encoder.encode(status)) as? NSDictionary)
    }

    func spliced(_ encoder: inout StatusEncoder, _ status: AgentStatus) throws -> NSDictionary {
        let bytes = try encoder.encode(status)
        let plain = JSONEncoder()
        #expect(
            try JSONDecoder().decode(AgentStatus.self, from: Data(bytes))
                == JSONDecoder().decode(AgentStatus.self, from: plain.encode(status)))
        return try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary)
    }

    @Test func splicedDocumentsEqualWholeOnes() throws {
        var encoder = StatusEncoder()
        #expect(try spliced(&encoder, document([])) == whole(document([])))
        var services = (0..<300).map { i -> ServiceStatus in
            var s = ServiceStatus(name: "e\(i)", model: "m", phase: .Ready)
            s.message = "line with ] and [ and \"quotes\"\nand a break"
            s.spec = ["spec.services": "[x]"]
            return s
        }
        #expect(try spliced(&encoder, document(services)) == whole(document(services)))
        services[150].phase = .CrashLoopBackOff
        services[150].restarts = 4
        services.remove(at: 7)
        #expect(try spliced(&encoder, document(services)) == whole(document(services)))
        #expect(try spliced(&encoder, document([services[0]])) == whole(document([services[0]])))
    }

    /// With the names of the services that changed, only those are encoded again: a service left out
    /// of `changed` keeps its last JSON (so the store must name every change), a named one is new, and
    /// an entry gone from the order is gone from the document.
    @Test func onlyTheNamedServicesAreEncodedAgain() throws {
        var encoder = StatusEncoder()
        var services = (0..<50).map { ServiceStatus(name: "e\($0)", model: "m", phase: .Ready) }
        func encode(_ changed: Set<String>) throws -> NSDictionary {
            let byName = Dictionary(uniqueKeysWithValues: services.map { ($0.name, $0) })
            let bytes = try encoder.encode(shell: document([]), order: services.map(\.name), services: byName, changed: changed)
            return try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary)
        }
        #expect(try encode([]) == whole(document(services)))  // never encoded: all of them
        let before = services
        services[3].phase = .CrashLoopBackOff
        services[9].restarts = 2
        #expect(try encode([]) == whole(document(before)))  // named nothing: the last JSON
        #expect(try encode(["e3"]) != whole(document(services)))
        #expect(try encode(["e9"]) == whole(document(services)))  // e3 was taken in the call before
        services.remove(at: 20)
        services.swapAt(0, 1)
        #expect(try encode(["e20"]) == whole(document(services)))
    }
}
