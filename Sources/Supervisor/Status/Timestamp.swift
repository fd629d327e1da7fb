#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// ISO 8601 timestamps (UTC, with fractional seconds) for the status file.
enum Timestamp {
    /// The form every timestamp of the status file takes: `2026-11-30T11:22:00.123Z`.
    private static let style = Date.ISO8601FormatStyle.iso8601.year().month().day().dateSeparator(.dash)
        .time(includingFractionalSeconds: true).timeSeparator(.colon).timeZone(separator: .omitted)

    /// `date` as the status file writes it.
    static func string(_ date: Date = Date()) -> String { date.formatted(style) }

    /// The instant a status-file timestamp names; nil when `text` is not in that form.
    static func date(_ text: String) -> Date? { try? style.parse(text) }
}
