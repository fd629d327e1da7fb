import ConfigModel
import Foundation
import Testing

/// The gateway's annotations (issue 14): `idleTimeout`, `aliases`, `exclusiveGroup`.
@Suite struct GatewayAnnotationTests {
    func entry(_ annotations: [String: String]) -> [UInt8] {
        let lines = annotations.sorted { $0.key < $1.key }.map { "    metal-agent.llmkube.dev/\($0.key): \"\($0.value)\"" }
        return yaml(
            ggufModel,
            """
            \(header)
            kind: InferenceService
            metadata:
              name: chat
              annotations:
            \(lines.joined(separator: "\n"))
            spec:
              modelRef: tiny
            """)
    }

    @Test func readsIdleTimeoutAliasesAndExclusiveGroup() throws {
        let s = try #require(
            try ConfigLoader.load(
                entry(["idleTimeout": "10m", "aliases": "gpt-4o-mini, coder", "exclusiveGroup": "big-gpu"]),
                file: "/m/models.yaml"
            ).services.first)
        #expect(s.idleTimeout == .seconds(600))
        #expect(s.aliases == ["gpt-4o-mini", "coder"])
        #expect(s.exclusiveGroup == "big-gpu")
        #expect(s.onDemand)
        let plain = try #require(try ConfigLoader.load(yaml(ggufModel, service()), file: "/m/models.yaml").services.first)
        #expect(!plain.onDemand && plain.idleTimeout == nil && plain.aliases.isEmpty)
        #expect(try ConfigLoader.load(entry(["exclusiveGroup": "g"]), file: "/m/models.yaml").services.first?.onDemand == true)
    }

    @Test(arguments: [
        ("idleTimeout", "10"), ("idleTimeout", "-5m"), ("idleTimeout", "0s"), ("idleTimeout", "8d"),
        ("aliases", "a,,b"), ("aliases", "a b"), ("exclusiveGroup", "Big"), ("exclusiveGroup", "-x"),
    ])
    func aBadValueIsAFileErrorAtTheAnnotation(key: String, value: String) {
        let errors = loadErrors(entry([key: value]))
        #expect(errors.map(\.field) == ["InferenceService \"chat\" metadata.annotations[metal-agent.llmkube.dev/\(key)]"], "\(key)=\(value)")
        #expect(errors.first?.line == 13, "points at the value")
    }

    @Test func durations() {
        #expect(AgentAnnotations.parseDuration("500ms") == .milliseconds(500))
        #expect(AgentAnnotations.parseDuration("1.5h") == .seconds(5400))
        #expect(AgentAnnotations.parseDuration("30s") == .seconds(30))
        #expect(AgentAnnotations.parseDuration("m") == nil)
        #expect(AgentAnnotations.parseDuration("1e3s") == nil)
    }
}
