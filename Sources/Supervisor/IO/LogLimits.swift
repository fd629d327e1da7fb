/// Size and count limits for a service's log files (`--log-max-bytes`, `--log-max-files`).
///
/// Defaults follow the kubelet's container log rotation: `containerLogMaxSize` 10 Mi and
/// `containerLogMaxFiles` 5 (KubeletConfiguration), so one service's logs take at most 50 MiB.
public struct LogLimits: Sendable, Hashable {
    /// Largest size of one file in bytes before it is rotated.
    public var maxBytes: Int
    /// Most files kept per service, the current one included (`<name>.log`, `<name>.log.1`, ...).
    public var maxFiles: Int

    /// The kubelet's defaults: 10 MiB, 5 files.
    public static let kubelet = LogLimits(maxBytes: 10 << 20, maxFiles: 5)

    /// - Precondition: `maxBytes` > 0 and `maxFiles` >= 1 (the CLI checks both).
    public init(maxBytes: Int, maxFiles: Int) {
        self.maxBytes = max(1, maxBytes)
        self.maxFiles = max(1, maxFiles)
    }
}
