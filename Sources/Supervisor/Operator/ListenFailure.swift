import NIOCore

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
