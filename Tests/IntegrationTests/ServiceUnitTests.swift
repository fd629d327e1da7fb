import Foundation
import Supervisor
import Testing

/// The example service units run the agent with exactly their flags, so they cannot drift from the CLI.
@Suite struct ServiceUnitTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples")

    /// The argv of a systemd unit's `ExecStart=` (backslash line continuations joined, split on spaces).
    static func execStart(of unit: String) throws -> [String] {
        let joined = unit.replacingOccurrences(of: "\\\n", with: " ")
        let line = try #require(joined.split(separator: "\n").first { $0.hasPrefix("ExecStart=") })
        return line.dropFirst("ExecStart=".count).split(separator: " ").map(String.init)
    }

    /// The unit's argv with the node's paths replaced by this test's: the binary, the config and the
    /// runtimes. Every flag and every other value stays as the unit writes it.
    static func localized(_ argv: [String], agent: AgentHarness) -> [String] {
        var result = [AgentHarness.agentBinary]
        var index = 1
        while index < argv.count {
            let flag = argv[index]
            result.append(flag)
            if index + 1 < argv.count {
                switch flag {
                case "--config":
                    result.append(agent.configPath)
                    index += 1
                case "--llama-server-bin", "--mlx-server-bin":
                    result.append(AgentHarness.fakeRuntime)
                    index += 1
                default: break
                }
            }
            index += 1
        }
        return Array(result.dropFirst())
    }

    func runAndCheck(_ argv: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        #expect(argv.first?.hasSuffix("/metal-agent") == true, "\(argv)")
        #expect(argv.contains("--config") && argv.contains("--llama-server-bin") && argv.contains("--mlx-server-bin"))
        let agent = try AgentHarness(config: configYAML(svc("chat"), svc("coder", model: "tiny-mlx", "runtime: mlx-server")))
        try agent.start(exactly: Self.localized(argv, agent: agent))
        let s = try await agent.waitFor("both Ready under the unit's flags", sourceLocation: sourceLocation) { s in
            s.services.allSatisfy { $0.phase == .Ready } && s.services.count == 2
        }
        // The endpoint the unit asks for, unless something else on this machine holds its port.
        if let endpoint = s.operatorEndpoint, let port = port(of: endpoint) {
            #expect(try httpGet(port: port, "/healthz").status == 200)
        }
        #expect(try await agent.terminate() == 0)
    }

    @Test func theSystemdUnitsExecStartRunsTheAgent() async throws {
        let unit = try String(contentsOf: Self.examples.appendingPathComponent("metal-agent.service"), encoding: .utf8)
        let argv = try Self.execStart(of: unit)
        #expect(argv.contains("--listen"))
        try await runAndCheck(argv)
    }

    @Test func theLaunchdPlistsProgramArgumentsRunTheAgent() async throws {
        let data = try Data(contentsOf: Self.examples.appendingPathComponent("dev.llmkube.metal-agent.plist"))
        let plist = try #require(try PropertyListSerialization.propertyList(from: data, format: nil) as? [String: Any])
        #expect(plist["Label"] as? String == "dev.llmkube.metal-agent")
        let argv = try #require(plist["ProgramArguments"] as? [String])
        try await runAndCheck(argv)
    }
}
