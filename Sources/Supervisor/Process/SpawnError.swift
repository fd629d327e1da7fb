/// Why a runtime could not be started.
struct SpawnError: Error, Sendable, CustomStringConvertible {
    var message: String
    var description: String { message }
}
