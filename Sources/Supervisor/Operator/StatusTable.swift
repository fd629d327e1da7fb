import ConfigModel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Renders a status document as `metal-agent status` prints it: one table row per entry (as
/// `kubectl get` does), then the node's capabilities, the config and the agent's presence.
///
/// Columns: NAME, NAMESPACE (only when an entry is outside `default`), RUNTIME (`*` marks a runtime
/// that came from the agent's `--runtime` default, not `spec.runtime`), PHASE, READY (`1/1`, `0/1`;
/// `0/0` for an entry stopped on purpose), RESTARTS, PORT, AGE (of the current process, `kubectl`'s
/// format: `42s`, `3m12s`, `5h`, `2d`), MESSAGE (reason and message, cut to 60 characters). `wide`
/// adds PID, MODEL and ENDPOINT and never cuts the message.
public struct StatusTable: Sendable {
    /// The document to render.
    public var status: AgentStatus
    /// Whether its agent is alive (see `AgentPresence`).
    public var presence: AgentPresence
    /// Adds PID, MODEL, ENDPOINT and the whole message.
    public var wide: Bool
    /// "Now", for AGE.
    public var now: Date

    /// - Parameters: see the properties.
    public init(status: AgentStatus, presence: AgentPresence, wide: Bool = false, now: Date = Date()) {
        self.status = status
        self.presence = presence
        self.wide = wide
        self.now = now
    }

    /// The table and the summary lines, ending with a line break.
    public func render() -> String {
        let namespaced = status.services.contains { ($0.namespace ?? "default") != "default" }
        var header = ["NAME"]
        if namespaced { header.append("NAMESPACE") }
        header += ["RUNTIME", "PHASE", "READY", "RESTARTS", "PORT", "AGE"]
        if wide { header += ["PID", "MODEL", "ENDPOINT"] }
        header.append("MESSAGE")
        var rows = [header]
        for s in status.services {
            let namespace = s.namespace ?? "default"
            let shortName = namespaced && s.name.hasPrefix(namespace + "/") ? String(s.name.dropFirst(namespace.count + 1)) : s.name
            var row = [shortName]
            if namespaced { row.append(namespace) }
            let runtime = (s.runtime ?? "-") + (s.runtimeSource == "default" ? "*" : "")
            let should = StatusVerdict.shouldRun(s)
            row += [
                runtime, s.phase.rawValue, should ? "\(s.ready ? 1 : 0)/1" : "0/0", "\(s.restarts)",
                s.port.map(String.init) ?? "-", s.pid == nil ? "-" : Self.age(since: s.startedAt, now: now),
            ]
            if wide { row += [s.pid.map(String.init) ?? "-", s.model, s.endpoint ?? "-"] }
            row.append(Self.message(s, limit: wide ? nil : 60))
            rows.append(row)
        }
        var lines = Self.columns(rows)
        if status.services.isEmpty { lines.append("(no InferenceService entries)") }
        if status.services.contains(where: { $0.runtimeSource == "default" }) {
            lines.append("* runtime from the agent's --runtime default (no spec.runtime)")
        }
        lines.append(nodeLine())
        lines.append(configLine())
        lines.append(agentLine())
        // The agent's own problems that do not stop supervision (a listener that cannot listen, a log
        // it cannot write), while the agent runs: a stale file's would mislead.
        if case .running = presence { lines += (status.warnings ?? []).map { "warning: " + $0 } }
        return lines.joined(separator: "\n") + "\n"
    }

    private func nodeLine() -> String {
        let caps = status.capabilities
        let runtimes = caps.runtimes.map { name in
            let version = caps.versions?[name].map { " (\($0))" } ?? ""
            return name + version + (name == caps.defaultRuntime ? " [default]" : "")
        }
        var parts = ["node: \(status.node.os)/\(status.node.arch)", "runtimes: \(runtimes.isEmpty ? "none" : runtimes.joined(separator: ", "))"]
        if let budget = caps.memoryBudgetBytes {
            parts.append("memory: \(Self.bytes(caps.memoryCommittedBytes ?? 0)) of \(Self.bytes(budget)) committed")
        }
        return parts.joined(separator: "; ")
    }

    private func configLine() -> String {
        let c = status.config
        let files = c.files ?? [c.path]
        // Before the first read has an outcome (the agent is starting), the config is neither.
        var line = "config: generation \(c.generation), " + (!c.hasOutcome ? "not read yet" : c.valid ? "valid" : "INVALID")
        line += " (\(files.count == 1 ? files[0] : "\(files.count) files"))"
        if let error = c.error { line += "; " + error + (c.errors.count > 1 ? " (+\(c.errors.count - 1) more)" : "") }
        if !c.warnings.isEmpty { line += "; \(c.warnings.count) warning(s)" }
        return line
    }

    private func agentLine() -> String {
        let written = "status written \(Self.age(since: status.updatedAt, now: now)) ago"
        switch presence {
        case .running(let pid):
            let endpoint = status.operatorEndpoint.map { ", endpoint \($0)" } ?? ""
            return "agent: running (pid \(pid ?? "unknown"))\(endpoint), \(written)"
        case .gone:
            return "agent: NOT RUNNING (its lock is not held): this status is stale, \(written)"
        }
    }

    /// `reason: message`, either alone, or `-`; cut to `limit` characters with `...`.
    static func message(_ s: ServiceStatus, limit: Int?) -> String {
        var text = [s.reason?.rawValue, s.message].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
        if let progress = s.download, s.reason == .Downloading {
            text += " (\(progress.summary))"
        }
        if text.isEmpty { return "-" }
        text = text.replacing("\n", with: " ")
        if let limit, text.count > limit { return String(text.prefix(limit - 3)) + "..." }
        return text
    }

    /// Rows padded into columns two spaces apart; the last column is not padded.
    static func columns(_ rows: [[String]]) -> [String] {
        guard let count = rows.first?.count else { return [] }
        var widths = Array(repeating: 0, count: count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padded(to: widths[i])
            }.joined(separator: "  ")
        }
    }

    /// Time since an ISO 8601 timestamp, as `kubectl` prints ages: `42s`, `3m12s`, `2h5m`, `5d`; `-` when unknown.
    public static func age(since timestamp: String?, now: Date) -> String {
        guard let timestamp, let date = parseTimestamp(timestamp) else { return "-" }
        let seconds = max(0, Int(now.timeIntervalSince(date)))
        switch seconds {
        case ..<120: return "\(seconds)s"
        case ..<600: return "\(seconds / 60)m\(seconds % 60 == 0 ? "" : "\(seconds % 60)s")"
        case ..<(3 * 3600): return "\(seconds / 60)m"
        case ..<(8 * 3600): return "\(seconds / 3600)h\((seconds % 3600) / 60 == 0 ? "" : "\((seconds % 3600) / 60)m")"
        case ..<(48 * 3600): return "\(seconds / 3600)h"
        default: return "\(seconds / 86400)d"
        }
    }

    /// Parses the status file's ISO 8601 timestamps (with or without fractional seconds).
    static func parseTimestamp(_ text: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        return try? Date.ISO8601FormatStyle().parse(text)
    }

    /// Bytes in binary units with one decimal: `512 B`, `1.5 KiB`, `12.0 GiB`.
    static func bytes(_ value: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(value)
        var unit = 0
        while v >= 1024 && unit < units.count - 1 {
            v /= 1024
            unit += 1
        }
        return unit == 0 ? "\(value) B" : TextFormat.fixed(v, decimals: 1) + " " + units[unit]
    }
}
