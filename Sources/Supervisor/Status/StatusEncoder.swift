#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Encodes the status document for `StatusFile`, re-encoding only the services that changed since the
/// last document: each service's JSON is kept and spliced into the document, so a write with 1,000
/// entries costs one service's encoding plus copying bytes, not 1,000 encodings (issue 12).
/// The output is the same JSON as encoding the whole `AgentStatus` at once (pretty-printed, sorted keys).
struct StatusEncoder {
    /// Each service's JSON (indented for the `services` array), by name.
    private var cache: [String: [UInt8]] = [:]
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// The whole document as bytes, ending with a line break; every service is encoded again.
    /// - Throws: an encoding error.
    mutating func encode(_ status: AgentStatus) throws -> [UInt8] {
        var shell = status
        shell.services = []
        let byName = Dictionary(status.services.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        guard byName.count == status.services.count else {
            return [UInt8](try encoder.encode(status)) + [0x0A]  // a name twice: encode it all
        }
        return try encode(shell: shell, order: status.services.map(\.name), services: byName, changed: Set(byName.keys))
    }

    /// The document `shell` with `services` (in `order`; names it lacks are left out) as its `services`,
    /// as bytes ending with a line break. Only the services named in `changed`, and those never encoded,
    /// are encoded again: the caller (`StatusStore`) names every service it changed since the last call.
    /// - Parameter shell: the document without its services (its `services` is ignored).
    /// - Throws: an encoding error.
    mutating func encode(
        shell: AgentStatus, order: [String], services: [String: ServiceStatus], changed: Set<String>
    ) throws -> [UInt8] {
        var shell = shell
        shell.services = []
        let outer = [UInt8](try encoder.encode(shell))
        guard let (open, close) = Self.emptyServicesArray(in: outer) else {
            shell.services = order.compactMap { services[$0] }
            return [UInt8](try encoder.encode(shell)) + [0x0A]  // unexpected layout: encode it all
        }
        for name in changed {
            if let service = services[name] {
                cache[name] = Self.indented([UInt8](try encoder.encode(service)))
            } else {
                cache[name] = nil
            }
        }
        var size = outer.count + 8
        var listed = 0
        for name in order {
            if cache[name] == nil, let service = services[name] {
                cache[name] = Self.indented([UInt8](try encoder.encode(service)))
            }
            if let json = cache[name] {
                size += json.count + 2
                listed += 1
            }
        }
        if cache.count > listed {
            // Entries gone from the config: forget their JSON.
            let keep = Set(order)
            cache = cache.filter { keep.contains($0.key) }
        }
        var out: [UInt8] = []
        out.reserveCapacity(size)
        out += outer[...open]
        if listed > 0 {
            out.append(0x0A)
            var first = true
            for name in order {
                guard let json = cache[name] else { continue }
                if !first { out += [0x2C, 0x0A] }  // ",\n"
                first = false
                out += json
            }
            out += Array("\n  ".utf8)
        }
        out += outer[close...]
        out.append(0x0A)
        return out
    }

    /// The positions of `[` and `]` of `"services" : []` in a document encoded with no services.
    private static func emptyServicesArray(in bytes: [UInt8]) -> (Int, Int)? {
        let key = Array("\"services\"".utf8)
        guard bytes.count > key.count else { return nil }
        for start in 0...(bytes.count - key.count) where bytes[start] == key[0] && Array(bytes[start..<(start + key.count)]) == key {
            guard let open = bytes[(start + key.count)...].firstIndex(of: UInt8(ascii: "[")),
                let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "]")),
                bytes[(open + 1)..<close].allSatisfy({ $0 == 0x20 || $0 == 0x0A })
            else { return nil }
            return (open, close)
        }
        return nil
    }

    /// A service's own pretty-printed JSON, indented to sit inside the document's `services` array.
    private static func indented(_ json: [UInt8]) -> [UInt8] {
        var out: [UInt8] = Array("    ".utf8)
        out.reserveCapacity(json.count + json.count / 8)
        for byte in json {
            out.append(byte)
            if byte == 0x0A { out += Array("    ".utf8) }
        }
        return out
    }
}
