import ArgumentParser
import Supervisor

/// Flags of the OpenAI-compatible gateway (`run`).
struct GatewayFlags: ParsableArguments {
    @Option(help: "Address of the gateway, one OpenAI-compatible endpoint for every entry (routed by the body's model): HOST:PORT, or none to turn it off.")
    var gatewayListen: String = GatewayFlags.defaultListen

    /// Where the gateway listens by default.
    static let defaultListen = "127.0.0.1:8080"

    @Option(help: "How long a request through the gateway waits for its entry to be Ready (an on-demand start included) before a 503 with Retry-After.")
    var gatewayWait: DurationArgument = DurationArgument(argument: "120s")!

    func validate() throws {
        do {
            _ = try GatewayOptions.parseListen(gatewayListen)
        } catch {
            throw ValidationError("--gateway-listen \(error)")
        }
    }

    /// The gateway's options; nil with `--gateway-listen none`.
    func options() -> GatewayOptions? {
        guard let listen = try? GatewayOptions.parseListen(gatewayListen) else { return nil }
        return GatewayOptions(host: listen.host, port: listen.port, readyWait: gatewayWait.duration)
    }
}
