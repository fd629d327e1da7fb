/// Why a model could not be made ready on this node: the entry's `reason` and `message`.
public struct ModelFetchError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Status-file reasons of a failed model fetch.
    /// The status file's `reason`.
    public var reason: Reason
    /// A sentence for people: what was fetched, what went wrong, with the figures.
    public var message: String
    /// True when trying again may help (a dropped connection, a stall, a 5xx answer); false for a 4xx
    /// answer, a checksum mismatch or a full disk.
    public var retryable: Bool

    /// Creates an error.
    public init(_ reason: Reason, _ message: String, retryable: Bool = false) {
        self.reason = reason
        self.message = message
        self.retryable = retryable
    }

    public var description: String { "\(reason.rawValue): \(message)" }
}
