// libFuzzer entry point for the config loader (`ConfigLoader.load`, libyaml included).
// Compiled into the ConfigModel module by scripts/fuzz with `swiftc -sanitize=fuzzer,address`.
// Any crash, hang, sanitizer report or broken invariant below is a bug; each one found becomes a
// regression test in Tests/ConfigModelTests.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigLoader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Cut at its `---` lines, a stream parses chunk by chunk to exactly the documents (marks included)
    // the whole stream gives: the loader's memo relies on it. (A chunk that fails alone only sends the
    // loader to the whole stream.)
    if let chunks = YAMLParser.chunks(bytes) {
        var pieces: [YAMLNode] = []
        var nodes = 0
        var parsedAlone = true
        for chunk in chunks {
            guard let parsed = try? YAMLParser.parseChunk(chunk) else {
                parsedAlone = false
                break
            }
            pieces += parsed.documents
            nodes += parsed.nodes
        }
        if parsedAlone && nodes <= YAMLParser.maxNodes {
            precondition((try? YAMLParser.parse(bytes)) == pieces, "chunks parse to other documents than the whole stream")
        }
    }
    do {
        let config = try ConfigLoader.load(bytes, file: "/fuzz/models.yaml")
        // A loaded config is consistent.
        precondition(Set(config.services.map(\.qualifiedName)).count == config.services.count, "duplicate service names accepted")
        for (key, model) in config.models { precondition(key == model.qualifiedName, "Model under the wrong key") }
        for service in config.services {
            precondition(ObjectName.isDNS1123Subdomain(service.name), "bad name accepted")
            precondition(ObjectName.isDNS1123Label(service.namespace), "bad namespace accepted")
            precondition((0...10).contains(service.replicas), "replicas out of range")
            if let port = service.port { precondition((1...65535).contains(port), "port out of range") }
            if let ctx = service.contextSize { precondition((128...2_097_152).contains(ctx), "contextSize out of range") }
            if let runtime = service.runtime {
                precondition(RuntimeName.known.contains(runtime) || RuntimeName.notSupported.contains(runtime), "runtime not canonical")
            }
        }
    } catch {
        // Errors are well-formed: at least one, each with a position inside the file.
        precondition(!error.errors.isEmpty, "empty error list")
        for e in error.errors {
            precondition(e.line >= 1 && e.column >= 1, "position out of range: \(e)")
            precondition(!e.message.isEmpty, "empty message")
        }
    }
    return 0
}
