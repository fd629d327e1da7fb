import Logging
import NIOCore
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a listener (the operator endpoint, the gateway) could not listen, in the system's words:
/// `Address already in use (errno 98)` for SwiftNIO's `IOError` from `bind(2)`, whose own description
/// names an internal function (`bind(descriptor:ptr:bytes:): Address already in use) (errno: 98)`).
func listenFailure(_ error: any Error) -> String {
    guard let io = error as? IOError else { return "\(error)" }
    return "\(String(cString: strerror(io.errnoCode))) (errno \(io.errnoCode))"
}

/// How a listener that cannot listen is tried again: after 1 s, then a delay that doubles up to 30 s
/// (the shape of `BackoffPolicy`, shorter: a listener costs nothing to try).
enum ListenRetry {
    /// The first delay.
    static let first: Duration = .seconds(1)
    /// The longest delay between two tries.
    static let longest: Duration = .seconds(30)
}

/// Keeps one listener of the agent (the operator endpoint, the gateway) up until graceful shutdown.
///
/// `serve` runs the listener until graceful shutdown. When it throws (a port another program holds
/// while the agent starts, an address the machine does not have yet), supervision goes on without the
/// listener and `serve` runs again after `ListenRetry`'s delays, until it listens or the agent shuts
/// down: a port busy for a moment at boot does not lose the listener for the agent's whole life.
///
/// The first failure, and each failure whose reason differs from the one before, is logged as an error
/// with `message`, `metadata`, the reason (`error`) and the delay (`retryIn`); a repeat of the same
/// reason is logged at debug, so a port held for hours costs one error line.
/// - Parameters:
///   - message: what cannot listen, for the log (for example "gateway cannot listen; ...").
///   - warning: what cannot listen where, for the status file (`the gateway cannot listen on 127.0.0.1:8080`).
///   - failed: called at each failure whose reason differs from the one before with the status file's
///     warning line: `warning`, the reason and the retry (`...: Address already in use (errno 98); tried
///     again at least every 30 s`).
///   - serve: the listener's whole run; returning ends the retries.
func listenUntilShutdown(
    _ message: Logger.Message, metadata: Logger.Metadata, warning: String, logger: Logger,
    failed: (String) async -> Void = { _ in }, serve: () async throws -> Void
) async {
    var delay = ListenRetry.first
    var lastReason: String?
    while !Task.isShuttingDownGracefully && !Task.isCancelled {
        do {
            try await serve()
            return
        } catch {
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            let reason = listenFailure(error)
            var fields = metadata
            fields["error"] = "\(reason)"
            fields["retryIn"] = "\(delay.components.seconds)s"
            logger.log(level: reason == lastReason ? .debug : .error, message, metadata: fields)
            if reason != lastReason {
                await failed("\(warning): \(reason); tried again at least every \(ListenRetry.longest.components.seconds) s")
            }
            lastReason = reason
        }
        let wait = delay
        do {
            try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
        } catch {
            return
        }
        delay = min(delay * 2, ListenRetry.longest)
    }
}
