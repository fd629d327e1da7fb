import Foundation

/// Encodes the status document for `StatusFile`, re-encoding only the services that changed since the
/// last document: each service's JSON is kept and spliced into the document, so a write with 1,000
/// entries costs one service's encoding plus copying bytes, not 1,000 encodings (issue 12).
/// The output is the same JSON as encoding the whole `AgentStatus` at once (pretty-printed, sorted keys).
struct StatusEncoder {
    private var cache: [String: (status: ServiceStatus, json: [UInt8])] = [:]
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// The document as bytes, ending with a line break.
    /// - Throws: an encoding error.
    mutating func encode(_ status: AgentStatus) throws -> [UInt8] {
        var shell = status
        shell.services = []
        let outer = [UInt8](try encoder.encode(shell))
        guard let (open, close) = Self.emptyServicesArray(in: outer) else {
            return [UInt8](try encoder.encode(status)) + [0x0A]  // unexpected layout: encode it all
        }
        var fresh: [String: (status: ServiceStatus, json: [UInt8])] = [:]
        var services: [[UInt8]] = []
        services.reserveCapacity(status.services.count)
        for service in status.services {
            let json: [UInt8]
            if let cached = cache[service.name], cached.status == service {
                json = cached.json
            } else {
                json = Self.indented([UInt8](try encoder.encode(service)))
            }
            fresh[service.name] = (service, json)
            services.append(json)
        }
        cache = fresh
        var out: [UInt8] = []
        out.reserveCapacity(outer.count + services.reduce(0) { $0 + $1.count + 2 } + 8)
        out += outer[...open]
        if !services.isEmpty {
            out.append(0x0A)
            for (index, json) in services.enumerated() {
                if index > 0 { out += [0x2C, 0x0A] }  // ",\n"
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
