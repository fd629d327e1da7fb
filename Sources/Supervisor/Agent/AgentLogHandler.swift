import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A swift-log handler that writes lines like `StreamLogHandler` (time, level, label, metadata,
/// message) to stderr through `AgentOutput`, so a closed or full stderr never ends the agent.
public struct AgentLogHandler: LogHandler {
    /// Threshold below which messages are dropped.
    public var logLevel: Logger.Level = .info
    /// Metadata attached to every message of this logger.
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let output: AgentOutput
    private let fd: Int32

    /// - Parameters:
    ///   - label: the logger's label, shown on each line.
    ///   - output: where failures are recorded; `.shared` for the agent.
    ///   - fd: the stream, 2 (stderr) by default.
    public init(label: String, output: AgentOutput = .shared, fd: Int32 = 2) {
        self.label = label
        self.output = output
        self.fd = fd
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        let fields = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        output.write("\(Timestamp.string()) \(event.level) \(label) :\(fields) \(event.message)\n", to: fd)
    }
}
